"""Signatures: MinHash over a whole batch of paragraphs at once.

Row ``i`` of :func:`minhash_signatures` is bit-identical to::

    m = datasketch.MinHash(num_perm=num_perm, seed=seed, hashfunc=xxhash.xxh32_intdigest)
    for s in dedup.shingles(texts[i], kind, n):
        m.update(s)
    m.hashvalues

datasketch 2's default scheme, ``affine32``: each shingle's xxHash32 is mixed with MurmurHash3's
finalizer, then permuted by ``a*h + b mod 2**32`` with ``(a, b)`` drawn from
``numpy.random.RandomState(seed)`` exactly as datasketch draws them. A paragraph with no shingles
(nothing left after normalization) gets the all-ones row of an empty ``MinHash``; the LSH stage
leaves such rows out, since "no text" is not a duplicate of anything.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Sequence

import numpy as np

from dedup.normalization import NormalizedBatch, normalize_batch
from dedup.shingling import DEFAULT_SHINGLE, ShingleSpec

__all__ = ["minhash_signatures", "permutations", "signatures_of", "shingle_sets_of"]


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The affine32 permutation parameters ``(a, b)`` that ``datasketch.MinHash(num_perm, seed)``
    draws: ``a`` odd, both uint32, from ``numpy.random.RandomState(seed)``.

    >>> a, b = permutations(4, 1)
    >>> bool((a % 2 == 1).all()), a.dtype.name
    (True, 'uint32')
    """
    # Checked before the cache, whose key would take 8.0 or True for 8 or 1.
    if not _whole(num_perm) or not 1 <= num_perm <= 4096:
        raise ValueError(f"num_perm must be a whole number from 1 to 4096, not {num_perm!r}")
    if not _whole(seed) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be a whole number from 0 to 2**32-1, not {seed!r}")
    return _permutations(int(num_perm), int(seed))


def _whole(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


@functools.lru_cache(maxsize=16)
def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    # Kept on disk: importing numpy.random costs a small run more than drawing them.
    from dedup._cache import cached_arrays

    def draw() -> dict[str, np.ndarray]:
        gen = np.random.RandomState(seed)
        a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
        return {"a": a, "b": gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)}

    def valid(arrays: dict[str, np.ndarray]) -> bool:
        a, b = arrays.get("a"), arrays.get("b")
        return (
            a is not None and b is not None and a.dtype == b.dtype == np.uint32
            and a.shape == b.shape == (num_perm,) and bool((a & 1).all())
        )

    arrays = cached_arrays(f"permutations-{num_perm}-{seed}.npz", draw, valid)
    a, b = arrays["a"], arrays["b"]
    a.flags.writeable = False
    b.flags.writeable = False
    return a, b


def signatures_of(batch: NormalizedBatch, shingle: ShingleSpec, num_perm: int, seed: int) -> np.ndarray:
    """Signatures of text that is already normalized (the pipeline's entry point)."""
    from dedup import _kernel

    a, b = permutations(num_perm, seed)
    return _kernel.minhash(batch.data, batch.offsets, shingle.code, shingle.n, a, b)


def shingle_sets_of(batch: NormalizedBatch, shingle: ShingleSpec, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact shingle sets of paragraphs ``rows`` as sorted unique 64-bit hashes.

    Returns ``(hashes, offsets)``; set ``k`` is ``hashes[offsets[k]:offsets[k + 1]]``."""
    from dedup import _kernel

    return _kernel.shingle_sets(batch.data, batch.offsets, shingle.code, shingle.n, np.ascontiguousarray(rows, dtype=np.int64))


def minhash_signatures(
    texts: Sequence[str],
    num_perm: int = 128,
    seed: int = 1,
    shingle: ShingleSpec | str = DEFAULT_SHINGLE,
) -> np.ndarray:
    """MinHash signatures of ``texts``, shape ``(len(texts), num_perm)``, dtype uint32.

    >>> sig = minhash_signatures(["Soldiers are on standby", "soldiers ARE on standby!", ""], num_perm=8)
    >>> sig.shape, sig.dtype.name
    ((3, 8), 'uint32')
    >>> bool((sig[0] == sig[1]).all()), bool((sig[2] == 0xFFFFFFFF).all())
    (True, True)
    """
    spec = ShingleSpec.parse(shingle) if isinstance(shingle, str) else shingle
    permutations(num_perm, seed)  # validate before any work
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of strings, not one string")
    return signatures_of(normalize_batch(list(texts)), spec, num_perm, seed)
