/* Reuse matching (dedup/reuse.py): word n-grams of normalized paragraphs, the n-grams found in
 * earlier documents (hits), hits chained into runs and the sources that cover a paragraph, and
 * word numbers mapped back to characters.
 *
 * Normalized text has one space between words and none at either end, so a paragraph of w
 * words has w - n + 1 n-grams of n words (none when w < n). Each word is hashed (hash64 of its
 * bytes), and each n-gram's hash mixes its words' hashes in order. */
#include "common.h"
#include "kernels.h"

/* words[k] = the number of words of paragraph rows[k], for chunks of rows. */
void dedup_word_counts(const uint8_t *data, const int64_t *offsets, const int64_t *rows,
                       int64_t m, int64_t *words, int64_t *cursor) {
    int64_t chunks = (m + CHUNK - 1) / CHUNK;
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        int64_t hi = (c + 1) * CHUNK < m ? (c + 1) * CHUNK : m;
        for (int64_t k = c * CHUNK; k < hi; k++) {
            int64_t a = offsets[rows[k]], b = offsets[rows[k] + 1], count = a < b;
            for (int64_t p = a; p < b; p++) count += data[p] == ' ';
            words[k] = count;
        }
    }
}

static const uint64_t MIX[4] = {0x9E3779B97F4A7C15ull, 0xC2B2AE3D27D4EB4Full, 0x165667B19E3779F9ull,
                                0x27D4EB2F165667C5ull};

/* The hashes of the n-grams of words[0..count), each n hashes of words in a row, to hashes
 * (and their first words, from `word` on, to starts). The n-grams' hashes do not depend on
 * each other, so the processor works on several at once. */
static void ngram_hashes(const uint64_t *words, int64_t count, int64_t n, int64_t word,
                         uint64_t *hashes, int32_t *starts) {
    for (int64_t j = 0; j + n <= count; j++) {
        uint64_t h = 0;
        for (int64_t i = 0; i < n; i++) {
            h = (h ^ words[j + i]) * MIX[i & 3];
            h ^= h >> 29;
        }
        hashes[j] = h;
        starts[j] = (int32_t)(word + j);
    }
}

/* Words hashed at a time, before their n-grams are. */
#define WORD_BLOCK 256

/* The n-grams of paragraphs rows[0..m): those of rows[k] go to hashes/starts from
 * first[k] on (first: prefix sums of max(0, words - n + 1)), starts[j] being the n-gram's
 * first word in its paragraph. For chunks of rows. */
void dedup_word_ngrams(const uint8_t *data, const int64_t *offsets, const int64_t *rows,
                       int64_t m, int64_t n, const int64_t *first, uint64_t *hashes,
                       int32_t *starts, int64_t *cursor) {
    int64_t chunks = (m + CHUNK - 1) / CHUNK;
    /* The hashes of the words not yet in an n-gram's hash: those of words held_first on. */
    uint64_t held[WORD_BLOCK + MAX_NGRAM];
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        int64_t hi = (c + 1) * CHUNK < m ? (c + 1) * CHUNK : m;
        for (int64_t k = c * CHUNK; k < hi; k++) {
            int64_t a = offsets[rows[k]], b = offsets[rows[k] + 1], out = first[k];
            int64_t held_first = 0, count = 0;
            for (int64_t p = a; p < b;) {
                int64_t e = p;
                while (e < b && data[e] != ' ') e++;
                held[count++] = hash64(data, p, e);
                p = e + 1;
                if (count == WORD_BLOCK + MAX_NGRAM || p >= b) {
                    /* The n-grams of the words held, and the last n - 1 words kept for the
                     * n-grams that go on past them. */
                    ngram_hashes(held, count, n, held_first, hashes + out, starts + out);
                    int64_t done = count >= n ? count - n + 1 : 0;
                    out += done;
                    held_first += done;
                    memmove(held, held + done, (size_t)(count - done) * sizeof(uint64_t));
                    count -= done;
                }
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Hits: the n-grams of a paragraph found in earlier documents.
 *
 * The n-grams are spread over buckets by the top bits of their hash (bucket_counts, then
 * bucket_scatter, each over chunks of n-grams, so a bucket holds its n-grams in input order);
 * then each bucket finds its repeated hashes with a small hash table that stays in cache
 * (bucket_groups), keeps the occurrences that count and says how many hits they make, and last
 * writes the hits (bucket_hits). Each bucket's entries are (hash, k << 32 | word): the n-gram's
 * row k (of rows) and its first word in that row; after bucket_groups, (document, the same), the
 * first entry of each n-gram's group flagged. */

typedef struct {
    uint64_t key;
    uint64_t value;
} entry;

#define GROUP_HEAD (1ull << 63)

/* counts[c * buckets + b] = the n-grams of chunk c (of `chunk` n-grams) in bucket b (the top
 * bits of the hash, hash >> shift); counts zeroed by the caller. */
void dedup_bucket_counts(const uint64_t *hashes, int64_t n, int64_t shift, int64_t chunk,
                         int64_t buckets, int64_t *counts, int64_t *cursor) {
    int64_t chunks = (n + chunk - 1) / chunk;
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        int64_t *count = counts + c * buckets;
        int64_t hi = (c + 1) * chunk < n ? (c + 1) * chunk : n;
        for (int64_t i = c * chunk; i < hi; i++) count[hashes[i] >> shift]++;
    }
}

/* Each n-gram i to its bucket, as an entry (two words of entries): at[c * buckets + b] is where
 * chunk c's n-grams of bucket b go (each chunk after the chunks before it, so a bucket is in
 * input order). The n-grams of row k are first[k]:first[k + 1] (first has m + 1 entries). */
void dedup_bucket_scatter(const uint64_t *hashes, const int32_t *starts, const int64_t *first,
                          int64_t m, int64_t n, int64_t shift, int64_t chunk, int64_t buckets,
                          int64_t *at, uint64_t *entries, int64_t *cursor) {
    entry *out = (entry *)entries;
    int64_t chunks = (n + chunk - 1) / chunk;
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        int64_t *next = at + c * buckets;
        int64_t lo = c * chunk, hi = (c + 1) * chunk < n ? (c + 1) * chunk : n;
        /* The row of n-gram lo: the last k with first[k] <= lo. */
        int64_t a = 0, b = m;
        while (b - a > 1) {
            int64_t mid = (a + b) / 2;
            if (first[mid] <= lo) a = mid;
            else b = mid;
        }
        int64_t k = a;
        for (int64_t i = lo; i < hi; i++) {
            while (first[k + 1] <= i) k++;
            entry *e = &out[next[hashes[i] >> shift]++];
            e->key = hashes[i];
            e->value = (uint64_t)k << 32 | (uint32_t)starts[i];
        }
    }
}

/* For buckets b (entries bounds[b]:bounds[b + 1], at most `largest`): the n-grams that occur
 * more than once, each with its first max_repeats occurrences in each document (row_doc[k]:
 * the document of row k; documents follow each other in input order), and only those found in
 * 2 to max_doc_freq documents. Their entries are written back at the start of the bucket,
 * grouped by n-gram and in input order within a group, as (document, value), the first of each
 * group flagged GROUP_HEAD; kept[b] counts them, hits[b] the hits they make (each occurrence with
 * every occurrence of the documents before its own). Sets *failed when scratch memory runs
 * out. */
void dedup_bucket_groups(uint64_t *entries, const int64_t *bounds, int64_t buckets,
                         const int64_t *row_doc, int64_t max_repeats, int64_t max_doc_freq,
                         int64_t largest, int64_t *kept, int64_t *hits, int64_t *failed,
                         int64_t *cursor) {
    int64_t chunks = (buckets + BUCKET_CHUNK - 1) / BUCKET_CHUNK;
    int64_t size = 16;
    while (size < 2 * largest) size *= 2;
    /* The hash table: a slot holds the low 32 bits of a hash (the bucket's entries share their
     * top bits) and its first entry + 1 (0: empty), in 8 bytes, so that the table of a bucket
     * stays in the cache; a match of those bits is checked against the whole hash. An entry's
     * next[i] chains the occurrences of its hash (-1 ends a chain); tail[head] is a chain's
     * last, and -1 for an entry that heads no chain of two or more. */
    uint64_t *slot = NULL;
    entry *out = NULL;
    int32_t *next = NULL, *tail = NULL;
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        if (!slot) {
            slot = malloc((size_t)size * sizeof(uint64_t));
            out = malloc((size_t)(largest + 1) * sizeof(entry));
            next = malloc((size_t)(largest + 1) * sizeof(int32_t));
            tail = malloc((size_t)(largest + 1) * sizeof(int32_t));
            if (!slot || !out || !next || !tail) {
                __atomic_store_n(failed, 1, __ATOMIC_RELAXED);
                break;
            }
        }
        int64_t last = (c + 1) * BUCKET_CHUNK < buckets ? (c + 1) * BUCKET_CHUNK : buckets;
        for (int64_t b = c * BUCKET_CHUNK; b < last; b++) {
            entry *in = (entry *)entries + bounds[b];
            int32_t count = (int32_t)(bounds[b + 1] - bounds[b]);
            uint64_t mask = 15;
            while ((int64_t)mask + 1 < 2 * (int64_t)count) mask = mask * 2 + 1;
            memset(slot, 0, (size_t)(mask + 1) * sizeof(uint64_t));
            int repeated = 0;
            for (int32_t i = 0; i < count; i++) {
                uint64_t h = in[i].key, low = h & 0xFFFFFFFFull, s = (h >> 7) & mask;
                next[i] = -1;
                tail[i] = -1;
                for (;; s = (s + 1) & mask) {
                    uint64_t at = slot[s];
                    if (!at) {
                        slot[s] = low << 32 | (uint64_t)(i + 1);
                        break;
                    }
                    int32_t head = (int32_t)(at & 0xFFFFFFFFull) - 1;
                    if (at >> 32 == low && in[head].key == h) {
                        next[tail[head] < 0 ? head : tail[head]] = i;
                        tail[head] = i;
                        repeated = 1;
                        break;
                    }
                }
            }
            int64_t made = 0, done = 0;
            for (int32_t i = 0; repeated && i < count; i++) {
                if (tail[i] < 0) continue; /* alone, or not the first of its hash */
                int64_t docs = 0, doc = 0;
                for (int32_t e = i; e >= 0; e = next[e]) {
                    int64_t d = row_doc[in[e].value >> 32];
                    if (e == i || d != doc) docs++;
                    doc = d;
                }
                if (docs < 2 || docs > max_doc_freq) continue;
                int64_t group = done, run = done, rank = 0;
                for (int32_t e = i; e >= 0; e = next[e]) {
                    int64_t d = row_doc[in[e].value >> 32];
                    if (e == i || d != doc) {
                        run = done;
                        rank = 0;
                    }
                    doc = d;
                    if (rank++ < max_repeats) {
                        out[done].key = (uint64_t)d;
                        out[done].value = in[e].value | (e == i ? GROUP_HEAD : 0);
                        made += run - group;
                        done++;
                    }
                }
            }
            memcpy(in, out, (size_t)done * sizeof(entry));
            kept[b] = done;
            hits[b] = made;
        }
    }
    free(slot);
    free(out);
    free(next);
    free(tail);
}

/* The hits of buckets b, from what bucket_groups kept, from at[b] on: each occurrence with
 * every occurrence of the documents before its own in its group, as (row, word of the row,
 * source document, word of the source document); rows[k] is row k's row of the table and
 * row_before[k] the words of its document before it. */
void dedup_bucket_hits(const uint64_t *entries, const int64_t *bounds, const int64_t *kept,
                       const int64_t *at, int64_t buckets, const int64_t *rows,
                       const int64_t *row_before, int64_t *row, int64_t *pos, int64_t *source,
                       int64_t *source_word, int64_t *cursor) {
    int64_t chunks = (buckets + BUCKET_CHUNK - 1) / BUCKET_CHUNK;
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        int64_t last = (c + 1) * BUCKET_CHUNK < buckets ? (c + 1) * BUCKET_CHUNK : buckets;
        for (int64_t b = c * BUCKET_CHUNK; b < last; b++) {
            const entry *in = (const entry *)entries + bounds[b];
            int64_t w = at[b], group = 0, run = 0;
            for (int64_t j = 0; j < kept[b]; j++) {
                if (in[j].value & GROUP_HEAD) group = run = j;
                else if (in[j].key != in[j - 1].key) run = j;
                uint64_t v = in[j].value & ~GROUP_HEAD;
                int64_t target_row = rows[v >> 32], target_pos = (uint32_t)v;
                for (int64_t s = group; s < run; s++) {
                    uint64_t u = in[s].value & ~GROUP_HEAD;
                    row[w] = target_row;
                    pos[w] = target_pos;
                    source[w] = (int64_t)in[s].key;
                    source_word[w] = (int64_t)(uint32_t)u + row_before[u >> 32];
                    w++;
                }
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Coverage: hits chained into runs, and the sources that cover a paragraph (see the doc of
 * dedup/reuse.py for the rules). */

/* Items sorted by their keys, in order, stably. */
typedef struct {
    int64_t key[4];
    int64_t value;
} item;

static inline int item_before(const item *a, const item *b) {
    for (int i = 0; i < 4; i++)
        if (a->key[i] != b->key[i]) return a->key[i] < b->key[i];
    return 0;
}

/* Sorts items[0..n) stably, with tmp[0..n) as scratch. */
static void sort_items(item *items, item *tmp, int64_t n) {
    if (n <= 16) {
        for (int64_t i = 1; i < n; i++) {
            item x = items[i];
            int64_t j = i;
            while (j > 0 && item_before(&x, &items[j - 1])) {
                items[j] = items[j - 1];
                j--;
            }
            items[j] = x;
        }
        return;
    }
    int64_t half = n / 2;
    sort_items(items, tmp, half);
    sort_items(items + half, tmp, n - half);
    if (!item_before(&items[half], &items[half - 1])) return; /* already in order */
    memcpy(tmp, items, (size_t)half * sizeof(item));
    int64_t i = 0, j = half, o = 0;
    while (i < half && j < n) items[o++] = item_before(&items[j], &tmp[i]) ? items[j++] : tmp[i++];
    while (i < half) items[o++] = tmp[i++];
}

/* Words covered by the runs [first, stop) of spans[0..n), sorted by first. */
static int64_t union_words(const item *spans, int64_t n) {
    int64_t total = 0, reach = INT64_MIN;
    for (int64_t i = 0; i < n; i++) {
        int64_t first = spans[i].key[0] > reach ? spans[i].key[0] : reach;
        if (spans[i].key[1] > first) total += spans[i].key[1] - first;
        if (spans[i].key[1] > reach) reach = spans[i].key[1];
    }
    return total;
}

/* Merges the runs a[0..na) and b[0..nb), each sorted by (first, stop), into out. */
static int64_t merge_spans(const item *a, int64_t na, const item *b, int64_t nb, item *out) {
    int64_t i = 0, j = 0, o = 0;
    while (i < na && j < nb) out[o++] = item_before(&b[j], &a[i]) ? b[j++] : a[i++];
    while (i < na) out[o++] = a[i++];
    while (j < nb) out[o++] = b[j++];
    return o;
}

/* order[row_start[r]:row_start[r + 1]] = the hits of row r, in input order (row_start has
 * nrows + 1 entries, zeroed by the caller; every row[i] lies in [0, nrows)). */
void dedup_hits_by_row(const int64_t *row, int64_t n, int64_t nrows, int64_t *row_start,
                       int64_t *order) {
    for (int64_t i = 0; i < n; i++) row_start[row[i] + 1]++;
    for (int64_t r = 0; r < nrows; r++) row_start[r + 1] += row_start[r];
    for (int64_t i = 0; i < n; i++) order[row_start[row[i]]++] = i;
    for (int64_t r = nrows; r > 0; r--) row_start[r] = row_start[r - 1];
    row_start[0] = 0;
}

/* For chunks of rows r, the sources that cover row r from its hits (the hits
 * order[row_start[r]:row_start[r + 1]], of at most `largest`; hit i: the n-gram at word pos[i]
 * of the row is at word source_word[i] of document source[i]); words[r] is the row's number of
 * words. A row covered enough gets found[r] = its number of sources and covered[r] = the words
 * they cover; its sources go from index row_start[r] on in the source arrays, in the order
 * chosen (the document, the words it covers on its own and beyond those before it, its number
 * of runs), and their runs (sorted by first word) from the same index on in the run arrays
 * (there are at most half as many runs as hits). Other rows get found[r] = 0. Sets *failed
 * when scratch memory runs out. */
void dedup_cover_rows(const int64_t *pos, const int64_t *source, const int64_t *source_word,
                      const int64_t *order, const int64_t *row_start, int64_t nrows,
                      const int64_t *words, int64_t n, int64_t max_gap, int64_t max_drift,
                      int64_t min_run_words, int64_t max_sources, int64_t min_words,
                      double min_coverage, double min_source_coverage, int64_t largest,
                      int64_t *found, int64_t *covered, int64_t *source_id, int64_t *source_covered,
                      int64_t *source_added, int64_t *source_runs, int64_t *run_first,
                      int64_t *run_stop, int64_t *run_source_first, int64_t *run_source_stop,
                      int64_t *failed, int64_t *cursor) {
    int64_t chunks = (nrows + CHUNK - 1) / CHUNK;
    int64_t shortest = min_run_words > n ? min_run_words : n;
    int64_t floor = min_words > 1 ? min_words : 1;
    /* Scratch, each as long as a row's hits: the hits, then the runs over them; tmp, for
     * sorting, then the runs as spans (first, stop); the sources (groups); the spans of the
     * sources picked, and a merge of them with another's. */
    item *hits = NULL, *tmp = NULL, *chosen = NULL, *merged = NULL, *groups = NULL;
    int64_t size = largest + 1;
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        if (!hits) {
            hits = malloc((size_t)size * sizeof(item));
            tmp = malloc((size_t)size * sizeof(item));
            chosen = malloc((size_t)size * sizeof(item));
            merged = malloc((size_t)size * sizeof(item));
            groups = malloc((size_t)size * sizeof(item));
            if (!hits || !tmp || !chosen || !merged || !groups) {
                __atomic_store_n(failed, 1, __ATOMIC_RELAXED);
                break;
            }
        }
        int64_t last = (c + 1) * CHUNK < nrows ? (c + 1) * CHUNK : nrows;
        for (int64_t r = c * CHUNK; r < last; r++) {
            int64_t a = row_start[r], h = row_start[r + 1] - a, total = words[r];
            found[r] = 0;
            covered[r] = 0;
            if (h < 2) continue;
            /* Hits by source, offset (source word minus paragraph word) and position. */
            for (int64_t i = 0; i < h; i++) {
                int64_t k = order[a + i];
                item *x = &hits[i];
                x->key[0] = source[k];
                x->key[1] = source_word[k] - pos[k];
                x->key[2] = pos[k];
                x->key[3] = 0;
                x->value = 0;
            }
            sort_items(hits, tmp, h);
            /* Runs, written over the hits they start from (a run ends before the next
             * begins): key (source, first, stop, source first), value source stop. */
            int64_t runs = 0;
            for (int64_t i = 0; i < h;) {
                int64_t j = i + 1;
                while (j < h && hits[j].key[0] == hits[j - 1].key[0] &&
                       hits[j].key[1] - hits[j - 1].key[1] <= max_drift &&
                       hits[j].key[2] > hits[j - 1].key[2] &&
                       hits[j].key[2] - hits[j - 1].key[2] <= max_gap)
                    j++;
                int64_t first = hits[i].key[2], stop = hits[j - 1].key[2] + n;
                int64_t lo = INT64_MAX, hi = INT64_MIN;
                for (int64_t t = i; t < j; t++) {
                    int64_t word = hits[t].key[2] + hits[t].key[1];
                    if (word < lo) lo = word;
                    if (word > hi) hi = word;
                }
                if (stop - first >= shortest && j - i >= 2) {
                    item *run = &hits[runs++];
                    run->key[0] = hits[i].key[0];
                    run->key[1] = first;
                    run->key[2] = stop;
                    run->key[3] = lo;
                    run->value = hi + n;
                }
                i = j;
            }
            if (!runs) continue;
            /* A text that the source holds twice gives two runs over the same words: the one
             * that starts earlier in the source stands for both. */
            sort_items(hits, tmp, runs);
            int64_t distinct = 1;
            for (int64_t i = 1; i < runs; i++)
                if (hits[i].key[0] != hits[distinct - 1].key[0] || hits[i].key[1] != hits[distinct - 1].key[1] ||
                    hits[i].key[2] != hits[distinct - 1].key[2])
                    hits[distinct++] = hits[i];
            runs = distinct;
            /* Each source's runs as spans (first, stop) in tmp, and the words they cover; a
             * source is key (-words covered, document, end of its runs, words added once
             * picked), value its first run. */
            int64_t sources = 0;
            for (int64_t i = 0; i < runs;) {
                int64_t j = i;
                while (j < runs && hits[j].key[0] == hits[i].key[0]) {
                    tmp[j] = (item){{hits[j].key[1], hits[j].key[2], 0, 0}, 0};
                    j++;
                }
                groups[sources++] = (item){{-union_words(tmp + i, j - i), hits[i].key[0], j, 0}, i};
                i = j;
            }
            /* Ranked: most covering first, then by document (a stable sort keeps source
             * order). Only rows whose best few sources can reach the coverage go on. */
            sort_items(groups, merged, sources);
            int64_t reach = 0;
            for (int64_t g = 0; g < sources && g < max_sources; g++) reach -= groups[g].key[0];
            if (!((double)reach >= min_coverage * (double)total && total >= floor && reach >= floor)) continue;
            if ((double)(-groups[0].key[0]) < min_source_coverage * (double)total) continue;
            /* Greedy: the first pick covers most on its own; then the source that adds most
             * to those picked, while it adds enough. The picks move to the front of groups, in
             * the order picked (key[3]: the words each added), the others stay ranked. */
            int64_t have = -groups[0].key[0], npicked = 1;
            int64_t nchosen = groups[0].key[2] - groups[0].value;
            memcpy(chosen, tmp + groups[0].value, (size_t)nchosen * sizeof(item));
            groups[0].key[3] = have;
            while (npicked < max_sources && npicked < sources) {
                int64_t best = -1, best_gain = -1;
                for (int64_t g = npicked; g < sources; g++) {
                    int64_t count = merge_spans(chosen, nchosen, tmp + groups[g].value, groups[g].key[2] - groups[g].value, merged);
                    int64_t gain = union_words(merged, count) - have;
                    if (gain > best_gain) {
                        best_gain = gain;
                        best = g;
                    }
                }
                if ((double)best_gain < min_source_coverage * (double)total) break;
                item pick = groups[best];
                memmove(groups + npicked + 1, groups + npicked, (size_t)(best - npicked) * sizeof(item));
                nchosen = merge_spans(chosen, nchosen, tmp + pick.value, pick.key[2] - pick.value, merged);
                memcpy(chosen, merged, (size_t)nchosen * sizeof(item));
                have += best_gain;
                pick.key[3] = best_gain;
                groups[npicked++] = pick;
            }
            if ((double)have < min_coverage * (double)total || have < min_words) continue;
            found[r] = npicked;
            covered[r] = have;
            int64_t w = a;
            for (int64_t g = 0; g < npicked; g++) {
                int64_t start = groups[g].value, stop = groups[g].key[2];
                source_id[a + g] = groups[g].key[1];
                source_covered[a + g] = -groups[g].key[0];
                source_added[a + g] = groups[g].key[3];
                source_runs[a + g] = stop - start;
                for (int64_t i = start; i < stop; i++, w++) {
                    run_first[w] = hits[i].key[1];
                    run_stop[w] = hits[i].key[2];
                    run_source_first[w] = hits[i].key[3];
                    run_source_stop[w] = hits[i].value;
                }
            }
        }
    }
    free(hits);
    free(tmp);
    free(chosen);
    free(merged);
    free(groups);
}

/* ---------------------------------------------------------------------------------------------
 * Word numbers back to characters: each token of a paragraph (a run of bytes between ASCII
 * whitespace) gives its words its span. A token of ASCII letters and digits only is one word
 * (it is its own normalization, up to case); any other token is normalized on its own, by the
 * normalizer, to count its words. */

enum { SPACE_BYTE = 0, PLAIN_BYTE = 1, OTHER_BYTE = 2 };

/* The class of each byte, for loops that look at every byte of a paragraph. */
static const uint8_t BYTE_CLASS[256] = {
    2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 2, 2, /* 9-13: \t \n \v \f \r */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 32: space */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, /* 0-9 */
    2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* A-Z */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2,
    2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* a-z */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

/* The next token of src[p:end] from p on: its bytes [*start, returned end), and whether it is
 * plain (ASCII letters and digits only); *start == end when there is none. */
static inline int64_t next_token(const uint8_t *src, int64_t p, int64_t end, int64_t *start, int *plain) {
    while (p < end && BYTE_CLASS[src[p]] == SPACE_BYTE) p++;
    *start = p;
    int all = PLAIN_BYTE;
    uint8_t cls;
    while (p < end && (cls = BYTE_CLASS[src[p]]) != SPACE_BYTE) {
        all |= cls;
        p++;
    }
    *plain = all == PLAIN_BYTE;
    return p;
}

/* tokens[k] = the tokens of src[byte_start[rows[k]]:byte_end[rows[k]]] that are not plain
 * (those the normalizer must count the words of), for chunks of rows. */
void dedup_token_counts(const uint8_t *src, const int64_t *byte_start, const int64_t *byte_end,
                        const int64_t *rows, int64_t m, int64_t *tokens, int64_t *cursor) {
    int64_t chunks = (m + CHUNK - 1) / CHUNK;
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        int64_t hi = (c + 1) * CHUNK < m ? (c + 1) * CHUNK : m;
        for (int64_t k = c * CHUNK; k < hi; k++) {
            /* Without a branch per byte: a token is counted at its end (or the row's), when
             * it holds a byte that is not plain. */
            int64_t count = 0;
            unsigned other = 0;
            for (int64_t p = byte_start[rows[k]]; p < byte_end[rows[k]]; p++) {
                unsigned cls = BYTE_CLASS[src[p]], space = cls == SPACE_BYTE;
                count += space & other;
                other = (other & !space) | (cls == OTHER_BYTE);
            }
            tokens[k] = count + other;
        }
    }
}

/* The tokens of rows[k] that are not plain, as byte spans [token_start[j], token_end[j]) of
 * src, from token_first[k] on (prefix sums of dedup_token_counts), for chunks of rows. */
void dedup_token_spans(const uint8_t *src, const int64_t *byte_start, const int64_t *byte_end,
                       const int64_t *rows, int64_t m, const int64_t *token_first,
                       int64_t *token_start, int64_t *token_end, int64_t *cursor) {
    int64_t chunks = (m + CHUNK - 1) / CHUNK;
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        int64_t hi = (c + 1) * CHUNK < m ? (c + 1) * CHUNK : m;
        for (int64_t k = c * CHUNK; k < hi; k++) {
            int64_t j = token_first[k], p = byte_start[rows[k]], end = byte_end[rows[k]], start;
            int plain;
            while ((p = next_token(src, p, end, &start, &plain)) > start) {
                if (plain) continue;
                token_start[j] = start;
                token_end[j++] = p;
            }
        }
    }
}

/* The character span [word_start[w], word_end[w]) of each word of rows[k], from word_first[k]
 * on (words[k] of them), for chunks of rows. A plain token is one word; the others of the row
 * (token_first[k] on, those of dedup_token_spans) normalize to
 * norm[norm_offsets[j]:norm_offsets[j + 1]], which has as many words. Each token's words take
 * its span; characters are counted from the row's first byte, which is character
 * char_start[row]. Where the tokens do not give the row's number of words (normalization
 * joined across tokens, rarely), its words are spread evenly over the row's characters
 * char_start[row]:char_end[row]. Sets *failed when a row has more tokens that are not plain than
 * token_first gives it (tokens of other rows). */
void dedup_word_spans(const uint8_t *src, const int64_t *byte_start, const int64_t *byte_end,
                      const int64_t *char_start, const int64_t *char_end, const int64_t *rows,
                      int64_t m, const int64_t *words, const int64_t *token_first,
                      const uint8_t *norm, const int64_t *norm_offsets, const int64_t *word_first,
                      int64_t *word_start, int64_t *word_end, int64_t *failed, int64_t *cursor) {
    int64_t chunks = (m + CHUNK - 1) / CHUNK;
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        int64_t hi = (c + 1) * CHUNK < m ? (c + 1) * CHUNK : m;
        for (int64_t k = c * CHUNK; k < hi; k++) {
            int64_t r = rows[k], w = word_first[k], stop = word_first[k] + words[k];
            int64_t j = token_first[k], p = byte_start[r], end = byte_end[r], chars = char_start[r];
            int64_t got = 0, start;
            int plain;
            for (int64_t at = p; (p = next_token(src, at, end, &start, &plain)) > start; at = p) {
                for (int64_t q = at; q < start; q++) chars += (src[q] & 0xC0) != 0x80;
                int64_t first_char = chars;
                for (int64_t q = start; q < p; q++) chars += (src[q] & 0xC0) != 0x80;
                int64_t count = 1;
                if (!plain) {
                    if (j == token_first[k + 1]) {
                        __atomic_store_n(failed, 1, __ATOMIC_RELAXED);
                        break;
                    }
                    int64_t a = norm_offsets[j], b = norm_offsets[j + 1];
                    count = a < b;
                    for (int64_t q = a; q < b; q++) count += norm[q] == ' ';
                    j++;
                }
                got += count;
                for (int64_t i = 0; i < count && w < stop; i++, w++) {
                    word_start[w] = first_char;
                    word_end[w] = chars;
                }
            }
            if (got != words[k]) {
                int64_t count = words[k];
                double width = (double)(char_end[r] - char_start[r]) / (double)(count > 1 ? count : 1);
                for (int64_t i = 0, w = word_first[k]; i < count; i++, w++) {
                    word_start[w] = char_start[r] + (int64_t)((double)i * width);
                    word_end[w] = char_start[r] + (int64_t)((double)(i + 1) * width);
                }
            }
        }
    }
}
