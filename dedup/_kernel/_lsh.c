/* LSH buckets (candidate pairs from band keys) and first-seen clusters. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "common.h"

/* A sorted band keeps only each member's row, with this bit set on the first member of each
 * bucket: the later passes need the bucket boundaries, not the keys, and rows are < 2**31. */
#define BUCKET_START 0x80000000u
#define ROW_MASK 0x7FFFFFFFu

#define DIGIT_BITS 11
#define DIGITS 2048

/* Stable LSD radix sort of keys[0..n) in three 11-bit passes, each element packed as
 * key << 32 | row so one scatter moves both. Stability keeps equal keys in row order, which the
 * window rule needs. A pass whose digit is the same for every key would leave the order as it
 * is, so it is skipped. Returns the buffer (a or b) that holds the result. */
static uint64_t *radix_order(const uint32_t *keys, int64_t n, uint64_t *a, uint64_t *b) {
    int64_t counts[3][DIGITS];
    memset(counts, 0, sizeof(counts));
    for (int64_t i = 0; i < n; i++) {
        uint32_t k = keys[i];
        counts[0][k & 0x7FF]++;
        counts[1][(k >> 11) & 0x7FF]++;
        counts[2][k >> 22]++;
    }
    uint64_t *src = NULL, *dst = a;
    for (int pass = 0; pass < 3; pass++) {
        int shift = pass * DIGIT_BITS;
        int64_t *count = counts[pass];
        int trivial = 0;
        int64_t total = 0;
        for (int d = 0; d < DIGITS; d++) {
            int64_t c = count[d];
            if (c == n) trivial = 1;
            count[d] = total; /* now the next free position for digit d */
            total += c;
        }
        if (trivial) continue;
        if (src == NULL) { /* the first pass that moves anything reads the keys themselves */
            for (int64_t i = 0; i < n; i++) {
                uint32_t k = keys[i];
                dst[count[(k >> shift) & 0x7FF]++] = (uint64_t)k << 32 | (uint64_t)i;
            }
        } else {
            for (int64_t i = 0; i < n; i++) {
                uint64_t v = src[i];
                dst[count[(v >> (32 + shift)) & 0x7FF]++] = v;
            }
        }
        src = dst;
        dst = dst == a ? b : a;
    }
    if (src == NULL) { /* every key equal: already in order */
        for (int64_t i = 0; i < n; i++) a[i] = (uint64_t)keys[i] << 32 | (uint64_t)i;
        src = a;
    }
    return src;
}

/* by_row[i, band] = keys[band, i], for chunks of CHUNK rows: a row's keys side by side, so the
 * earlier-band check reads one short run per row, not one cache line per band. A chunk's rows
 * fit in cache, so the strided writes stay there. */
EXPORT void dedup_lsh_transpose(const uint32_t *keys, int64_t bands, int64_t n, uint32_t *by_row,
                                int64_t *cursor) {
    int64_t chunks = (n + CHUNK - 1) / CHUNK;
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        int64_t lo = c * CHUNK, hi = lo + CHUNK < n ? lo + CHUNK : n;
        for (int64_t band = 0; band < bands; band++) {
            const uint32_t *k = keys + band * n;
            for (int64_t i = lo; i < hi; i++) by_row[i * bands + band] = k[i];
        }
    }
}

/* Phase 1, one band per chunk: sort keys[band] (row-major (bands, n)) and keep only the
 * buckets of two or more, in key order: their rows go to orders[band, 0..kept[band]), flagged at
 * bucket starts, and heads[row, band] is set for the first `window` members of each. A bucket of
 * one pairs with nothing, and its head flag would never be read (a flag is only read for a row
 * that shares the band's bucket with another), so dropping singletons, most rows in practice,
 * saves scattered writes and the later passes' scans. Each band writes only its own bytes of
 * heads, so bands run side by side. Sets *failed when scratch memory runs out. */
EXPORT void dedup_lsh_sort(const uint32_t *keys, int64_t bands, int64_t n, int64_t window,
                           uint32_t *orders, int64_t *kept, uint8_t *heads, int64_t *failed,
                           int64_t *cursor) {
    uint64_t *scratch = NULL;
    for (int64_t band = next_chunk(cursor); band < bands; band = next_chunk(cursor)) {
        if (scratch == NULL) {
            scratch = malloc(2 * (size_t)n * sizeof(uint64_t) + 1);
            if (scratch == NULL) {
                __atomic_store_n(failed, 1, __ATOMIC_RELAXED);
                return;
            }
        }
        const uint64_t *sorted = radix_order(keys + band * n, n, scratch, scratch + n);
        uint32_t *order = orders + band * n;
        int64_t m = 0, start = 0;
        while (start < n) {
            uint32_t key = (uint32_t)(sorted[start] >> 32);
            int64_t stop = start + 1;
            while (stop < n && (uint32_t)(sorted[stop] >> 32) == key) stop++;
            if (stop - start > 1) {
                int64_t firsts = stop - start < window ? stop - start : window;
                for (int64_t x = start; x < stop; x++) {
                    uint32_t row = (uint32_t)sorted[x];
                    order[m++] = x == start ? row | BUCKET_START : row;
                    if (x - start < firsts) heads[(int64_t)row * bands + band] = 1;
                }
            }
            start = stop;
        }
        kept[band] = m;
    }
    free(scratch);
}

/* Phases 2 and 3, one band per chunk. Within each bucket (rows ascending) the first `window`
 * members pair with every later member, unless an earlier band paired them already, so a pair
 * comes out once however many bands it shares. Without `write`, counts[band + 1] gets the
 * band's pair count; with it, the band's pairs fill left/right from counts[band] on (the
 * prefix sums), so the output is in band order whichever thread does which band. Later bands
 * cost more (more earlier bands to check), so they are handed out first. Sets *failed when
 * scratch memory runs out. */
EXPORT void dedup_lsh_band_pairs(const uint32_t *orders, const int64_t *kept,
                                 const uint32_t *by_row, const uint8_t *heads, int64_t bands,
                                 int64_t n, int64_t window, int64_t *counts, int64_t *left,
                                 int64_t *right, int64_t write, int64_t *failed, int64_t *cursor) {
    /* The earlier bands in which the current x is a head: the same for every y it meets. */
    int64_t *earlier = NULL;
    for (int64_t c = next_chunk(cursor); c < bands; c = next_chunk(cursor)) {
        if (earlier == NULL) {
            earlier = malloc((size_t)bands * sizeof(int64_t));
            if (earlier == NULL) {
                __atomic_store_n(failed, 1, __ATOMIC_RELAXED);
                return;
            }
        }
        int64_t band = bands - 1 - c;
        const uint32_t *order = orders + band * n;
        int64_t m = kept[band];
        int64_t count = write ? counts[band] : 0;
        int64_t start = 0;
        while (start < m) {
            int64_t stop = start + 1;
            while (stop < m && !(order[stop] & BUCKET_START)) stop++;
            int64_t firsts = stop - start - 1 < window ? stop - start - 1 : window;
            for (int64_t x = start; x < start + firsts; x++) {
                int64_t rx = order[x] & ROW_MASK;
                const uint8_t *hx = heads + rx * bands;
                int64_t e = 0;
                for (int64_t b = 0; b < band; b++)
                    if (hx[b]) earlier[e++] = b;
                const uint32_t *kx = by_row + rx * bands;
                for (int64_t y = x + 1; y < stop; y++) {
                    const uint32_t *ky = by_row + (int64_t)(order[y] & ROW_MASK) * bands;
                    int64_t k = 0;
                    while (k < e && kx[earlier[k]] != ky[earlier[k]]) k++;
                    if (k < e) continue; /* an earlier band paired them */
                    if (write) {
                        left[count] = rx;
                        right[count] = order[y] & ROW_MASK;
                    }
                    count++;
                }
            }
            start = stop;
        }
        if (!write) counts[band + 1] = count;
    }
    free(earlier);
}

/* First-seen clustering over pairs sorted by right, then left (see the Python docstring).
 * Returns -1, with rep and via unfinished, at the first pair it reads that lies outside
 * range(n): checking as it goes costs nothing, where a separate pass over the pairs would. */
EXPORT int64_t dedup_assign_representatives(int64_t n, const int64_t *left, const int64_t *right,
                                            int64_t m, int64_t *rep, int64_t *via) {
    for (int64_t i = 0; i < n; i++) {
        rep[i] = i;
        via[i] = -1;
    }
    int64_t p = 0;
    while (p < m) {
        int64_t j = right[p];
        if ((uint64_t)j >= (uint64_t)n) return -1;
        int64_t q = p;
        while (q < m && right[q] == j) q++;
        for (int64_t k = p; k < q; k++) {
            int64_t i = left[k];
            if ((uint64_t)i >= (uint64_t)n) return -1;
            if (rep[i] == i) {
                rep[j] = i;
                via[j] = k;
                break;
            }
        }
        p = q;
    }
    return 0;
}

DEDUP_MODULE(_lsh)
