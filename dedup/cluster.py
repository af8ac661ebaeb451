"""Clusters: verified pairs grouped around a representative.

Single-link components chain: A~B and B~C put A and C together however little they share. Here
every cluster has a representative, the first occurrence in input order, and every member is at
or above the threshold against it. Paragraphs are taken in input order; each joins the earliest
earlier representative it was verified against, and one that joins none is a representative
itself. This is the same "first seen wins" rule that ``dedup filter`` applies, so a report and a
filter run over the same input agree on what is a duplicate of what.

Exact copies (the same normalized text) are settled before this: a copy takes the place of its
first occurrence, joining that one's cluster with the same similarity.

Since a paragraph's decision depends only on pairs with earlier paragraphs, pairs can come a
block at a time, in order of their later paragraph (:class:`FirstSeen`), and be dropped once
added: the clusters are those of all the pairs at once, with no pair kept in memory.

>>> import numpy as np
>>> a = first_seen(4, np.array([0, 1]), np.array([1, 2]), np.array([0.9, 0.8]), np.array([0.9, 0.9]))
>>> a.rep.tolist(), a.jaccard.tolist()
([0, 0, 2, 3], [1.0, 0.9, 1.0, 1.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Assignment", "FirstSeen", "first_seen", "with_copies"]


@dataclass(frozen=True)
class Assignment:
    """``rep[i]`` is paragraph ``i``'s representative (``i`` itself for a representative);
    ``jaccard[i]`` and ``containment[i]`` are its similarities to it (1 for the representative)."""

    rep: np.ndarray
    jaccard: np.ndarray
    containment: np.ndarray

    def __post_init__(self) -> None:
        if not (len(self.rep) == len(self.jaccard) == len(self.containment)):
            raise ValueError("assignment columns differ in length")


class FirstSeen:
    """First-seen clustering of ``n`` paragraphs, fed verified pairs a block at a time.

    Each block's pairs have ``left < right`` and come grouped by ``right``, ascending, and every
    ``right`` of a block comes after those of the blocks before it; so when a paragraph's pairs
    arrive, every earlier paragraph is decided, and it can be decided at once.

    >>> import numpy as np
    >>> clustering = FirstSeen(4)
    >>> clustering.add(np.array([0]), np.array([1]), np.array([0.9]), np.array([0.9]))
    >>> clustering.add(np.array([1, 0]), np.array([3, 3]), np.array([0.8, 0.5]), np.array([0.8, 0.6]))
    >>> a = clustering.assignment()
    >>> a.rep.tolist(), a.jaccard.tolist()
    ([0, 0, 2, 0], [1.0, 0.9, 1.0, 0.5])
    """

    def __init__(self, n: int) -> None:
        if n < 0:
            raise ValueError(f"n must be at least 0, not {n!r}")
        self._rep = np.arange(n, dtype=np.int64)
        self._via = np.full(n, -1, dtype=np.int64)
        self._jaccard = np.ones(n, dtype=np.float64)
        self._containment = np.ones(n, dtype=np.float64)
        self._next = 0  # the first paragraph not decided yet

    def add(self, left: np.ndarray, right: np.ndarray, jaccard: np.ndarray, containment: np.ndarray) -> None:
        """Decide the paragraphs ``right`` of the next block of verified pairs. A block that
        breaks the order, or names a paragraph outside ``range(n)``, raises and leaves the
        clustering unusable."""
        from dedup._kernel.lsh import first_seen_block

        if not (len(left) == len(right) == len(jaccard) == len(containment)):
            raise ValueError("pair columns differ in length")
        if not len(right):
            return
        first, last = int(right[0]), int(right[-1])
        if first < self._next:
            raise ValueError("blocks must come in order of their later paragraphs, without overlap")
        first_seen_block(left, right, None, 0.0, self._rep, self._via)
        via = self._via[first : last + 1]
        joined = np.flatnonzero(via >= 0)
        self._jaccard[first + joined] = jaccard[via[joined]]
        self._containment[first + joined] = containment[via[joined]]
        self._next = last + 1

    def assignment(self) -> Assignment:
        return Assignment(self._rep, self._jaccard, self._containment)


def first_seen(n: int, left: np.ndarray, right: np.ndarray, jaccard: np.ndarray, containment: np.ndarray) -> Assignment:
    """Assign ``n`` paragraphs from verified pairs ``(left[k], right[k])``, ``left < right``, in
    any order."""
    order = np.lexsort((left, right))
    clustering = FirstSeen(n)
    clustering.add(np.asarray(left)[order], np.asarray(right)[order], np.asarray(jaccard)[order], np.asarray(containment)[order])
    return clustering.assignment()


def with_copies(inner: Assignment, canonical: np.ndarray, members: np.ndarray) -> Assignment:
    """Expand an assignment over distinct texts to every paragraph.

    ``members[k]`` is the paragraph index of distinct text ``k`` (its first occurrence), and
    ``canonical[i]`` the distinct text of paragraph ``i``. A first occurrence keeps its
    assignment; a later copy joins its first occurrence's representative with the same
    similarity, or the first occurrence itself (similarity 1) if that is a representative.

    >>> import numpy as np
    >>> inner = Assignment(np.array([0, 1]), np.ones(2), np.ones(2))
    >>> with_copies(inner, np.array([0, 1, 0]), np.array([0, 1])).rep.tolist()
    [0, 1, 0]
    """
    rep = members[inner.rep[canonical]]
    jaccard = inner.jaccard[canonical].copy()
    containment = inner.containment[canonical].copy()
    return Assignment(rep, jaccard, containment)
