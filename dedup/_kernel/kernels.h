/* Every function and constant that Python reaches in the compiled kernels, declared once.
 *
 * The C sources include this header, so the compiler checks each definition against its
 * declaration; the build (_build.py) hands the same lines, between the two markers, to cffi as its
 * cdef, so the Python side calls each function with exactly these arguments, converted and
 * checked at the call: a missing argument, an array of another element type or an integer out of
 * range is a TypeError or an OverflowError, never a read of the wrong memory. The lines between
 * the markers must stay plain declarations and integer #defines (what cffi's cdef reads).
 *
 * A new kernel: define it in a _*.c file (setup.py builds them all), declare it below, and call
 * it from Python as dedup._kernel._lib.lib.<name>, passing arrays through _lib.ptr.
 */
#ifndef DEDUP_KERNELS_H
#define DEDUP_KERNELS_H

#include <stdint.h>

/* cdef: begin */

/* Paragraphs per chunk of parallel work; set pairs per chunk of set_similarities (a pair is a
 * short merge, far cheaper than a paragraph, so a chunk takes more of them to keep the shared
 * cursor out of the way); documents per chunk of the paragraph scans. A function whose last
 * argument is `int64_t *cursor` is called from several threads at once, each taking its next
 * chunk from that shared counter (next_chunk in common.h). */
#define CHUNK 256
#define PAIR_CHUNK 4096
#define DOC_CHUNK 16

/* _hashing.c: whole-text hashes, grouping exact copies, character to byte offsets. */
uint32_t dedup_xxh32(const uint8_t *data, int64_t start, int64_t end, uint32_t seed);
uint64_t dedup_xxh64(const uint8_t *data, int64_t start, int64_t end, uint64_t seed);
void dedup_text_hashes(const uint8_t *data, const int64_t *offsets, int64_t n, uint64_t *out,
                       int64_t *cursor);
int64_t dedup_group_texts(const uint8_t *data, const int64_t *offsets, const int64_t *rows, int64_t m,
                          const uint64_t *hashes, int64_t *canonical, int64_t *firsts);
void dedup_char_to_byte_offsets(const uint8_t *data, int64_t n, const int64_t *points, int64_t m,
                                int64_t *out);

/* _normalize.c: normalization through the code point table. What it reports per paragraph: */
#define NORMALIZE_OK 0
#define NORMALIZE_NEEDS_REFERENCE 1 /* a character's normalization depends on its neighbours */
#define NORMALIZE_OVERFLOW 2        /* the output outgrew its room */
void dedup_normalize_regions(const uint8_t *src, int64_t n_src, const int64_t *starts,
                             const int64_t *ends, int64_t n, const int32_t *table, int64_t table_len,
                             const int32_t *expansions, int64_t rows, int64_t cols, uint8_t *scratch,
                             int64_t *lengths, int8_t *status, int64_t *cursor);
int64_t dedup_normalize_redo(const uint8_t *src, int64_t n_src, const int64_t *starts,
                             const int64_t *ends, const int64_t *big, int64_t m, const int32_t *table,
                             int64_t table_len, const int32_t *expansions, int64_t rows, int64_t cols,
                             int64_t *lengths, int8_t *status, uint8_t **spill);
void dedup_normalize_free(uint8_t *spill);
void dedup_normalize_pack(const uint8_t *scratch, const int64_t *starts, const int8_t *status,
                          const uint8_t *redone, const int64_t *offsets, int64_t n, uint8_t *data,
                          int64_t *cursor);
void dedup_normalize_unspill(const uint8_t *spill, const int64_t *big, int64_t m,
                             const int8_t *status, const int64_t *offsets, uint8_t *data);

/* _paragraphs.c: paragraph boundaries in UTF-8 documents. */
void dedup_paragraph_counts(const uint8_t *src, const int64_t *bounds, int64_t docs, int64_t *counts,
                            int64_t *cursor);
void dedup_paragraph_spans(const uint8_t *src, const int64_t *bounds, int64_t docs,
                           const int64_t *firsts, int64_t *char_start, int64_t *char_end,
                           int64_t *byte_start, int64_t *byte_end, int64_t *line, int64_t *cursor);
int64_t dedup_paragraphs_of(const uint8_t *src, int64_t n, int64_t room, int64_t *columns);

/* _sets.c: MinHash signatures, LSH band keys, exact shingle sets and their similarities. */
void dedup_minhash(const uint8_t *data, const int64_t *offsets, int64_t npara, int64_t kind, int64_t n,
                   const uint32_t *a, const uint32_t *b, int64_t perms, uint32_t *sig, int64_t *failed,
                   int64_t *cursor);
void dedup_minhash_band_keys(const uint8_t *data, const int64_t *offsets, const int64_t *rows, int64_t m,
                             int64_t kind, int64_t n, const uint32_t *a, const uint32_t *b,
                             int64_t perms, int64_t bands, int64_t rows_per_band, uint32_t *keys,
                             int64_t *failed, int64_t *cursor);
void dedup_band_keys(const uint32_t *sig, int64_t nsig, int64_t perms, int64_t bands,
                     int64_t rows_per_band, uint64_t *keys, int64_t *cursor);
void dedup_shingle_counts(const uint8_t *data, const int64_t *offsets, const int64_t *rows, int64_t m,
                          int64_t kind, int64_t n, int64_t *room, int64_t *cursor);
void dedup_shingle_sets(const uint8_t *data, const int64_t *offsets, const int64_t *rows, int64_t m,
                        int64_t kind, int64_t n, const int64_t *upper, uint64_t *scratch,
                        int64_t *sizes, int64_t *failed, int64_t *cursor);
void dedup_hash_rows(const uint8_t *data, const int64_t *offsets, const int64_t *rows, int64_t m,
                     int64_t kind, int64_t n, const uint32_t *a, const uint32_t *b, int64_t perms,
                     int64_t bands, int64_t rows_per_band, uint64_t *keys, const int64_t *upper,
                     uint64_t *scratch, int64_t *sizes, int64_t *failed, int64_t *cursor);
void dedup_pack_sets(const uint64_t *scratch, const int64_t *upper, const int64_t *set_offsets,
                     int64_t m, uint64_t *hashes, int64_t *cursor);
void dedup_set_similarities(const uint64_t *hashes, const int64_t *set_offsets, const int64_t *left,
                            const int64_t *right, int64_t m, double *jaccard, double *containment,
                            int64_t *cursor);

/* _lsh.c: candidate pairs from band keys, first-seen representatives. A row alone in its
 * bucket has this bucket position (rows are < 2**31, so no bucket starts there). */
#define NO_BUCKET 0xFFFFFFFF
void dedup_lsh_buckets(const uint32_t *keys, int64_t bands, int64_t n, int64_t window, uint32_t *orders,
                       int64_t *kept, uint32_t *where, uint8_t *heads, int64_t *failed,
                       int64_t *cursor);
void dedup_lsh_pair_counts(const uint32_t *orders, const uint32_t *where, const uint8_t *heads,
                           int64_t bands, int64_t n, int64_t window, int64_t *counts, uint8_t *paired,
                           int64_t *failed, int64_t *cursor);
void dedup_lsh_pairs(const uint32_t *orders, const uint32_t *where, const uint8_t *heads, int64_t bands,
                     int64_t n, int64_t window, int64_t lo, int64_t hi, const int64_t *offsets,
                     int64_t *left, int64_t *right, int64_t *failed, int64_t *cursor);
int64_t dedup_first_seen(int64_t n, const int64_t *left, const int64_t *right, int64_t m,
                         const double *jaccard, double threshold, int64_t *rep, int64_t *via);

/* _index.c: the embedded index's sorting, searching, merging and key filters. */
int64_t dedup_hash_sort(const uint64_t *keys, int64_t n, uint64_t *out, int64_t *order);
void dedup_sorted_ranges(const uint64_t *keys, int64_t n, const uint64_t *queries, int64_t m,
                         int64_t chunks, int64_t *lo, int64_t *hi, int64_t *cursor);
void dedup_fill_filter(uint64_t *bloom, int64_t words, const uint64_t *keys, int64_t n, int64_t chunks,
                       int64_t *cursor);
void dedup_probe_filter(const uint64_t *bloom, int64_t words, const uint64_t *queries, int64_t m,
                        int64_t chunks, uint8_t *out, int64_t *cursor);
void dedup_search_at(const uint64_t *keys, int64_t n, const uint64_t *queries, int64_t queries_n,
                     const int64_t *at, int64_t m, int64_t chunks, int64_t *lo, int64_t *hi,
                     int64_t *cursor);
int64_t dedup_select_sorted(const uint64_t *queries, const int64_t *order, int64_t m, int64_t n,
                            const int64_t *slot, int64_t slots_n, uint64_t *keys, int64_t *slots);
void dedup_merge_runs(const uint64_t *keys, const uint64_t *pids, int64_t *edges, int64_t runs,
                      uint64_t *out_keys, uint64_t *out_pids, uint64_t *tmp_keys, uint64_t *tmp_pids);

/* _reuse.c: reuse matching. Word n-grams of normalized paragraphs; the longest it makes: */
#define MAX_NGRAM 64
void dedup_word_counts(const uint8_t *data, const int64_t *offsets, const int64_t *rows, int64_t m,
                       int64_t *words, int64_t *cursor);
void dedup_word_ngrams(const uint8_t *data, const int64_t *offsets, const int64_t *rows, int64_t m,
                       int64_t n, const int64_t *first, uint64_t *hashes, int32_t *starts,
                       int64_t *cursor);
/* The n-grams found in earlier documents: n-grams spread over buckets by hash, then each bucket's
 * repeats, then the hits. Buckets per chunk of parallel work: */
#define BUCKET_CHUNK 16
void dedup_bucket_counts(const uint64_t *hashes, int64_t n, int64_t shift, int64_t chunk,
                         int64_t buckets, int64_t *counts, int64_t *cursor);
void dedup_bucket_scatter(const uint64_t *hashes, const int32_t *starts, const int64_t *first,
                          int64_t m, int64_t n, int64_t shift, int64_t chunk, int64_t buckets,
                          int64_t *at, uint64_t *entries, int64_t *cursor);
void dedup_bucket_groups(uint64_t *entries, const int64_t *bounds, int64_t buckets,
                         const int64_t *row_doc, int64_t max_repeats, int64_t max_doc_freq,
                         int64_t largest, int64_t *kept, int64_t *hits, int64_t *failed,
                         int64_t *cursor);
void dedup_bucket_hits(const uint64_t *entries, const int64_t *bounds, const int64_t *kept,
                       const int64_t *at, int64_t buckets, const int64_t *rows,
                       const int64_t *row_before, int64_t *row, int64_t *pos, int64_t *source,
                       int64_t *source_word, int64_t *cursor);
/* Hits chained into runs, and the sources that cover each paragraph. */
void dedup_hits_by_row(const int64_t *row, int64_t n, int64_t nrows, int64_t *row_start,
                       int64_t *order);
void dedup_cover_rows(const int64_t *pos, const int64_t *source, const int64_t *source_word,
                      const int64_t *order, const int64_t *row_start, int64_t nrows,
                      const int64_t *words, int64_t n, int64_t max_gap, int64_t max_drift,
                      int64_t min_run_words, int64_t max_sources, int64_t min_words,
                      double min_coverage, double min_source_coverage, int64_t largest,
                      int64_t *found, int64_t *covered, int64_t *source_id, int64_t *source_covered,
                      int64_t *source_added, int64_t *source_runs, int64_t *run_first,
                      int64_t *run_stop, int64_t *run_source_first, int64_t *run_source_stop,
                      int64_t *failed, int64_t *cursor);
/* Word numbers back to characters: tokens between ASCII whitespace, and their words' spans. */
void dedup_token_counts(const uint8_t *src, const int64_t *byte_start, const int64_t *byte_end,
                        const int64_t *rows, int64_t m, int64_t *tokens, int64_t *cursor);
void dedup_token_spans(const uint8_t *src, const int64_t *byte_start, const int64_t *byte_end,
                       const int64_t *rows, int64_t m, const int64_t *token_first,
                       int64_t *token_start, int64_t *token_end, int64_t *cursor);
void dedup_word_spans(const uint8_t *src, const int64_t *byte_start, const int64_t *byte_end,
                      const int64_t *char_start, const int64_t *char_end, const int64_t *rows,
                      int64_t m, const int64_t *words, const int64_t *token_first,
                      const uint8_t *norm, const int64_t *norm_offsets, const int64_t *word_first,
                      int64_t *word_start, int64_t *word_end, int64_t *failed, int64_t *cursor);

/* The build: a hash of the sources this library was compiled from (_stamp.py), which the loader
 * compares with the sources beside it. */
const char *dedup_build_stamp(void);

/* cdef: end */

#endif
