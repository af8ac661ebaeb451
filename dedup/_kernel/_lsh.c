/* LSH buckets (candidate pairs from band keys) and first-seen clusters. */
#include "common.h"
#include "kernels.h"

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

/* One band per chunk: sort keys[band] (row-major (bands, n)) and keep only the buckets of two or
 * more, in key order: their rows go to orders[band, 0..kept[band]), ascending within a bucket
 * (the sort is stable); where[row, band] is the position there of the row's bucket's first
 * member (NO_BUCKET, as the caller fills it, for a row alone in its bucket), and heads[row,
 * band] is set for the first `window` members of each bucket. where and heads are row-major
 * (n, bands), so that one row's entries for every band lie side by side for the pairing pass.
 * Each band writes only its own entries, so bands run side by side. Sets *failed when scratch
 * memory runs out. */
void dedup_lsh_buckets(const uint32_t *keys, int64_t bands, int64_t n, int64_t window,
                       uint32_t *orders, int64_t *kept, uint32_t *where, uint8_t *heads,
                       int64_t *failed, int64_t *cursor) {
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
                uint32_t first = (uint32_t)m;
                for (int64_t x = start; x < stop; x++) {
                    uint32_t row = (uint32_t)sorted[x];
                    order[m++] = row;
                    where[(int64_t)row * bands + band] = first;
                    if (x - start < window) heads[(int64_t)row * bands + band] = 1;
                }
            }
            start = stop;
        }
        kept[band] = m;
    }
    free(scratch);
}

/* The candidate pairs (i, j) of one row j, i < j: in every band where j shares a bucket, each of
 * the bucket's first `window` members that comes before j, unless an earlier band pairs the
 * two already (they share its bucket and i is among its first `window`), so a pair comes out
 * once however many bands it shares. Band by band, i ascending within a band. Writes them to
 * left/right when those are not NULL; returns how many. `shared` is scratch for `bands` ints. */
static int64_t row_pairs(const uint32_t *orders, const uint32_t *where, const uint8_t *heads,
                         int64_t bands, int64_t n, int64_t window, int64_t j, int64_t *shared,
                         int64_t *left, int64_t *right) {
    const uint32_t *wj = where + j * bands;
    int64_t e = 0; /* the bands where j shares a bucket */
    for (int64_t b = 0; b < bands; b++)
        if (wj[b] != NO_BUCKET) shared[e++] = b;
    int64_t count = 0;
    for (int64_t t = 0; t < e; t++) {
        int64_t band = shared[t];
        const uint32_t *bucket = orders + band * n + wj[band];
        /* j is in the bucket and its rows ascend, so meeting j ends the loop */
        for (int64_t x = 0; x < window; x++) {
            int64_t i = bucket[x];
            if (i >= j) break;
            const uint32_t *wi = where + i * bands;
            const uint8_t *hi = heads + i * bands;
            int64_t k = 0;
            while (k < t && !(hi[shared[k]] && wi[shared[k]] == wj[shared[k]])) k++;
            if (k < t) continue; /* an earlier band paired them */
            if (left != NULL) {
                left[count] = i;
                right[count] = j;
            }
            count++;
        }
    }
    return count;
}

/* Pass 1, chunks of CHUNK rows: counts[j] = the number of candidate pairs (i, j) of row j, and
 * paired[j] = 1 when j is in any pair at all (it shares a bucket with another row: as the later
 * of the two, or the earlier, since a bucket's first member pairs with every other). Sets
 * *failed when scratch memory runs out. */
void dedup_lsh_pair_counts(const uint32_t *orders, const uint32_t *where,
                           const uint8_t *heads, int64_t bands, int64_t n, int64_t window,
                           int64_t *counts, uint8_t *paired, int64_t *failed,
                           int64_t *cursor) {
    int64_t *shared = NULL;
    int64_t chunks = (n + CHUNK - 1) / CHUNK;
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        if (shared == NULL) {
            shared = malloc((size_t)bands * sizeof(int64_t) + 1);
            if (shared == NULL) {
                __atomic_store_n(failed, 1, __ATOMIC_RELAXED);
                return;
            }
        }
        int64_t lo = c * CHUNK, hi = lo + CHUNK < n ? lo + CHUNK : n;
        for (int64_t j = lo; j < hi; j++) {
            counts[j] = row_pairs(orders, where, heads, bands, n, window, j, shared, NULL, NULL);
            const uint32_t *wj = where + j * bands;
            uint8_t any = 0;
            for (int64_t b = 0; b < bands; b++) any |= wj[b] != NO_BUCKET;
            paired[j] = any;
        }
    }
    free(shared);
}

/* Pass 2, chunks of CHUNK rows of [lo, hi): the pairs of each row j go to left/right from
 * offsets[j] - offsets[lo] on (offsets: the prefix sums of pass 1's counts), so the output is
 * grouped by j, ascending, whichever thread does which chunk. Sets *failed when scratch memory
 * runs out. */
void dedup_lsh_pairs(const uint32_t *orders, const uint32_t *where, const uint8_t *heads,
                     int64_t bands, int64_t n, int64_t window, int64_t lo, int64_t hi,
                     const int64_t *offsets, int64_t *left, int64_t *right,
                     int64_t *failed, int64_t *cursor) {
    int64_t *shared = NULL;
    int64_t chunks = (hi - lo + CHUNK - 1) / CHUNK;
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        if (shared == NULL) {
            shared = malloc((size_t)bands * sizeof(int64_t) + 1);
            if (shared == NULL) {
                __atomic_store_n(failed, 1, __ATOMIC_RELAXED);
                return;
            }
        }
        int64_t first = lo + c * CHUNK, last = first + CHUNK < hi ? first + CHUNK : hi;
        for (int64_t j = first; j < last; j++) {
            int64_t at = offsets[j] - offsets[lo];
            row_pairs(orders, where, heads, bands, n, window, j, shared, left + at, right + at);
        }
    }
    free(shared);
}

/* First-seen clustering, continued over m more pairs (see the Python docstring): pairs come
 * grouped by right, the groups in ascending order, with left < right; rep and via hold every
 * decision so far (rep[i] = i and via[i] = -1 for a row not yet joined). Row j joins the earliest
 * i among its group's lefts that is itself a representative, and with jaccard given, whose
 * jaccard is at or above the threshold; via[j] is that pair's index. Returns 0, or, with rep
 * and via unfinished, -1 at the first pair it reads that lies outside range(n) and -2 at the
 * first that breaks the order: checking as it goes costs nothing, where a separate pass over
 * the pairs would. */
int64_t dedup_first_seen(int64_t n, const int64_t *left, const int64_t *right, int64_t m,
                         const double *jaccard, double threshold, int64_t *rep,
                         int64_t *via) {
    int64_t p = 0, previous = -1;
    while (p < m) {
        int64_t j = right[p];
        if ((uint64_t)j >= (uint64_t)n) return -1;
        if (j <= previous) return -2;
        int64_t best = -1, best_left = j;
        int64_t q = p;
        for (; q < m && right[q] == j; q++) {
            int64_t i = left[q];
            if ((uint64_t)i >= (uint64_t)n) return -1;
            if (i >= j) return -2;
            if (i < best_left && rep[i] == i && (jaccard == NULL || jaccard[q] >= threshold)) {
                best = q;
                best_left = i;
            }
        }
        if (best >= 0) {
            rep[j] = best_left;
            via[j] = best;
        }
        previous = j;
        p = q;
    }
    return 0;
}
