/* The embedded index: sorted runs of band keys, their key filters and their searches. */
#include "common.h"
#include "kernels.h"

/* Buckets of hash_sort holding more keys than this are merge sorted: insertion sort is
 * quadratic, and a bucket only gets this full from many equal keys (copies of one paragraph). */
#define CROWDED 48

/* The merge sort starts from runs this long sorted by insertion, faster than merging so few. */
#define RUN 32

static void insertion_sort(uint64_t *keys, int64_t *order, int64_t lo, int64_t hi) {
    for (int64_t i = lo + 1; i < hi; i++) {
        uint64_t key = keys[i];
        int64_t at = order[i];
        int64_t j = i - 1;
        while (j >= lo && keys[j] > key) {
            keys[j + 1] = keys[j];
            order[j + 1] = order[j];
            j--;
        }
        keys[j + 1] = key;
        order[j + 1] = at;
    }
}

/* A stable bottom-up merge sort of keys[0..n) with order beside them; scratch holds n of each.
 * Each merge copies only its left run out, and two runs already in order are left as they are,
 * so a bucket of equal keys (the usual crowded one) costs little more than its insertion sorts. */
static void merge_sort(uint64_t *keys, int64_t *order, int64_t n, uint64_t *scratch_keys,
                       int64_t *scratch_order) {
    for (int64_t lo = 0; lo < n; lo += RUN) insertion_sort(keys, order, lo, lo + RUN < n ? lo + RUN : n);
    for (int64_t width = RUN; width < n; width *= 2) {
        for (int64_t lo = 0; lo + width < n; lo += 2 * width) {
            int64_t mid = lo + width;
            int64_t hi = mid + width < n ? mid + width : n;
            if (keys[mid - 1] <= keys[mid]) continue;
            int64_t left = mid - lo;
            memcpy(scratch_keys, keys + lo, left * sizeof(uint64_t));
            memcpy(scratch_order, order + lo, left * sizeof(int64_t));
            int64_t i = 0, j = mid, o = lo;
            while (i < left && j < hi) {
                if (keys[j] < scratch_keys[i]) {
                    keys[o] = keys[j];
                    order[o++] = order[j++];
                } else {
                    keys[o] = scratch_keys[i];
                    order[o++] = scratch_order[i++];
                }
            }
            /* What is left of the right run is already in place. */
            memcpy(keys + o, scratch_keys + i, (left - i) * sizeof(uint64_t));
            memcpy(order + o, scratch_order + i, (left - i) * sizeof(int64_t));
        }
    }
}

/* Stable sort of keys[0..n) into out, with order[p] the input position of out[p]: a counting
 * sort on the top bits, then each bucket sorted on its own. Returns 0, or -1 when memory runs
 * out. */
int64_t dedup_hash_sort(const uint64_t *keys, int64_t n, uint64_t *out, int64_t *order) {
    int bits = 4;
    while (bits < 24 && ((int64_t)1 << (bits + 3)) < n) bits++;
    int shift = 64 - bits;
    int64_t buckets = (int64_t)1 << bits;
    /* Counted one bucket up and summed, ends[b] is where bucket b starts; the scatter then
     * moves it to where bucket b ends. */
    int64_t *ends = calloc(buckets + 1, sizeof(int64_t));
    if (!ends) return -1;
    for (int64_t i = 0; i < n; i++) ends[(keys[i] >> shift) + 1]++;
    int64_t crowded = 0;
    for (int64_t b = 0; b < buckets; b++) {
        if (ends[b + 1] > crowded) crowded = ends[b + 1];
        ends[b + 1] += ends[b];
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t p = ends[keys[i] >> shift]++;
        out[p] = keys[i];
        order[p] = i;
    }
    uint64_t *scratch_keys = NULL;
    int64_t *scratch_order = NULL;
    if (crowded > CROWDED) {
        scratch_keys = malloc(crowded * sizeof(uint64_t));
        scratch_order = malloc(crowded * sizeof(int64_t));
        if (!scratch_keys || !scratch_order) {
            free(scratch_keys);
            free(scratch_order);
            free(ends);
            return -1;
        }
    }
    int64_t lo = 0;
    for (int64_t b = 0; b < buckets; b++) {
        int64_t hi = ends[b];
        if (hi - lo > CROWDED)
            merge_sort(out + lo, order + lo, hi - lo, scratch_keys, scratch_order);
        else
            insertion_sort(out, order, lo, hi);
        lo = hi;
    }
    free(scratch_keys);
    free(scratch_order);
    free(ends);
    return 0;
}

/* The first index in [a, b) with keys >= q, else b. Without branches on the keys (the compiler
 * makes the halving a conditional move): where a search goes is a coin toss at each step, and a
 * mispredicted branch costs more than the step. */
static inline int64_t lower_bound(const uint64_t *keys, int64_t a, int64_t b, uint64_t q) {
    if (a >= b) return b;
    const uint64_t *base = keys + a;
    int64_t len = b - a;
    while (len > 1) {
        int64_t half = len >> 1;
        base = base[half - 1] < q ? base + half : base;
        len -= half;
    }
    return (base - keys) + (*base < q);
}

/* For chunks of the ascending queries[0..m): lo, hi of each in the ascending keys[0..n).
 * Each chunk gallops forward from its previous answer, so a chunk reads keys in order. */
void dedup_sorted_ranges(const uint64_t *keys, int64_t n, const uint64_t *queries, int64_t m,
                         int64_t chunks, int64_t *lo, int64_t *hi, int64_t *cursor) {
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        int64_t first = c * m / chunks, last = (c + 1) * m / chunks;
        if (first >= last) continue;
        int64_t pos = lower_bound(keys, 0, n, queries[first]);
        for (int64_t j = first; j < last; j++) {
            uint64_t q = queries[j];
            if (pos < n && keys[pos] < q) {
                int64_t a = pos, b = pos + 1, step = 1;
                while (b < n && keys[b] < q) {
                    a = b;
                    step *= 2;
                    b = a + step;
                }
                if (b > n) b = n;
                pos = lower_bound(keys, a + 1, b, q);
            }
            lo[j] = pos;
            int64_t end = pos;
            while (end < n && keys[end] == q) end++;
            hi[j] = end;
        }
    }
}

/* The filter word of a key, monotone in the key so that sorted keys walk the filter in order. */
static inline int64_t filter_word(uint64_t key, int64_t words) {
    return (int64_t)(((key >> 32) * (uint64_t)words) >> 32);
}

/* PAIRS[x] = the bits x % 64 and x / 64 of a word, for a 12-bit x: a key's four filter bits are
 * then two table reads. Shifting by a variable count takes three micro-ops on x86 without BMI2
 * (the baseline these are built for), and the filters are bound by the work per key. */
#define PAIR(x) (((uint64_t)1 << ((x) & 63)) | ((uint64_t)1 << ((x) >> 6)))
#define PAIRS4(x) PAIR(x), PAIR((x) + 1), PAIR((x) + 2), PAIR((x) + 3)
#define PAIRS16(x) PAIRS4(x), PAIRS4((x) + 4), PAIRS4((x) + 8), PAIRS4((x) + 12)
#define PAIRS64(x) PAIRS16(x), PAIRS16((x) + 16), PAIRS16((x) + 32), PAIRS16((x) + 48)
#define PAIRS256(x) PAIRS64(x), PAIRS64((x) + 64), PAIRS64((x) + 128), PAIRS64((x) + 192)
#define PAIRS1024(x) PAIRS256(x), PAIRS256((x) + 256), PAIRS256((x) + 512), PAIRS256((x) + 768)
static const uint64_t PAIRS[4096] = {PAIRS1024(0), PAIRS1024(1024), PAIRS1024(2048), PAIRS1024(3072)};

/* Four bits of a word, from bits of the key that filter_word does not use. */
static inline uint64_t filter_mask(uint64_t key) {
    return PAIRS[key & 4095] | PAIRS[(key >> 12) & 4095];
}

/* Add the ascending keys[0..n) to bloom[0..words), by chunks of words: each chunk is filled from
 * its own keys alone, so threads never write the same word. */
void dedup_fill_filter(uint64_t *bloom, int64_t words, const uint64_t *keys, int64_t n,
                       int64_t chunks, int64_t *cursor) {
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        int64_t first_word = c * words / chunks, last_word = (c + 1) * words / chunks;
        int64_t a = 0, b = n;
        while (a < b) {
            int64_t mid = (a + b) >> 1;
            if (filter_word(keys[mid], words) < first_word)
                a = mid + 1;
            else
                b = mid;
        }
        for (int64_t i = a; i < n; i++) {
            uint64_t key = keys[i];
            int64_t w = filter_word(key, words);
            if (w >= last_word) break;
            bloom[w] |= filter_mask(key);
        }
    }
}

/* out[j] = 1 when queries[j] may be in the filter, for chunks of the queries. */
void dedup_probe_filter(const uint64_t *bloom, int64_t words, const uint64_t *queries,
                        int64_t m, int64_t chunks, uint8_t *out, int64_t *cursor) {
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        int64_t last = (c + 1) * m / chunks;
        for (int64_t j = c * m / chunks; j < last; j++) {
            uint64_t q = queries[j];
            uint64_t mask = filter_mask(q);
            out[j] = (bloom[filter_word(q, words)] & mask) == mask;
        }
    }
}

/* Queries whose final binary searches search_at runs side by side. */
#define LANES 8

/* lo, hi of the queries queries[at[k]] (negative at counts from the end, as in numpy) in the
 * ascending keys[0..n), for chunks of at. The keys are hashes, spread evenly, so each search
 * starts where its key should be and gallops out from there. A binary search is a chain of
 * dependent reads, so those of LANES queries are interleaved: their reads overlap. */
void dedup_search_at(const uint64_t *keys, int64_t n, const uint64_t *queries, int64_t queries_n,
                     const int64_t *at, int64_t m, int64_t chunks, int64_t *lo, int64_t *hi,
                     int64_t *cursor) {
    double scale = n / 18446744073709551616.0;
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        int64_t last = (c + 1) * m / chunks;
        for (int64_t k0 = c * m / chunks; k0 < last; k0 += LANES) {
            int64_t lanes = last - k0 < LANES ? last - k0 : LANES;
            /* Lane l searches [base[l], base[l] + len[l]] for query qs[l]; open lanes first. */
            const uint64_t *base[LANES];
            int64_t len[LANES], slot[LANES];
            uint64_t qs[LANES];
            int64_t open = 0, widest = 1;
            for (int64_t l = 0; l < lanes; l++) {
                int64_t i = at[k0 + l];
                uint64_t q = queries[i < 0 ? i + queries_n : i];
                int64_t a, b; /* the first index with keys >= q is in (a, b] */
                if (n == 0) {
                    a = -1;
                    b = 0;
                } else {
                    int64_t g = (int64_t)((double)q * scale);
                    if (g < 0) g = 0;
                    if (g > n - 1) g = n - 1;
                    int64_t step = 1;
                    if (keys[g] < q) {
                        a = g;
                        b = a + 1;
                        while (b < n && keys[b] < q) {
                            a = b;
                            step *= 2;
                            b = a + step;
                        }
                        if (b > n) b = n;
                    } else {
                        b = g;
                        a = b - 1;
                        while (a >= 0 && keys[a] >= q) {
                            b = a;
                            step *= 2;
                            a = b - step;
                        }
                        if (a < -1) a = -1;
                    }
                }
                if (a + 1 == b) {
                    lo[k0 + l] = b;
                    continue;
                }
                base[open] = keys + a + 1;
                len[open] = b - a - 1;
                qs[open] = q;
                slot[open] = k0 + l;
                if (len[open] > widest) widest = len[open];
                open++;
            }
            /* The halving of lower_bound, from the other side so that a lane already down to one
             * key (half 0) reads inside its range and stays put. */
            for (; widest > 1; widest -= widest >> 1) {
                for (int64_t l = 0; l < open; l++) {
                    int64_t half = len[l] >> 1;
                    base[l] = base[l][half] < qs[l] ? base[l] + half : base[l];
                    len[l] -= half;
                }
            }
            for (int64_t l = 0; l < open; l++) lo[slot[l]] = (base[l] - keys) + (*base[l] < qs[l]);
            for (int64_t k = k0; k < k0 + lanes; k++) {
                int64_t i = at[k];
                uint64_t q = queries[i < 0 ? i + queries_n : i];
                int64_t e = lo[k];
                while (e < n && keys[e] == q) e++;
                hi[k] = e;
            }
        }
    }
}

/* The entries j of the sorted queries[0..m) whose paragraph order[j] mod n has slot >= 0, in
 * order, into keys and slots. Indexes as numpy does (a negative slot index counts from the end).
 * Returns their count, or -1 when a paragraph lies outside slot[0..slots_n). */
int64_t dedup_select_sorted(const uint64_t *queries, const int64_t *order, int64_t m, int64_t n,
                            const int64_t *slot, int64_t slots_n, uint64_t *keys, int64_t *slots) {
    int64_t count = 0;
    for (int64_t j = 0; j < m; j++) {
        int64_t column = n == -1 ? 0 : order[j] % n; /* INT64_MIN % -1 traps */
        if (column != 0 && (column < 0) != (n < 0)) column += n; /* Python's modulo */
        if (column >= slots_n || column < -slots_n) return -1;
        int64_t k = slot[column < 0 ? column + slots_n : column];
        if (k >= 0) {
            keys[count] = queries[j];
            slots[count++] = k;
        }
    }
    return count;
}

/* Merge src[lo..mid) and src[mid..hi) into dst[lo..hi); on equal keys the first run's come first. */
static void merge_two(const uint64_t *src_keys, const uint64_t *src_pids, int64_t lo, int64_t mid,
                      int64_t hi, uint64_t *dst_keys, uint64_t *dst_pids) {
    int64_t i = lo, j = mid, o = lo;
    while (i < mid && j < hi) {
        if (src_keys[j] < src_keys[i]) {
            dst_keys[o] = src_keys[j];
            dst_pids[o++] = src_pids[j++];
        } else {
            dst_keys[o] = src_keys[i];
            dst_pids[o++] = src_pids[i++];
        }
    }
    memcpy(dst_keys + o, src_keys + i, (mid - i) * sizeof(uint64_t));
    memcpy(dst_pids + o, src_pids + i, (mid - i) * sizeof(uint64_t));
    o += mid - i;
    memcpy(dst_keys + o, src_keys + j, (hi - j) * sizeof(uint64_t));
    memcpy(dst_pids + o, src_pids + j, (hi - j) * sizeof(uint64_t));
}

/* Merge the sorted runs keys[edges[r]..edges[r + 1]) (pids beside them), r < runs, into out,
 * adjacent runs two at a time, level by level. The levels alternate between out and tmp,
 * starting with the one that makes the last level land in out; the first level reads the input
 * itself, which is left as it is. edges (runs + 1 of them) is overwritten. */
void dedup_merge_runs(const uint64_t *keys, const uint64_t *pids, int64_t *edges, int64_t runs,
                      uint64_t *out_keys, uint64_t *out_pids, uint64_t *tmp_keys,
                      uint64_t *tmp_pids) {
    int64_t n = edges[runs] - edges[0];
    int levels = 0;
    for (int64_t r = runs; r > 1; r = (r + 1) / 2) levels++;
    if (levels == 0) {
        memcpy(out_keys, keys, n * sizeof(uint64_t));
        memcpy(out_pids, pids, n * sizeof(uint64_t));
        return;
    }
    const uint64_t *src_keys = keys, *src_pids = pids;
    int64_t count = runs;
    for (int level = 1; level <= levels; level++) {
        int into_out = (levels - level) % 2 == 0;
        uint64_t *dst_keys = into_out ? out_keys : tmp_keys;
        uint64_t *dst_pids = into_out ? out_pids : tmp_pids;
        /* Merged run k starts at edges[2k]: written in place, never ahead of what is read. */
        int64_t k = 0;
        for (int64_t r = 0; r + 1 < count; r += 2) {
            merge_two(src_keys, src_pids, edges[r], edges[r + 1], edges[r + 2], dst_keys, dst_pids);
            edges[k++] = edges[r];
        }
        if (count % 2) {
            int64_t lo = edges[count - 1];
            memcpy(dst_keys + lo, src_keys + lo, (edges[count] - lo) * sizeof(uint64_t));
            memcpy(dst_pids + lo, src_pids + lo, (edges[count] - lo) * sizeof(uint64_t));
            edges[k++] = lo;
        }
        edges[k] = edges[count];
        count = k;
        src_keys = dst_keys;
        src_pids = dst_pids;
    }
}
