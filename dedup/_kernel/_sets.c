/* Signatures and exact sets: MinHash rows and LSH band keys, and the sorted unique 64-bit
 * shingle hashes that verification compares exactly. */
#include "common.h"
#include "kernels.h"

/* Permutations minimised together: their running minima stay in vector registers while every
 * shingle of the paragraph passes (8 ymm or 4 zmm registers), instead of going through memory
 * once per shingle. */
#define BLOCK 64

static inline int64_t min64(int64_t x, int64_t y) { return x < y ? x : y; }
static inline int64_t max64(int64_t x, int64_t y) { return x > y ? x : y; }

/* Paragraph k of a chunk: rows[k], or k itself when there is no row list. */
static inline int64_t row_at(const int64_t *rows, int64_t k) { return rows ? rows[k] : k; }

/* The longest of paragraphs rows[lo..hi), in bytes: the scratch a chunk needs. */
static int64_t longest_of(const int64_t *offsets, const int64_t *rows, int64_t lo, int64_t hi) {
    int64_t longest = 0;
    for (int64_t k = lo; k < hi; k++) {
        int64_t i = row_at(rows, k);
        longest = max64(longest, offsets[i + 1] - offsets[i]);
    }
    return longest;
}

/* The byte bounds of the shingles of data[start:end] into starts/ends (room for end - start + 1
 * each); returns how many. kind 0 is words (separated by one space), anything else characters.
 * A paragraph of at most n units is one shingle, the whole of it. */
static int64_t shingle_bounds(const uint8_t *data, int64_t start, int64_t end, int64_t kind, int64_t n,
                              int64_t *starts, int64_t *ends) {
    if (end <= start) return 0;
    /* Branch-free: every byte stores a candidate start and advances past it only at a unit
     * boundary, so word lengths cost no mispredicted branch (the last store lands in the spare
     * entry). */
    int64_t units = 0;
    if (kind == 0) {
        starts[units++] = start;
        for (int64_t p = start; p < end; p++) {
            starts[units] = p + 1;
            units += data[p] == 32;
        }
    } else {
        for (int64_t p = start; p < end; p++) {
            starts[units] = p;
            units += (data[p] & 0xC0) != 0x80;
        }
    }
    if (units <= n) {
        starts[0] = start;
        ends[0] = end;
        return 1;
    }
    int64_t count = units - n + 1;
    /* A word shingle ends before the space after its last word, a character shingle where the
     * next character starts. */
    int64_t gap = kind == 0 ? 1 : 0;
    for (int64_t i = 0; i + n < units; i++) ends[i] = starts[i + n] - gap;
    ends[count - 1] = end;
    return count;
}

/* How many shingles shingle_bounds finds in data[start:end], without finding them. */
static int64_t shingle_count(const uint8_t *data, int64_t start, int64_t end, int64_t kind, int64_t n) {
    if (end <= start) return 0;
    int64_t units = 0;
    if (kind == 0) {
        units = 1;
        for (int64_t p = start; p < end; p++) units += data[p] == 32;
    } else {
        for (int64_t p = start; p < end; p++) units += (data[p] & 0xC0) != 0x80;
    }
    return units <= n ? 1 : units - n + 1;
}

/* row[k] = min over s < count of (a[k] * mixed[s] + b[k]) mod 2**32 (all ones for no shingles).
 * The hot loop of every signature. The baseline x86-64 target has no unsigned 32-bit vector
 * minimum (pminud), so the loader picks, once, a clone built for AVX2 or AVX-512 on the CPUs that
 * have one (GCC function multiversioning); the baseline clone serves the others. */
/* ifunc dispatch needs an ELF C library that has it: glibc or FreeBSD's (musl has none). */
#if defined(__has_attribute)
#if __has_attribute(target_clones)
#define HAVE_TARGET_CLONES 1
#endif
#endif
#if defined(__x86_64__) && defined(__ELF__) && defined(HAVE_TARGET_CLONES) && (defined(__GLIBC__) || defined(__FreeBSD__))
#define VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VECTOR_CLONES /* no ifunc dispatch here: the build target alone */
#endif

VECTOR_CLONES
static void minimise(const uint32_t *mixed, int64_t count, const uint32_t *restrict a,
                     const uint32_t *restrict b, uint32_t *restrict row, int64_t perms) {
    int64_t k0 = 0;
    for (; k0 + BLOCK <= perms; k0 += BLOCK) {
        uint32_t low[BLOCK];
        for (int j = 0; j < BLOCK; j++) low[j] = 0xFFFFFFFFu;
        for (int64_t s = 0; s < count; s++) {
            uint32_t h = mixed[s];
            for (int j = 0; j < BLOCK; j++) {
                uint32_t v = a[k0 + j] * h + b[k0 + j];
                low[j] = v < low[j] ? v : low[j];
            }
        }
        for (int j = 0; j < BLOCK; j++) row[k0 + j] = low[j];
    }
    for (int64_t k = k0; k < perms; k++) row[k] = 0xFFFFFFFFu;
    for (int64_t s = 0; s < count; s++) {
        uint32_t h = mixed[s];
        for (int64_t k = k0; k < perms; k++) {
            uint32_t v = a[k] * h + b[k];
            row[k] = v < row[k] ? v : row[k];
        }
    }
}

/* row = the MinHash of data[start:end] under datasketch's affine32 scheme: for every shingle
 * h = fmix32(xxh32(shingle)), minimised over the permutations. All shingles are hashed before
 * any is minimised, so the vector loop runs undisturbed. */
static void signature(const uint8_t *data, int64_t start, int64_t end, int64_t kind, int64_t n,
                      const uint32_t *a, const uint32_t *b, int64_t perms, int64_t *starts,
                      int64_t *ends, uint32_t *mixed, uint32_t *row) {
    int64_t count = shingle_bounds(data, start, end, kind, n, starts, ends);
    for (int64_t s = 0; s < count; s++) mixed[s] = fmix32(xxh32(data, starts[s], ends[s], 0));
    minimise(mixed, count, a, b, row, perms);
}

static inline uint64_t band_key(const uint32_t *row, int64_t band, int64_t rows) {
    uint64_t h = 0xCBF29CE484222325ull ^ (uint64_t)band;
    for (int64_t r = band * rows; r < (band + 1) * rows; r++) {
        h = (h ^ row[r]) * 0x100000001B3ull;
        h ^= h >> 29;
    }
    h = (h ^ (h >> 32)) * 0xD6E8FEB86659FD93ull;
    return h ^ (h >> 32);
}

/* Scratch for the shingles of a chunk whose longest paragraph has `longest` bytes; `sets` adds
 * the buffers that sort_unique needs. */
typedef struct {
    int64_t *starts, *ends;
    uint32_t *mixed, *row;
    uint64_t *spread;
    int64_t *buckets;
} Scratch;

/* Buckets for a bucket sort of `count` hashes: about one per hash, at most 2**20. */
static int bucket_bits(int64_t count) {
    int bits = 1;
    while (bits < 20 && ((int64_t)1 << bits) < count) bits++;
    return bits;
}

static int scratch_get(Scratch *s, int64_t longest, int64_t perms, int sets) {
    s->starts = malloc((longest + 1) * sizeof(int64_t));
    s->ends = malloc((longest + 1) * sizeof(int64_t));
    s->mixed = malloc((longest + 1) * sizeof(uint32_t));
    s->row = malloc((perms > 0 ? perms : 1) * sizeof(uint32_t));
    s->spread = sets ? malloc((longest + 1) * sizeof(uint64_t)) : NULL;
    s->buckets = sets ? malloc((((int64_t)1 << bucket_bits(longest + 1)) + 1) * sizeof(int64_t)) : NULL;
    return s->starts && s->ends && s->mixed && s->row && (!sets || (s->spread && s->buckets));
}

static void scratch_free(Scratch *s) {
    free(s->starts);
    free(s->ends);
    free(s->mixed);
    free(s->row);
    free(s->spread);
    free(s->buckets);
}

/* A chunk that found no memory is left undone and flagged; the wrapper raises MemoryError. */
static void flag(int64_t *failed) { __atomic_store_n(failed, 1, __ATOMIC_RELAXED); }

/* sig[i] (perms values) = the signature of paragraph i, for chunks of paragraphs. */
void dedup_minhash(const uint8_t *data, const int64_t *offsets, int64_t npara, int64_t kind,
                   int64_t n, const uint32_t *a, const uint32_t *b, int64_t perms,
                   uint32_t *sig, int64_t *failed, int64_t *cursor) {
    int64_t chunks = (npara + CHUNK - 1) / CHUNK;
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        int64_t lo = c * CHUNK, hi = min64(npara, lo + CHUNK);
        Scratch s;
        if (scratch_get(&s, longest_of(offsets, NULL, lo, hi), perms, 0)) {
            for (int64_t i = lo; i < hi; i++)
                signature(data, offsets[i], offsets[i + 1], kind, n, a, b, perms, s.starts, s.ends,
                          s.mixed, sig + i * perms);
        } else {
            flag(failed);
        }
        scratch_free(&s);
    }
}

/* keys[band * m + k] = the low 32 bits of band `band`'s key of paragraph rows[k]; the signature
 * lives only in the chunk's scratch row. */
void dedup_minhash_band_keys(const uint8_t *data, const int64_t *offsets, const int64_t *rows,
                             int64_t m, int64_t kind, int64_t n, const uint32_t *a,
                             const uint32_t *b, int64_t perms, int64_t bands,
                             int64_t rows_per_band, uint32_t *keys, int64_t *failed,
                             int64_t *cursor) {
    int64_t chunks = (m + CHUNK - 1) / CHUNK;
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        int64_t lo = c * CHUNK, hi = min64(m, lo + CHUNK);
        Scratch s;
        if (scratch_get(&s, longest_of(offsets, rows, lo, hi), perms, 0)) {
            for (int64_t k = lo; k < hi; k++) {
                int64_t i = rows[k];
                signature(data, offsets[i], offsets[i + 1], kind, n, a, b, perms, s.starts, s.ends,
                          s.mixed, s.row);
                for (int64_t band = 0; band < bands; band++)
                    keys[band * m + k] = (uint32_t)band_key(s.row, band, rows_per_band);
            }
        } else {
            flag(failed);
        }
        scratch_free(&s);
    }
}

/* keys[band * nsig + i] = band `band`'s key of signature i (sig rows of `perms` values). */
void dedup_band_keys(const uint32_t *sig, int64_t nsig, int64_t perms, int64_t bands,
                     int64_t rows_per_band, uint64_t *keys, int64_t *cursor) {
    int64_t chunks = (nsig + CHUNK - 1) / CHUNK;
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        int64_t hi = min64(nsig, (c + 1) * CHUNK);
        for (int64_t i = c * CHUNK; i < hi; i++)
            for (int64_t band = 0; band < bands; band++)
                keys[band * nsig + i] = band_key(sig + i * perms, band, rows_per_band);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Exact sets: sorted unique 64-bit shingle hashes. */

static void insertion_sort(uint64_t *v, int64_t count) {
    for (int64_t x = 1; x < count; x++) {
        uint64_t value = v[x];
        int64_t y = x - 1;
        while (y >= 0 && v[y] > value) {
            v[y + 1] = v[y];
            y--;
        }
        v[y + 1] = value;
    }
}

static void sift_down(uint64_t *v, int64_t root, int64_t count) {
    for (;;) {
        int64_t child = 2 * root + 1;
        if (child >= count) return;
        if (child + 1 < count && v[child + 1] > v[child]) child++;
        if (v[root] >= v[child]) return;
        uint64_t t = v[root];
        v[root] = v[child];
        v[child] = t;
        root = child;
    }
}

static void heap_sort(uint64_t *v, int64_t count) {
    for (int64_t i = count / 2 - 1; i >= 0; i--) sift_down(v, i, count);
    for (int64_t end = count - 1; end > 0; end--) {
        uint64_t t = v[0];
        v[0] = v[end];
        v[end] = t;
        sift_down(v, 0, end);
    }
}

/* Introsort, for sets whose hashes crowd into few buckets (see sort_unique); the depth limit
 * keeps crafted inputs from the quadratic case. */
static void sort_u64(uint64_t *v, int64_t count, int depth) {
    while (count > 32) {
        if (depth-- == 0) {
            heap_sort(v, count);
            return;
        }
        uint64_t x = v[0], y = v[count / 2], z = v[count - 1];
        uint64_t pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        int64_t i = 0, j = count - 1;
        for (;;) {
            while (v[i] < pivot) i++;
            while (v[j] > pivot) j--;
            if (i >= j) break;
            uint64_t t = v[i];
            v[i] = v[j];
            v[j] = t;
            i++;
            j--;
        }
        /* [0, j] <= pivot <= [j + 1, count): recurse into the smaller side. */
        int64_t left = j + 1;
        if (left < count - left) {
            sort_u64(v, left, depth);
            v += left;
            count -= left;
        } else {
            sort_u64(v + left, count - left, depth);
            count = left;
        }
    }
    insertion_sort(v, count);
}

/* Sets up to this size are insertion sorted in place. */
#define SMALL_SET 16

/* Sort v[0..count) and move its distinct values to the front; returns how many. `spread` and
 * `buckets` are scratch for count values and 2**bucket_bits(count) + 1 bucket bounds.
 *
 * The hashes are uniform, so a larger set is bucket sorted on its top bits (a bucket holds about
 * one value) and an insertion sort then puts each bucket in order: a few predictable passes, where
 * a comparison sort mispredicts about every other comparison. Should the buckets be crowded after
 * all (text crafted to collide), a budget on the insertion sort's moves hands the rest to
 * introsort. */
static int64_t sort_unique(uint64_t *v, int64_t count, uint64_t *spread, int64_t *buckets) {
    uint64_t *sorted = v;
    if (count <= SMALL_SET) {
        insertion_sort(v, count);
    } else {
        int bits = bucket_bits(count);
        int shift = 64 - bits;
        int64_t nb = (int64_t)1 << bits;
        memset(buckets, 0, (nb + 1) * sizeof(int64_t));
        for (int64_t s = 0; s < count; s++) buckets[(v[s] >> shift) + 1]++;
        for (int64_t b = 0; b < nb; b++) buckets[b + 1] += buckets[b];
        for (int64_t s = 0; s < count; s++) spread[buckets[v[s] >> shift]++] = v[s];
        int64_t budget = 8 * count;
        for (int64_t x = 1; x < count; x++) {
            uint64_t value = spread[x];
            int64_t y = x - 1;
            while (y >= 0 && spread[y] > value) {
                spread[y + 1] = spread[y];
                y--;
            }
            spread[y + 1] = value;
            budget -= x - 1 - y;
            if (budget < 0) {
                int depth = 0;
                for (int64_t c = count; c > 1; c >>= 1) depth += 2;
                sort_u64(spread, count, depth);
                break;
            }
        }
        sorted = spread;
    }
    if (count == 0) return 0;
    uint64_t last = sorted[0];
    v[0] = last;
    int64_t unique = 1;
    for (int64_t s = 1; s < count; s++) {
        uint64_t value = sorted[s]; /* read before v[unique] is written: sorted may be v */
        v[unique] = value;
        unique += value != last;
        last = value;
    }
    return unique;
}

/* room[k + 1] = the shingle count of paragraph rows[k], for chunks of paragraphs: the room its
 * hashes take in the scratch buffer before they are made unique. Counting first costs a pass over
 * the text but sizes the scratch to the shingles, not to the bytes (several times larger, and
 * every page of it zeroed by the kernel on first touch). */
void dedup_shingle_counts(const uint8_t *data, const int64_t *offsets, const int64_t *rows,
                          int64_t m, int64_t kind, int64_t n, int64_t *room, int64_t *cursor) {
    int64_t chunks = (m + CHUNK - 1) / CHUNK;
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        int64_t hi = min64(m, (c + 1) * CHUNK);
        for (int64_t k = c * CHUNK; k < hi; k++)
            room[k + 1] = shingle_count(data, offsets[rows[k]], offsets[rows[k] + 1], kind, n);
    }
}

/* The sorted unique shingle hashes of paragraph rows[k] into scratch[upper[k]:upper[k + 1]] (room
 * for all its shingles, from dedup_shingle_counts), their count into sizes[k]. */
void dedup_shingle_sets(const uint8_t *data, const int64_t *offsets, const int64_t *rows,
                        int64_t m, int64_t kind, int64_t n, const int64_t *upper,
                        uint64_t *scratch, int64_t *sizes, int64_t *failed, int64_t *cursor) {
    int64_t chunks = (m + CHUNK - 1) / CHUNK;
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        int64_t lo = c * CHUNK, hi = min64(m, lo + CHUNK);
        Scratch s;
        if (scratch_get(&s, longest_of(offsets, rows, lo, hi), 0, 1)) {
            for (int64_t k = lo; k < hi; k++) {
                int64_t i = rows[k];
                int64_t count = shingle_bounds(data, offsets[i], offsets[i + 1], kind, n, s.starts, s.ends);
                uint64_t *set = scratch + upper[k];
                for (int64_t t = 0; t < count; t++) set[t] = hash64(data, s.starts[t], s.ends[t]);
                sizes[k] = sort_unique(set, count, s.spread, s.buckets);
            }
        } else {
            flag(failed);
        }
        scratch_free(&s);
    }
}

/* dedup_minhash_band_keys (with 64-bit keys) and dedup_shingle_sets in one pass: each shingle's
 * bounds are found once, for its xxHash32 (the signature) and its XXH64 (the set). */
void dedup_hash_rows(const uint8_t *data, const int64_t *offsets, const int64_t *rows,
                     int64_t m, int64_t kind, int64_t n, const uint32_t *a, const uint32_t *b,
                     int64_t perms, int64_t bands, int64_t rows_per_band, uint64_t *keys,
                     const int64_t *upper, uint64_t *scratch, int64_t *sizes, int64_t *failed,
                     int64_t *cursor) {
    int64_t chunks = (m + CHUNK - 1) / CHUNK;
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        int64_t lo = c * CHUNK, hi = min64(m, lo + CHUNK);
        Scratch s;
        if (scratch_get(&s, longest_of(offsets, rows, lo, hi), perms, 1)) {
            for (int64_t k = lo; k < hi; k++) {
                int64_t i = rows[k];
                int64_t count = shingle_bounds(data, offsets[i], offsets[i + 1], kind, n, s.starts, s.ends);
                uint64_t *set = scratch + upper[k];
                for (int64_t t = 0; t < count; t++) {
                    set[t] = hash64(data, s.starts[t], s.ends[t]);
                    s.mixed[t] = fmix32(xxh32(data, s.starts[t], s.ends[t], 0));
                }
                minimise(s.mixed, count, a, b, s.row, perms);
                for (int64_t band = 0; band < bands; band++)
                    keys[band * m + k] = band_key(s.row, band, rows_per_band);
                sizes[k] = sort_unique(set, count, s.spread, s.buckets);
            }
        } else {
            flag(failed);
        }
        scratch_free(&s);
    }
}

/* hashes[set_offsets[k]:set_offsets[k + 1]] = the first values of scratch[upper[k]:], for chunks
 * of sets: the unique hashes of each set packed end to end. */
void dedup_pack_sets(const uint64_t *scratch, const int64_t *upper, const int64_t *set_offsets,
                     int64_t m, uint64_t *hashes, int64_t *cursor) {
    int64_t chunks = (m + CHUNK - 1) / CHUNK;
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        int64_t hi = min64(m, (c + 1) * CHUNK);
        for (int64_t k = c * CHUNK; k < hi; k++)
            memcpy(hashes + set_offsets[k], scratch + upper[k],
                   (set_offsets[k + 1] - set_offsets[k]) * sizeof(uint64_t));
    }
}

/* Exact Jaccard and containment of the sorted sets left[p] and right[p], for chunks of pairs;
 * 0 when either set is empty. */
void dedup_set_similarities(const uint64_t *hashes, const int64_t *set_offsets,
                            const int64_t *left, const int64_t *right, int64_t m,
                            double *jaccard, double *containment, int64_t *cursor) {
    int64_t chunks = (m + PAIR_CHUNK - 1) / PAIR_CHUNK;
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        int64_t hi = min64(m, (c + 1) * PAIR_CHUNK);
        for (int64_t p = c * PAIR_CHUNK; p < hi; p++) {
            int64_t i0 = set_offsets[left[p]], i1 = set_offsets[left[p] + 1];
            int64_t j0 = set_offsets[right[p]], j1 = set_offsets[right[p] + 1];
            int64_t na = i1 - i0, nb = j1 - j0;
            jaccard[p] = 0.0;
            containment[p] = 0.0;
            if (na == 0 || nb == 0) continue;
            int64_t inter = 0;
            while (i0 < i1 && j0 < j1) {
                uint64_t x = hashes[i0], y = hashes[j0];
                inter += x == y;
                i0 += x <= y;
                j0 += y <= x;
            }
            jaccard[p] = (double)inter / (double)(na + nb - inter);
            containment[p] = (double)inter / (double)min64(na, nb);
        }
    }
}
