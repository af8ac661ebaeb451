"""LSH candidates: signatures in, candidate pairs out.

The banding scheme of MinHash LSH (Leskovec, Rajaraman and Ullman, *Mining of Massive Datasets*,
ch. 3): signatures are cut into ``bands`` bands of ``rows`` values, and two paragraphs whose
signatures agree on a whole band become a candidate pair. ``bands`` and ``rows`` come from
datasketch's optimiser, so a threshold means here what it means in ``datasketch.MinHashLSH``.

Candidates are approximate in both directions, as in datasketch: a pair above the threshold is
missed with a small probability, and pairs below it are proposed. The verify stage checks every
candidate against the exact Jaccard similarity, so only misses remain.

Bucketing is vectorized: each band's keys are sorted once, and runs of equal keys are buckets.
A bucket of ``k`` members yields at most ``window * k`` pairs rather than ``k**2 / 2``, so a
bucket of 100,000 near-identical paragraphs costs millions of pairs, not billions; and a pair
that shares several bands is emitted by the first of them only, so those millions are not
multiplied by the number of bands. (Exact copies are grouped before this stage, see
:mod:`dedup.pipeline`, so such buckets are rare.)

Millions of pairs are still more than a run should hold at once: :class:`CandidatePairs`
counts them all when the buckets are made, then writes them out for a range of paragraphs at a
time (every pair whose later paragraph is in the range), so the report verifies and clusters
them block by block within a memory budget. The blocks together hold exactly the pairs that
:meth:`BandedLSH.pairs_from_keys` returns at once.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from dedup._kernel.lsh import Buckets

__all__ = ["BandedLSH", "CandidatePairs", "lsh_params", "DEFAULT_WINDOW"]

from dedup.config import DEFAULT_WINDOW  # noqa: E402  (one home for the defaults)
# Weights for datasketch's optimiser. Its default (0.5, 0.5) finds only about half the pairs that
# sit exactly at the threshold (25 bands of 5 rows at 0.5). Every candidate here is verified
# exactly, so a false positive costs one Jaccard check while a false negative loses a duplicate:
# weigh misses four times as heavily (30 bands of 4 rows at 0.5, which finds 86% of the pairs at
# the threshold and 98% of those 0.1 above it).
FALSE_POSITIVE_WEIGHT = 0.2
FALSE_NEGATIVE_WEIGHT = 0.8


@functools.lru_cache(maxsize=64)
def lsh_params(
    threshold: float,
    num_perm: int,
    false_positive_weight: float = FALSE_POSITIVE_WEIGHT,
    false_negative_weight: float = FALSE_NEGATIVE_WEIGHT,
) -> tuple[int, int]:
    """``(bands, rows)`` from datasketch's optimiser, as ``MinHashLSH(threshold, num_perm,
    weights=(false_positive_weight, false_negative_weight))`` would choose them.

    >>> lsh_params(0.5, 128)
    (30, 4)
    >>> lsh_params(0.5, 128, 0.5, 0.5)
    (25, 5)
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], not {threshold!r}")
    if num_perm < 2:
        raise ValueError("LSH needs num_perm of at least 2")
    # The optimiser integrates numerically with scipy, whose import alone costs a run more
    # than a small report does; its answers are kept on disk, per datasketch version.
    key = f"{float(threshold)!r} {int(num_perm)} {float(false_positive_weight)!r} {float(false_negative_weight)!r}"
    known = _known_params()
    if key not in known:
        from datasketch.lsh import _optimal_param  # type: ignore[import-untyped]

        bands, rows = _optimal_param(threshold, num_perm, false_positive_weight, false_negative_weight)
        known[key] = [int(bands), int(rows)]
        _save_params(known)
    bands, rows = known[key]
    return bands, rows


def _params_file() -> Path | None:
    """The file of known answers, named after the optimiser's source: a new datasketch that
    changes it starts a new file. (Found without importing datasketch or importlib.metadata,
    either of which costs a small run more than its work.)"""
    import importlib.util
    import zlib

    from dedup._cache import cache_dir

    directory = cache_dir()
    spec = importlib.util.find_spec("datasketch")
    if directory is None or spec is None or spec.origin is None:
        return None
    try:
        source = (Path(spec.origin).parent / "lsh.py").read_bytes()
    except OSError:
        return None
    return directory / f"lsh-params-{zlib.crc32(source):08x}.json"


@functools.cache
def _known_params() -> dict[str, list[int]]:
    path = _params_file()
    try:
        known = json.loads(path.read_text()) if path is not None else {}
    except (OSError, ValueError):
        return {}
    valid = isinstance(known, dict) and all(
        isinstance(v, list) and len(v) == 2 and all(type(x) is int and x >= 1 for x in v) for v in known.values()
    )
    return known if valid else {}


def _save_params(known: dict[str, list[int]]) -> None:
    path = _params_file()
    if path is None:
        return
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(known, sort_keys=True))
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


@dataclass(frozen=True)
class BandedLSH:
    """MinHash LSH by banding.

    >>> import numpy as np
    >>> sig = np.array([[1, 2, 3, 4], [1, 2, 9, 9], [7, 7, 7, 7]], dtype=np.uint32)
    >>> BandedLSH(bands=2, rows=2).candidate_pairs(sig).tolist()
    [[0, 1]]
    """

    bands: int
    rows: int
    window: int = DEFAULT_WINDOW

    def __post_init__(self) -> None:
        if self.bands < 1 or self.rows < 1:
            raise ValueError("bands and rows must be at least 1")
        if self.window < 1:
            raise ValueError("window must be at least 1")

    @classmethod
    def for_threshold(cls, threshold: float, num_perm: int, window: int = DEFAULT_WINDOW) -> BandedLSH:
        bands, rows = lsh_params(threshold, num_perm)
        return cls(bands, rows, window)

    def candidate_pairs(self, signatures: np.ndarray) -> np.ndarray:
        from dedup import _kernel

        if signatures.ndim != 2 or signatures.shape[1] < self.bands * self.rows:
            raise ValueError(f"signatures need at least {self.bands * self.rows} columns")
        keys = _kernel.band_keys(np.ascontiguousarray(signatures, dtype=np.uint32), self.bands, self.rows)
        return self.pairs_from_keys(keys.astype(np.uint32))

    def candidates(self, keys: np.ndarray) -> CandidatePairs:
        """The candidate pairs of band keys ``(bands, n)``, uint32 (as
        :func:`dedup._kernel.minhash_band_keys` makes them straight from text), counted, to be
        written out a block at a time. The keys are not needed afterwards."""
        from dedup._kernel.lsh import Buckets

        if keys.ndim != 2 or keys.shape[0] != self.bands or keys.dtype != np.uint32:
            raise ValueError(f"keys must be uint32 of shape ({self.bands}, n)")
        if keys.shape[1] >= 2**31:
            raise ValueError("at most 2**31 - 1 paragraphs per run")
        return CandidatePairs(Buckets(keys, self.window))

    def pairs_from_keys(self, keys: np.ndarray) -> np.ndarray:
        """Candidate pairs from band keys already computed, shape ``(bands, n)``, uint32 (as
        :func:`dedup._kernel.minhash_band_keys` makes them straight from text): every pair at
        once, shape ``(m, 2)``, sorted, unique."""
        candidates = self.candidates(keys)
        n = candidates.n
        if n < 2:
            return np.empty((0, 2), dtype=np.int64)
        left, right = candidates.pairs(0, n)
        codes = left * n
        codes += right
        del left, right
        codes.sort()
        return np.stack([codes // n, codes % n], axis=1)


class CandidatePairs:
    """The candidate pairs of ``n`` paragraphs, counted in full and written out for a range of
    paragraphs at a time.

    >>> import numpy as np
    >>> keys = np.array([[5, 5, 5, 7], [1, 2, 1, 2]], dtype=np.uint32)  # 2 bands, 4 paragraphs
    >>> pairs = BandedLSH(bands=2, rows=1).candidates(keys)
    >>> pairs.total, list(pairs.blocks(3))
    (4, [(1, 3), (3, 4)])
    >>> [p.tolist() for p in pairs.pairs(1, 3)], [p.tolist() for p in pairs.pairs(3, 4)]
    ([[0, 0, 1], [1, 2, 2]], [[1], [3]])
    """

    def __init__(self, buckets: Buckets) -> None:
        from dedup._kernel.lsh import Buckets

        if not isinstance(buckets, Buckets):
            raise TypeError("CandidatePairs are made by BandedLSH.candidates")
        self._buckets = buckets

    @property
    def n(self) -> int:
        return self._buckets.n

    @property
    def total(self) -> int:
        """The number of candidate pairs in all."""
        return int(self._buckets.offsets[-1])

    @property
    def paired(self) -> np.ndarray:
        """Which paragraphs are in at least one pair (bool, read-only): the only ones whose
        shingle sets verification needs."""
        return self._buckets.paired

    def blocks(self, max_pairs: int) -> Iterator[tuple[int, int]]:
        """Ranges ``(lo, hi)`` of paragraphs, in order, that together cover every pair, each
        with at most ``max_pairs`` pairs whose later paragraph is in the range (or a single
        paragraph, when that one alone has more). Ranges without pairs are left out."""
        if max_pairs < 1:
            raise ValueError(f"max_pairs must be at least 1, not {max_pairs!r}")
        offsets, n = self._buckets.offsets, self.n
        lo = int(np.searchsorted(offsets, 0, side="right")) - 1  # skip the rows before any pair
        while lo < n:
            hi = int(np.searchsorted(offsets, offsets[lo] + max_pairs, side="right")) - 1
            hi = min(max(hi, lo + 1), n)
            if offsets[hi] > offsets[lo]:
                yield lo, hi
            lo = hi
            if offsets[lo] == offsets[n]:
                return

    def pairs(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """The pairs ``(left, right)``, ``left < right``, whose later paragraph ``right`` is in
        ``range(lo, hi)``: grouped by ``right``, ascending."""
        return self._buckets.pairs(lo, hi)
