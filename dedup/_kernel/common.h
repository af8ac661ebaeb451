/* Shared by every kernel source: fixed-width types, the hashes, and the chunk cursor.
 *
 * The kernels are plain C over plain arrays: no Python object is touched, so Python calls them
 * (through cffi, as kernels.h declares them) with the GIL released. Work that runs on several
 * cores is cut into chunks, and each thread that Python starts on the same call takes the next
 * chunk from a shared cursor (see next_chunk), so long and short paragraphs balance out across
 * threads.
 */
#ifndef DEDUP_COMMON_H
#define DEDUP_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "dedup's kernels read 32- and 64-bit words as little-endian (as xxHash's reference does on x86 and ARM)"
#endif

/* The next chunk for this thread to do, or a number >= the chunk count when all are taken. */
static inline int64_t next_chunk(int64_t *cursor) {
    return __atomic_fetch_add(cursor, 1, __ATOMIC_RELAXED);
}

/* xxHash32 (github.com/Cyan4973/xxHash, doc/xxhash_spec.md), equal to
 * xxhash.xxh32_intdigest(data[start:end], seed). */
#define XXH_P1 0x9E3779B1u
#define XXH_P2 0x85EBCA77u
#define XXH_P3 0xC2B2AE3Du
#define XXH_P4 0x27D4EB2Fu
#define XXH_P5 0x165667B1u

static inline uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

static inline uint32_t read32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4); /* unaligned-safe; little-endian only (checked above) */
    return v;
}

static inline uint32_t xxh32(const uint8_t *data, int64_t start, int64_t end, uint32_t seed) {
    const uint8_t *p = data + start;
    const uint8_t *stop = data + end;
    uint32_t h;
    int64_t length = end - start;
    if (length >= 16) {
        uint32_t v1 = seed + XXH_P1 + XXH_P2, v2 = seed + XXH_P2, v3 = seed, v4 = seed - XXH_P1;
        const uint8_t *limit = stop - 16;
        while (p <= limit) {
            v1 = rotl32(v1 + read32(p) * XXH_P2, 13) * XXH_P1;
            v2 = rotl32(v2 + read32(p + 4) * XXH_P2, 13) * XXH_P1;
            v3 = rotl32(v3 + read32(p + 8) * XXH_P2, 13) * XXH_P1;
            v4 = rotl32(v4 + read32(p + 12) * XXH_P2, 13) * XXH_P1;
            p += 16;
        }
        h = rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18);
    } else {
        h = seed + XXH_P5;
    }
    h += (uint32_t)length;
    while (p + 4 <= stop) {
        h = rotl32(h + read32(p) * XXH_P3, 17) * XXH_P4;
        p += 4;
    }
    while (p < stop) {
        h = rotl32(h + (uint32_t)(*p) * XXH_P5, 11) * XXH_P1;
        p++;
    }
    h ^= h >> 15;
    h *= XXH_P2;
    h ^= h >> 13;
    h *= XXH_P3;
    h ^= h >> 16;
    return h;
}

/* MurmurHash3's 32-bit finalizer, which datasketch's affine32 scheme applies to each hash. */
static inline uint32_t fmix32(uint32_t h) {
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

/* XXH64 (the same specification), equal to xxhash.xxh64_intdigest(data[start:end], seed): a
 * 64-bit hash throughout, where two 32-bit hashes of one text side by side would not be. */
#define XXH64_P1 0x9E3779B185EBCA87ull
#define XXH64_P2 0xC2B2AE3D27D4EB4Full
#define XXH64_P3 0x165667B19E3779F9ull
#define XXH64_P4 0x85EBCA77C2B2AE63ull
#define XXH64_P5 0x27D4EB2F165667C5ull

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static inline uint64_t read64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t xxh64_round(uint64_t acc, uint64_t lane) {
    return rotl64(acc + lane * XXH64_P2, 31) * XXH64_P1;
}

static inline uint64_t xxh64_merge(uint64_t h, uint64_t v) {
    return (h ^ xxh64_round(0, v)) * XXH64_P1 + XXH64_P4;
}

static inline uint64_t xxh64(const uint8_t *data, int64_t start, int64_t end, uint64_t seed) {
    const uint8_t *p = data + start;
    const uint8_t *stop = data + end;
    uint64_t h;
    int64_t length = end - start;
    if (length >= 32) {
        uint64_t v1 = seed + XXH64_P1 + XXH64_P2, v2 = seed + XXH64_P2, v3 = seed, v4 = seed - XXH64_P1;
        const uint8_t *limit = stop - 32;
        while (p <= limit) {
            v1 = xxh64_round(v1, read64(p));
            v2 = xxh64_round(v2, read64(p + 8));
            v3 = xxh64_round(v3, read64(p + 16));
            v4 = xxh64_round(v4, read64(p + 24));
            p += 32;
        }
        h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
        h = xxh64_merge(h, v1);
        h = xxh64_merge(h, v2);
        h = xxh64_merge(h, v3);
        h = xxh64_merge(h, v4);
    } else {
        h = seed + XXH64_P5;
    }
    h += (uint64_t)length;
    while (p + 8 <= stop) {
        h = rotl64(h ^ xxh64_round(0, read64(p)), 27) * XXH64_P1 + XXH64_P4;
        p += 8;
    }
    if (p + 4 <= stop) {
        h = rotl64(h ^ ((uint64_t)read32(p) * XXH64_P1), 23) * XXH64_P2 + XXH64_P3;
        p += 4;
    }
    while (p < stop) {
        h = rotl64(h ^ ((uint64_t)(*p) * XXH64_P5), 11) * XXH64_P1;
        p++;
    }
    h ^= h >> 33;
    h *= XXH64_P2;
    h ^= h >> 29;
    h *= XXH64_P3;
    h ^= h >> 32;
    return h;
}

/* The 64-bit hash of data[start:end] that shingle sets, whole texts and words are compared by. */
static inline uint64_t hash64(const uint8_t *data, int64_t start, int64_t end) {
    return xxh64(data, start, end, 0);
}

#endif
