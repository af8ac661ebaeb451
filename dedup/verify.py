"""Verification: every candidate pair is checked against its exact similarity.

Shingle sets are compared whole: Jaccard ``|A ∩ B| / |A ∪ B|`` decides, and containment
``|A ∩ B| / min(|A|, |B|)`` is reported beside it (it is 1 when one paragraph is a prefix or an
excerpt of the other). Shingles are compared by a 64-bit hash of their bytes, XXH64 (checked
against the ``xxhash`` package). For a hash that behaves as a random function, as XXH64 does on
SMHasher's tests, two different shingles of a pair share a hash with probability at most
``|A|·|B| / 2**64`` (a union bound over the pairs of shingles): about 5·10^-14 for two
paragraphs of a thousand shingles each. XXH64 is not a cryptographic hash, so text crafted to
collide is not covered by that bound. A collision can only raise a similarity.

The report verifies its candidates a block at a time (see :mod:`dedup.lsh`) against
:class:`ShingleSets` made once, for the paragraphs that are in any candidate pair; the result
of each pair does not depend on the blocks.

>>> similarity("Soldiers are on standby for armed police", "Soldiers are also on standby for armed police")
Similarity(jaccard=0.375, containment=0.6)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dedup.normalization import NormalizedBatch
from dedup.shingling import DEFAULT_SHINGLE, ShingleSpec, shingles
from dedup.signatures import shingle_sets_of

__all__ = ["VerifiedPairs", "ShingleSets", "verify", "similarity", "Similarity"]


@dataclass(frozen=True)
class Similarity:
    jaccard: float
    containment: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.jaccard <= self.containment <= 1.0:
            raise ValueError("similarities must satisfy 0 <= jaccard <= containment <= 1")


def similarity(a: str, b: str, shingle: ShingleSpec = DEFAULT_SHINGLE) -> Similarity:
    """Exact similarity of two paragraphs from their shingle sets (the reference, in Python)."""
    sa = set(shingles(a, shingle.kind, shingle.n))
    sb = set(shingles(b, shingle.kind, shingle.n))
    if not sa or not sb:
        return Similarity(0.0, 0.0)
    inter = len(sa & sb)
    return Similarity(inter / len(sa | sb), inter / min(len(sa), len(sb)))


@dataclass(frozen=True)
class VerifiedPairs:
    """Pairs that passed: ``left[k] < right[k]`` with their exact similarities."""

    left: np.ndarray
    right: np.ndarray
    jaccard: np.ndarray
    containment: np.ndarray
    checked: int  # candidate pairs examined

    def __len__(self) -> int:
        return len(self.left)


@dataclass(frozen=True)
class ShingleSets:
    """Exact shingle sets, as sorted unique 64-bit hashes: set ``k`` is
    ``hashes[offsets[k]:offsets[k + 1]]``.

    >>> from dedup.normalization import normalize_batch
    >>> sets = ShingleSets.of(normalize_batch(["a b c", "x y", "a b c d"]), ShingleSpec("word", 1), np.arange(3))
    >>> v = sets.verify(np.array([0, 1]), np.array([2, 2]), 0.5)
    >>> v.left.tolist(), v.right.tolist(), v.jaccard.tolist(), v.checked
    ([0], [2], [0.75], 2)
    """

    hashes: np.ndarray
    offsets: np.ndarray

    @classmethod
    def of(cls, batch: NormalizedBatch, shingle: ShingleSpec, rows: np.ndarray, needed: np.ndarray | None = None) -> ShingleSets:
        """The sets of paragraphs ``rows`` of ``batch``, set ``k`` of paragraph ``rows[k]``.
        With ``needed`` (a mask over ``rows``), only those sets are made and the others left
        empty, so the memory is that of the needed ones."""
        if needed is None:
            hashes, offsets = shingle_sets_of(batch, shingle, rows)
            return cls(hashes, offsets)
        if len(needed) != len(rows):
            raise ValueError("needed must be a mask over rows")
        made = np.flatnonzero(needed)
        hashes, made_offsets = shingle_sets_of(batch, shingle, rows[made])
        sizes = np.zeros(len(rows) + 1, dtype=np.int64)
        sizes[made + 1] = np.diff(made_offsets)
        return cls(hashes, np.cumsum(sizes, out=sizes))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def verify(self, left: np.ndarray, right: np.ndarray, threshold: float) -> VerifiedPairs:
        """Keep the pairs of sets ``(left[k], right[k])`` whose exact Jaccard similarity is at
        or above ``threshold``, in their order."""
        from dedup import _kernel

        jaccard, containment = _kernel.set_similarities(self.hashes, self.offsets, left, right)
        keep = jaccard >= threshold
        return VerifiedPairs(left[keep], right[keep], jaccard[keep], containment[keep], len(left))


def verify(batch: NormalizedBatch, shingle: ShingleSpec, pairs: np.ndarray, threshold: float) -> VerifiedPairs:
    """Keep the candidate ``pairs`` (rows of paragraph indices into ``batch``) whose exact Jaccard
    similarity is at or above ``threshold``."""
    if len(pairs) == 0:
        empty_i = np.empty(0, dtype=np.int64)
        empty_f = np.empty(0, dtype=np.float64)
        return VerifiedPairs(empty_i, empty_i, empty_f, empty_f, 0)
    # np.unique(pairs), without the import of numpy.ma it makes (a tenth of a small run).
    rows = np.sort(pairs, axis=None)
    rows = rows[np.append(True, rows[1:] != rows[:-1])]
    sets = ShingleSets.of(batch, shingle, rows)
    found = sets.verify(np.searchsorted(rows, pairs[:, 0]), np.searchsorted(rows, pairs[:, 1]), threshold)
    return VerifiedPairs(rows[found.left], rows[found.right], found.jaccard, found.containment, found.checked)
