"""Verification: every candidate pair is checked against its exact similarity.

Shingle sets are compared whole: Jaccard ``|A ∩ B| / |A ∪ B|`` decides, and containment
``|A ∩ B| / min(|A|, |B|)`` is reported beside it (it is 1 when one paragraph is a prefix or an
excerpt of the other). Shingles are compared by a 64-bit hash of their bytes; two different
shingles of a pair share a hash with probability about ``|A|·|B| / 2**64``, which is below 10^-15
for paragraphs of a thousand words.

>>> similarity("Soldiers are on standby for armed police", "Soldiers are also on standby for armed police")
Similarity(jaccard=0.375, containment=0.6)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dedup.normalization import NormalizedBatch
from dedup.shingling import DEFAULT_SHINGLE, ShingleSpec, shingles
from dedup.signatures import shingle_sets_of

__all__ = ["VerifiedPairs", "verify", "similarity", "Similarity"]


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


def verify(batch: NormalizedBatch, shingle: ShingleSpec, pairs: np.ndarray, threshold: float) -> VerifiedPairs:
    """Keep the candidate ``pairs`` (rows of paragraph indices into ``batch``) whose exact Jaccard
    similarity is at or above ``threshold``."""
    from dedup import _kernel

    if len(pairs) == 0:
        empty_i = np.empty(0, dtype=np.int64)
        empty_f = np.empty(0, dtype=np.float64)
        return VerifiedPairs(empty_i, empty_i, empty_f, empty_f, 0)
    # np.unique(pairs), without the import of numpy.ma it makes (a tenth of a small run).
    rows = np.sort(pairs, axis=None)
    rows = rows[np.append(True, rows[1:] != rows[:-1])]
    hashes, offsets = shingle_sets_of(batch, shingle, rows)
    left = np.searchsorted(rows, pairs[:, 0])
    right = np.searchsorted(rows, pairs[:, 1])
    jaccard, containment = _kernel.set_similarities(hashes, offsets, left, right)
    keep = jaccard >= threshold
    return VerifiedPairs(pairs[keep, 0], pairs[keep, 1], jaccard[keep], containment[keep], len(pairs))

