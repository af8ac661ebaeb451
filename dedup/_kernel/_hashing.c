/* Whole-text hashes: xxHash32 and XXH64 for the tests, and grouping exact copies of normalized
 * texts. */
#include "common.h"
#include "kernels.h"

uint32_t dedup_xxh32(const uint8_t *data, int64_t start, int64_t end, uint32_t seed) {
    return xxh32(data, start, end, seed);
}

uint64_t dedup_xxh64(const uint8_t *data, int64_t start, int64_t end, uint64_t seed) {
    return xxh64(data, start, end, seed);
}

/* out[i] = hash64 of paragraph i (data[offsets[i]:offsets[i+1]]), for chunks of paragraphs. */
void dedup_text_hashes(const uint8_t *data, const int64_t *offsets, int64_t n, uint64_t *out,
                       int64_t *cursor) {
    int64_t chunks = (n + CHUNK - 1) / CHUNK;
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        int64_t hi = (c + 1) * CHUNK < n ? (c + 1) * CHUNK : n;
        for (int64_t i = c * CHUNK; i < hi; i++) out[i] = hash64(data, offsets[i], offsets[i + 1]);
    }
}

static int same_bytes(const uint8_t *data, const int64_t *offsets, int64_t i, int64_t j) {
    int64_t length = offsets[i + 1] - offsets[i];
    return offsets[j + 1] - offsets[j] == length && memcmp(data + offsets[i], data + offsets[j], length) == 0;
}

/* Group paragraphs rows[0..m) (in input order) by identical bytes: canonical[k] is the group of
 * rows[k], groups numbered by first occurrence, and firsts[g] the first row of group g. Returns
 * the number of groups, or -1 when memory runs out. hashes[row] places texts in an
 * open-addressing table; equal hashes are confirmed byte for byte. */
int64_t dedup_group_texts(const uint8_t *data, const int64_t *offsets, const int64_t *rows,
                          int64_t m, const uint64_t *hashes, int64_t *canonical,
                          int64_t *firsts) {
    uint64_t size = 1;
    while (size < 2 * (uint64_t)m) size *= 2;
    uint64_t mask = size - 1;
    int64_t *slots = malloc(size * sizeof(int64_t));
    if (!slots) return -1;
    memset(slots, 0xFF, size * sizeof(int64_t)); /* -1: empty */
    int64_t groups = 0;
    for (int64_t k = 0; k < m; k++) {
        int64_t row = rows[k];
        uint64_t h = hashes[row];
        for (uint64_t s = h & mask;; s = (s + 1) & mask) {
            int64_t g = slots[s];
            if (g < 0) {
                slots[s] = groups;
                firsts[groups] = row;
                canonical[k] = groups++;
                break;
            }
            if (hashes[firsts[g]] == h && same_bytes(data, offsets, firsts[g], row)) {
                canonical[k] = g;
                break;
            }
        }
    }
    free(slots);
    return groups;
}

/* Byte offsets in UTF-8 data[0..n) of the ascending character offsets points[0..m). */
void dedup_char_to_byte_offsets(const uint8_t *data, int64_t n, const int64_t *points,
                                int64_t m, int64_t *out) {
    int64_t chars = 0, p = 0;
    for (int64_t k = 0; k < m; k++) {
        while (chars < points[k] && p < n) {
            p++;
            while (p < n && (data[p] & 0xC0) == 0x80) p++;
            chars++;
        }
        out[k] = p;
    }
}
