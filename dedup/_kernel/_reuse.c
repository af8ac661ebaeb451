/* Word n-grams of normalized paragraphs, for reuse matching (dedup/reuse.py).
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

/* The n-grams of paragraphs rows[0..m): those of rows[k] go to hashes/starts from
 * first[k] on (first: prefix sums of max(0, words - n + 1)), starts[j] being the n-gram's
 * first word in its paragraph. For chunks of rows. */
void dedup_word_ngrams(const uint8_t *data, const int64_t *offsets, const int64_t *rows,
                       int64_t m, int64_t n, const int64_t *first, uint64_t *hashes,
                       int32_t *starts, int64_t *cursor) {
    int64_t chunks = (m + CHUNK - 1) / CHUNK;
    uint64_t ring[MAX_NGRAM];
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        int64_t hi = (c + 1) * CHUNK < m ? (c + 1) * CHUNK : m;
        for (int64_t k = c * CHUNK; k < hi; k++) {
            int64_t a = offsets[rows[k]], b = offsets[rows[k] + 1], out = first[k], word = 0;
            int64_t p = a;
            while (p < b) {
                int64_t e = p;
                while (e < b && data[e] != ' ') e++;
                ring[word % n] = hash64(data, p, e);
                if (word >= n - 1) {
                    uint64_t h = 0;
                    for (int64_t i = word - n + 1; i <= word; i++) {
                        h = (h ^ ring[i % n]) * MIX[(i - (word - n + 1)) % 4];
                        h ^= h >> 29;
                    }
                    hashes[out] = h;
                    starts[out] = (int32_t)(word - n + 1);
                    out++;
                }
                word++;
                p = e + 1;
            }
        }
    }
}
