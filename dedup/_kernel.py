"""The compiled core: every loop that runs per code point, per shingle or per pair lives here.

Inputs and outputs are plain numpy arrays. The Python modules around it (``normalize``,
``signatures``, ``lsh``, ``verify``, ``cluster``) own the meaning; this module owns the speed.
Everything is compiled with numba on first use and cached on disk, so later runs start at once.

Arithmetic note: numba widens integer arithmetic to 64 bits, so 32-bit hashes are computed in
uint64 and masked back with ``M32``. Every constant is typed, because mixing uint64 with a plain
int literal makes numba fall back to float64.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

U32 = np.uint32
U64 = np.uint64
M32 = U64(0xFFFFFFFF)

# xxHash32 primes (github.com/Cyan4973/xxHash, doc/xxhash_spec.md).
P32_1 = U64(0x9E3779B1)
P32_2 = U64(0x85EBCA77)
P32_3 = U64(0xC2B2AE3D)
P32_4 = U64(0x27D4EB2F)
P32_5 = U64(0x165667B1)

# A second, independent seed for the upper half of the 64-bit shingle hashes.
SEED_HI = U64(0x9747B28C)

# Paragraphs per parallel work item: large enough to amortise scratch buffers, small enough to
# balance long and short paragraphs across both cores.
CHUNK = 256


@njit(inline="always", cache=True)
def _rotl32(x, r):
    return ((x << U64(r)) | (x >> U64(32 - r))) & M32


@njit(inline="always", cache=True)
def _read32(data, p):
    return U64(data[p]) | (U64(data[p + 1]) << U64(8)) | (U64(data[p + 2]) << U64(16)) | (U64(data[p + 3]) << U64(24))


@njit(inline="always", cache=True)
def _round32(acc, lane):
    acc = (acc + lane * P32_2) & M32
    return (_rotl32(acc, 13) * P32_1) & M32


@njit(cache=True)
def xxh32(data, start, end, seed):
    """xxHash32 of ``data[start:end]``, equal to ``xxhash.xxh32_intdigest(bytes, seed)``."""
    seed = U64(seed) & M32
    p = start
    length = end - start
    if length >= 16:
        v1 = (seed + P32_1 + P32_2) & M32
        v2 = (seed + P32_2) & M32
        v3 = seed
        v4 = (seed + (U64(1) << U64(32)) - P32_1) & M32
        limit = end - 16
        while p <= limit:
            v1 = _round32(v1, _read32(data, p))
            v2 = _round32(v2, _read32(data, p + 4))
            v3 = _round32(v3, _read32(data, p + 8))
            v4 = _round32(v4, _read32(data, p + 12))
            p += 16
        h = (_rotl32(v1, 1) + _rotl32(v2, 7) + _rotl32(v3, 12) + _rotl32(v4, 18)) & M32
    else:
        h = (seed + P32_5) & M32
    h = (h + U64(length)) & M32
    while p + 4 <= end:
        h = (h + _read32(data, p) * P32_3) & M32
        h = (_rotl32(h, 17) * P32_4) & M32
        p += 4
    while p < end:
        h = (h + U64(data[p]) * P32_5) & M32
        h = (_rotl32(h, 11) * P32_1) & M32
        p += 1
    h ^= h >> U64(15)
    h = (h * P32_2) & M32
    h ^= h >> U64(13)
    h = (h * P32_3) & M32
    h ^= h >> U64(16)
    return h


@njit(inline="always", cache=True)
def fmix32(h):
    """MurmurHash3's 32-bit finalizer, which datasketch's affine32 scheme applies to each hash."""
    h ^= h >> U64(16)
    h = (h * U64(0x85EBCA6B)) & M32
    h ^= h >> U64(13)
    h = (h * U64(0xC2B2AE35)) & M32
    h ^= h >> U64(16)
    return h


# ---------------------------------------------------------------------------------------------
# Normalization: code points in, UTF-8 out.


@njit(inline="always", cache=True)
def _utf8_len(cp):
    if cp < 0x80:
        return 1
    if cp < 0x800:
        return 2
    if cp < 0x10000:
        return 3
    return 4


@njit(inline="always", cache=True)
def _put_utf8(out, q, cp):
    if cp < 0x80:
        out[q] = cp
        return q + 1
    if cp < 0x800:
        out[q] = 0xC0 | (cp >> 6)
        out[q + 1] = 0x80 | (cp & 0x3F)
        return q + 2
    if cp < 0x10000:
        out[q] = 0xE0 | (cp >> 12)
        out[q + 1] = 0x80 | ((cp >> 6) & 0x3F)
        out[q + 2] = 0x80 | (cp & 0x3F)
        return q + 3
    out[q] = 0xF0 | (cp >> 18)
    out[q + 1] = 0x80 | ((cp >> 12) & 0x3F)
    out[q + 2] = 0x80 | ((cp >> 6) & 0x3F)
    out[q + 3] = 0x80 | (cp & 0x3F)
    return q + 4


@njit(cache=True)
def _normalize_one(cps, start, end, table, expansions, out, q, write):
    """Map one paragraph's code points; return (bytes written, ok). With ``write`` false only
    count. ``ok`` is false when a character needs the reference path."""
    q0 = q
    pending_space = False
    wrote = False
    for p in range(start, end):
        m = table[cps[p]]
        if m >= 0:
            if pending_space:
                if write:
                    out[q] = 32
                q += 1
                pending_space = False
            if write:
                q = _put_utf8(out, q, m)
            else:
                q += _utf8_len(m)
            wrote = True
        elif m == -1:
            pending_space = wrote
        elif m == -2:
            continue
        elif m == -3:
            return q - q0, False
        else:
            row = -16 - m
            for k in range(expansions.shape[1]):
                c = expansions[row, k]
                if c == 0:
                    break
                if c == -1:
                    pending_space = wrote
                    continue
                if pending_space:
                    if write:
                        out[q] = 32
                    q += 1
                    pending_space = False
                if write:
                    q = _put_utf8(out, q, c)
                else:
                    q += _utf8_len(c)
                wrote = True
    return q - q0, True


@njit(parallel=True, cache=True)
def normalize_code_points(cps, offsets, table, expansions):
    """Normalize each paragraph ``cps[offsets[i]:offsets[i+1]]`` (UTF-32 code points).

    Returns ``(data, out_offsets, fallback)``: UTF-8 bytes of every paragraph, their offsets, and
    which paragraphs the table could not map (their bytes are empty here).
    """
    n = len(offsets) - 1
    lengths = np.zeros(n, dtype=np.int64)
    fallback = np.zeros(n, dtype=np.bool_)
    dummy = np.empty(0, dtype=np.uint8)
    for i in prange(n):
        length, ok = _normalize_one(cps, offsets[i], offsets[i + 1], table, expansions, dummy, 0, False)
        if ok:
            lengths[i] = length
        else:
            fallback[i] = True
    out_offsets = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        out_offsets[i + 1] = out_offsets[i] + lengths[i]
    data = np.empty(out_offsets[n], dtype=np.uint8)
    for i in prange(n):
        if not fallback[i]:
            _normalize_one(cps, offsets[i], offsets[i + 1], table, expansions, data, out_offsets[i], True)
    return data, out_offsets, fallback


# ---------------------------------------------------------------------------------------------
# Shingles: bounds of each shingle inside a normalized paragraph.


@njit(cache=True)
def shingle_bounds(data, start, end, kind, n, starts, ends):
    """Write the byte bounds of the paragraph's shingles into ``starts``/``ends``; return how
    many. ``kind`` 0 is words (separated by one space), 1 is characters. ``starts`` and ``ends``
    need room for ``end - start + 1`` entries."""
    if end <= start:
        return 0
    # Unit starts: the first byte of each word or of each character.
    units = 0
    if kind == 0:
        starts[0] = start
        units = 1
        for p in range(start, end):
            if data[p] == 32:
                starts[units] = p + 1
                units += 1
    else:
        for p in range(start, end):
            if (data[p] & 0xC0) != 0x80:
                starts[units] = p
                units += 1
    if units <= n:
        starts[0] = start
        ends[0] = end
        return 1
    count = units - n + 1
    for i in range(count):
        # A word shingle ends before the space that follows its last word; a character shingle
        # ends where the next character starts.
        if i + n < units:
            stop = starts[i + n] - 1 if kind == 0 else starts[i + n]
        else:
            stop = end
        ends[i] = stop
    return count


@njit(parallel=True, cache=True)
def minhash(data, offsets, kind, n, a, b):
    """MinHash signatures (uint32, one row per paragraph) under datasketch's affine32 scheme
    with ``hashfunc=xxh32``: for every shingle ``h = fmix32(xxh32(shingle))`` and for every
    permutation ``k``, ``(a[k] * h + b[k]) mod 2**32``, minimised. A paragraph without shingles
    keeps the all-ones row, as an empty ``datasketch.MinHash`` does."""
    npara = len(offsets) - 1
    num_perm = len(a)
    sig = np.full((npara, num_perm), U32(0xFFFFFFFF), dtype=np.uint32)
    a64 = a.astype(np.uint64)
    b64 = b.astype(np.uint64)
    nchunks = (npara + CHUNK - 1) // CHUNK
    for c in prange(nchunks):
        lo = c * CHUNK
        hi = min(npara, lo + CHUNK)
        longest = 0
        for i in range(lo, hi):
            longest = max(longest, offsets[i + 1] - offsets[i])
        starts = np.empty(longest + 1, dtype=np.int64)
        ends = np.empty(longest + 1, dtype=np.int64)
        hashes = np.empty(longest + 1, dtype=np.uint64)
        row = np.empty(num_perm, dtype=np.uint32)
        for i in range(lo, hi):
            count = shingle_bounds(data, offsets[i], offsets[i + 1], kind, n, starts, ends)
            if count == 0:
                continue
            for s in range(count):
                hashes[s] = fmix32(xxh32(data, starts[s], ends[s], 0))
            row[:] = U32(0xFFFFFFFF)
            for s in range(count):
                h = hashes[s]
                for k in range(num_perm):
                    v = U32((a64[k] * h + b64[k]) & M32)
                    if v < row[k]:
                        row[k] = v
            sig[i, :] = row
    return sig


# ---------------------------------------------------------------------------------------------
# Exact sets for verification: sorted unique 64-bit shingle hashes.


@njit(cache=True)
def hash64(data, start, end):
    """A 64-bit hash of ``data[start:end]``: two independent xxHash32s side by side."""
    return (xxh32(data, start, end, SEED_HI) << U64(32)) | xxh32(data, start, end, 0)


@njit(parallel=True, cache=True)
def shingle_sets(data, offsets, kind, n, rows):
    """The shingle sets of paragraphs ``rows``, as sorted unique 64-bit hashes, concatenated.

    Returns ``(hashes, set_offsets)``: set ``k`` (of paragraph ``rows[k]``) is
    ``hashes[set_offsets[k]:set_offsets[k+1]]``."""
    m = len(rows)
    upper = np.zeros(m + 1, dtype=np.int64)
    for k in range(m):
        i = rows[k]
        upper[k + 1] = upper[k] + max(offsets[i + 1] - offsets[i], 1)
    scratch = np.empty(upper[m], dtype=np.uint64)
    sizes = np.zeros(m, dtype=np.int64)
    nchunks = (m + CHUNK - 1) // CHUNK
    for c in prange(nchunks):
        lo = c * CHUNK
        hi = min(m, lo + CHUNK)
        longest = 0
        for k in range(lo, hi):
            i = rows[k]
            longest = max(longest, offsets[i + 1] - offsets[i])
        starts = np.empty(longest + 1, dtype=np.int64)
        ends = np.empty(longest + 1, dtype=np.int64)
        for k in range(lo, hi):
            i = rows[k]
            count = shingle_bounds(data, offsets[i], offsets[i + 1], kind, n, starts, ends)
            base = upper[k]
            for s in range(count):
                scratch[base + s] = hash64(data, starts[s], ends[s])
            segment = scratch[base : base + count]
            segment.sort()
            unique = 0
            for s in range(count):
                if s == 0 or segment[s] != segment[s - 1]:
                    segment[unique] = segment[s]
                    unique += 1
            sizes[k] = unique
    set_offsets = np.zeros(m + 1, dtype=np.int64)
    for k in range(m):
        set_offsets[k + 1] = set_offsets[k] + sizes[k]
    hashes = np.empty(set_offsets[m], dtype=np.uint64)
    for k in prange(m):
        hashes[set_offsets[k] : set_offsets[k + 1]] = scratch[upper[k] : upper[k] + sizes[k]]
    return hashes, set_offsets


@njit(parallel=True, cache=True)
def set_similarities(hashes, set_offsets, left, right):
    """Exact Jaccard and containment of set pairs ``(left[p], right[p])``.

    Returns ``(jaccard, containment)``; two empty sets have similarity 0."""
    m = len(left)
    jaccard = np.zeros(m, dtype=np.float64)
    containment = np.zeros(m, dtype=np.float64)
    for p in prange(m):
        i0 = set_offsets[left[p]]
        i1 = set_offsets[left[p] + 1]
        j0 = set_offsets[right[p]]
        j1 = set_offsets[right[p] + 1]
        na = i1 - i0
        nb = j1 - j0
        if na == 0 or nb == 0:
            continue
        inter = 0
        while i0 < i1 and j0 < j1:
            x = hashes[i0]
            y = hashes[j0]
            if x == y:
                inter += 1
                i0 += 1
                j0 += 1
            elif x < y:
                i0 += 1
            else:
                j0 += 1
        jaccard[p] = inter / (na + nb - inter)
        containment[p] = inter / min(na, nb)
    return jaccard, containment


@njit(parallel=True, cache=True)
def text_hashes(data, offsets):
    """A 64-bit hash of each paragraph's whole normalized text (for grouping exact copies)."""
    n = len(offsets) - 1
    out = np.empty(n, dtype=np.uint64)
    for i in prange(n):
        out[i] = hash64(data, offsets[i], offsets[i + 1])
    return out


@njit(cache=True)
def same_bytes(data, offsets, i, j):
    """Whether paragraphs ``i`` and ``j`` have the same normalized bytes."""
    a0 = offsets[i]
    b0 = offsets[j]
    length = offsets[i + 1] - a0
    if offsets[j + 1] - b0 != length:
        return False
    for k in range(length):
        if data[a0 + k] != data[b0 + k]:
            return False
    return True


# ---------------------------------------------------------------------------------------------
# LSH: band keys and bucket pairs.


@njit(parallel=True, cache=True)
def band_keys(sig, bands, rows):
    """One 64-bit key per band per signature: a hash of the band's ``rows`` values. Equal bands
    give equal keys; a rare key collision only adds a candidate, which verification removes."""
    n = sig.shape[0]
    keys = np.empty((bands, n), dtype=np.uint64)
    for i in prange(n):
        for band in range(bands):
            h = U64(0xCBF29CE484222325) ^ U64(band)
            for r in range(band * rows, (band + 1) * rows):
                h = (h ^ U64(sig[i, r])) * U64(0x100000001B3)
                h ^= h >> U64(29)
            h = (h ^ (h >> U64(32))) * U64(0xD6E8FEB86659FD93)
            keys[band, i] = h ^ (h >> U64(32))
    return keys


@njit(cache=True)
def bucket_pairs(sorted_keys, order, window, out_left, out_right, count):
    """Pairs of members that share a bucket, for one band.

    ``order`` lists members sorted by key and, within a key, by input position. Within a bucket
    each of the first ``window`` members is paired with every later member, so a bucket of
    ``k`` gives at most ``window * k`` pairs, not ``k**2 / 2``. With ``out_left`` empty only
    count. Returns the new ``count``."""
    n = len(sorted_keys)
    write = len(out_left) > 0
    start = 0
    while start < n:
        stop = start + 1
        while stop < n and sorted_keys[stop] == sorted_keys[start]:
            stop += 1
        size = stop - start
        if size > 1:
            heads = min(size - 1, window)
            for x in range(start, start + heads):
                for y in range(x + 1, stop):
                    if write:
                        out_left[count] = order[x]
                        out_right[count] = order[y]
                    count += 1
        start = stop
    return count


# ---------------------------------------------------------------------------------------------
# Clusters.


@njit(cache=True)
def assign_representatives(n, left, right):
    """First-seen clustering. Pairs ``(left, right)`` have ``left < right`` in input order and
    are sorted by ``right``, then ``left``. Each paragraph joins the earliest earlier paragraph
    it matches that is itself a representative; with none, it is a representative.

    Returns ``(rep, via)``: ``rep[i]`` is the representative of ``i`` (``i`` itself for a
    representative) and ``via[i]`` the index of the pair that joined them (-1 for none)."""
    rep = np.arange(n)
    via = np.full(n, -1, dtype=np.int64)
    p = 0
    m = len(left)
    while p < m:
        j = right[p]
        q = p
        while q < m and right[q] == j:
            q += 1
        for k in range(p, q):
            i = left[k]
            if rep[i] == i:
                rep[j] = i
                via[j] = k
                break
        p = q
    return rep, via
