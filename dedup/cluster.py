"""Clusters: verified pairs grouped around a representative.

Single-link components chain: A~B and B~C put A and C together however little they share. Here
every cluster has a representative, the first occurrence in input order, and every member is at
or above the threshold against it. Paragraphs are taken in input order; each joins the earliest
earlier representative it was verified against, and one that joins none is a representative
itself. This is the same "first seen wins" rule that ``dedup filter`` applies, so a report and a
filter run over the same input agree on what is a duplicate of what.

Exact copies (the same normalized text) are settled before this: a copy takes the place of its
first occurrence, joining that one's cluster with the same similarity.

>>> import numpy as np
>>> a = first_seen(4, np.array([0, 1]), np.array([1, 2]), np.array([0.9, 0.8]), np.array([0.9, 0.9]))
>>> a.rep.tolist(), a.jaccard.tolist()
([0, 0, 2, 3], [1.0, 0.9, 1.0, 1.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Assignment", "first_seen", "with_copies"]


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


def first_seen(n: int, left: np.ndarray, right: np.ndarray, jaccard: np.ndarray, containment: np.ndarray) -> Assignment:
    """Assign ``n`` paragraphs from verified pairs ``(left[k], right[k])``, ``left < right``."""
    from dedup import _kernel

    if np.any(left >= right):
        raise ValueError("pairs must have left < right")
    order = np.lexsort((left, right))
    left, right = left[order], right[order]
    rep, via = _kernel.assign_representatives(n, left, right)
    sim_j = np.ones(n, dtype=np.float64)
    sim_c = np.ones(n, dtype=np.float64)
    joined = via >= 0
    sim_j[joined] = jaccard[order][via[joined]]
    sim_c[joined] = containment[order][via[joined]]
    return Assignment(rep, sim_j, sim_c)


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
