/* Normalization: UTF-8 paragraphs mapped one code point at a time through the table that
 * dedup.normalization.code_point_table builds. */
#include "common.h"
#include "kernels.h"

/* Table codes below zero (dedup.normalization): -1 a word break, -2 deleted, -3 for the
 * reference path, and -16 - k for row k of the expansions. */
#define T_SPACE (-1)
#define T_DELETE (-2)
#define T_FALLBACK (-3)

/* The mapping table and its expansions, as the caller passes them. */
typedef struct {
    const int32_t *table;
    int64_t table_len;
    const int32_t *expansions;
    int64_t rows, cols;
} Table;

static inline int64_t put_utf8(uint8_t *out, int64_t q, int64_t cp) {
    if (cp < 0x80) {
        out[q] = (uint8_t)cp;
        return q + 1;
    }
    if (cp < 0x800) {
        out[q] = (uint8_t)(0xC0 | (cp >> 6));
        out[q + 1] = (uint8_t)(0x80 | (cp & 0x3F));
        return q + 2;
    }
    if (cp < 0x10000) {
        out[q] = (uint8_t)(0xE0 | (cp >> 12));
        out[q + 1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[q + 2] = (uint8_t)(0x80 | (cp & 0x3F));
        return q + 3;
    }
    out[q] = (uint8_t)(0xF0 | (cp >> 18));
    out[q + 1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[q + 2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[q + 3] = (uint8_t)(0x80 | (cp & 0x3F));
    return q + 4;
}

/* The code point of the multi-byte sequence at src[p] (src[p] >= 0x80); *next is set past it.
 * The input comes from Python's encoder (with "surrogatepass"), so it is well formed; still, a
 * sequence cut off by the end of src reads its missing bytes as empty continuation bytes rather
 * than reading past the buffer. */
static inline int64_t decode_utf8(const uint8_t *src, int64_t n_src, int64_t p, int64_t *next) {
    int64_t b0 = src[p], b1 = 0x80, b2 = 0x80, b3 = 0x80;
    if (p + 3 < n_src) {
        b1 = src[p + 1];
        b2 = src[p + 2];
        b3 = src[p + 3];
    } else {
        if (p + 1 < n_src) b1 = src[p + 1];
        if (p + 2 < n_src) b2 = src[p + 2];
    }
    if (b0 < 0xE0) {
        *next = p + 2;
        return ((b0 & 0x1F) << 6) | (b1 & 0x3F);
    }
    if (b0 < 0xF0) {
        *next = p + 3;
        return ((b0 & 0x0F) << 12) | ((b1 & 0x3F) << 6) | (b2 & 0x3F);
    }
    *next = p + 4;
    return ((b0 & 0x07) << 18) | ((b1 & 0x3F) << 12) | ((b2 & 0x3F) << 6) | (b3 & 0x3F);
}

/* Normalize src[start:end] into out[q:limit]; *written is the number of bytes written and the
 * result is NORMALIZE_OK, NORMALIZE_NEEDS_REFERENCE or NORMALIZE_OVERFLOW.
 *
 * ASCII, nearly all bytes of most text, takes a branch-free path: it always stores and advances
 * by a flag, so word boundaries cost no mispredicted branch. Those stores need one byte of slack
 * past the output. Other characters are checked against limit with room for the longest they
 * can write (an expansion of three code points, each with a space before it). */
static int normalize_into(const uint8_t *src, int64_t n_src, int64_t start, int64_t end,
                          const Table *t, uint8_t *out, int64_t q, int64_t limit,
                          int64_t *written) {
    const int32_t *table = t->table;
    int64_t q0 = q;
    int64_t pending = 0; /* a space is owed before the next character */
    int64_t wrote = 0;   /* a character has been written (so no leading space) */
    int64_t p = start;
    int status = NORMALIZE_OK;
    while (p < end) {
        int64_t c = src[p];
        if (c < 0x80) {
            if (q + 2 > limit) {
                status = NORMALIZE_OVERFLOW;
                break;
            }
            int64_t m = table[c];
            int64_t is_char = m >= 0;
            int64_t is_space = m == T_SPACE;
            out[q] = 32;
            q += pending & is_char;
            out[q] = (uint8_t)(m & 0x7F);
            q += is_char;
            pending = (pending | (is_space & wrote)) & (is_char ^ 1);
            wrote |= is_char;
            p++;
            continue;
        }
        int64_t cp = decode_utf8(src, n_src, p, &p);
        /* Past Unicode (only from bytes Python's encoder never makes): leave it to the
         * reference path rather than read past the table. */
        int64_t m = cp < t->table_len ? table[cp] : T_FALLBACK;
        if (m == T_FALLBACK) {
            status = NORMALIZE_NEEDS_REFERENCE;
            break;
        }
        if (m == T_SPACE) {
            pending |= wrote;
            continue;
        }
        if (m == T_DELETE) continue;
        if (q + 16 > limit) {
            status = NORMALIZE_OVERFLOW;
            break;
        }
        if (m >= 0) {
            if (pending) {
                out[q++] = 32;
                pending = 0;
            }
            q = put_utf8(out, q, m);
            wrote = 1;
            continue;
        }
        int64_t row = -16 - m;
        if (row < 0 || row >= t->rows) { /* not a code the table builder makes */
            status = NORMALIZE_NEEDS_REFERENCE;
            break;
        }
        const int32_t *e = t->expansions + row * t->cols;
        for (int64_t k = 0; k < t->cols && e[k] != 0; k++) {
            if (e[k] == T_SPACE) {
                pending |= wrote;
                continue;
            }
            if (pending) {
                out[q++] = 32;
                pending = 0;
            }
            q = put_utf8(out, q, e[k]);
            wrote = 1;
        }
    }
    *written = q - q0;
    return status;
}

/* First pass, for chunks of paragraphs: paragraph i goes into its own region of scratch,
 * scratch[starts[i] + i : ends[i] + i + 1], one byte longer than its input for the ASCII path's
 * slack. The regions do not overlap because the spans are in order. */
void dedup_normalize_regions(const uint8_t *src, int64_t n_src, const int64_t *starts,
                             const int64_t *ends, int64_t n, const int32_t *table,
                             int64_t table_len, const int32_t *expansions, int64_t rows,
                             int64_t cols, uint8_t *scratch, int64_t *lengths,
                             int8_t *status, int64_t *cursor) {
    Table t = {table, table_len, expansions, rows, cols};
    int64_t chunks = (n + CHUNK - 1) / CHUNK;
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        int64_t hi = (c + 1) * CHUNK < n ? (c + 1) * CHUNK : n;
        for (int64_t i = c * CHUNK; i < hi; i++)
            status[i] = (int8_t)normalize_into(src, n_src, starts[i], ends[i], &t, scratch,
                                               starts[i] + i, ends[i] + i + 1, &lengths[i]);
    }
}

/* Second pass, one thread: the paragraphs big[0..m) that overflowed their region, normalized
 * again with room for the longest expansion (three code points of up to four bytes for each
 * input byte). Their outputs are appended, in order, to *spill, which this mallocs and the caller
 * frees with dedup_normalize_free; a paragraph that needs the reference appends nothing. Returns
 * 0, or -1 when memory runs out (then *spill is NULL). */
int64_t dedup_normalize_redo(const uint8_t *src, int64_t n_src, const int64_t *starts,
                             const int64_t *ends, const int64_t *big, int64_t m,
                             const int32_t *table, int64_t table_len,
                             const int32_t *expansions, int64_t rows, int64_t cols,
                             int64_t *lengths, int8_t *status, uint8_t **spill) {
    Table t = {table, table_len, expansions, rows, cols};
    uint8_t *out = NULL;
    int64_t used = 0, capacity = 0;
    for (int64_t k = 0; k < m; k++) {
        int64_t i = big[k];
        int64_t room = 12 * (ends[i] - starts[i]) + 16;
        if (used + room > capacity) {
            int64_t grown = capacity * 2 > used + room ? capacity * 2 : used + room;
            uint8_t *bigger = realloc(out, (size_t)grown);
            if (!bigger) {
                free(out);
                *spill = NULL;
                return -1;
            }
            out = bigger;
            capacity = grown;
        }
        status[i] = (int8_t)normalize_into(src, n_src, starts[i], ends[i], &t, out, used,
                                           used + room, &lengths[i]);
        if (status[i] == NORMALIZE_OK) used += lengths[i];
    }
    *spill = out;
    return 0;
}

void dedup_normalize_free(uint8_t *spill) { free(spill); }

/* Packing, for chunks of paragraphs: each one that was normalized in its region is copied from
 * there to data[offsets[i]:offsets[i + 1]]. */
void dedup_normalize_pack(const uint8_t *scratch, const int64_t *starts, const int8_t *status,
                          const uint8_t *redone, const int64_t *offsets, int64_t n,
                          uint8_t *data, int64_t *cursor) {
    int64_t chunks = (n + CHUNK - 1) / CHUNK;
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        int64_t hi = (c + 1) * CHUNK < n ? (c + 1) * CHUNK : n;
        for (int64_t i = c * CHUNK; i < hi; i++)
            if (status[i] == NORMALIZE_OK && !redone[i])
                memcpy(data + offsets[i], scratch + starts[i] + i, (size_t)(offsets[i + 1] - offsets[i]));
    }
}

/* The redone paragraphs big[0..m), copied from the spill that dedup_normalize_redo filled. */
void dedup_normalize_unspill(const uint8_t *spill, const int64_t *big, int64_t m,
                             const int8_t *status, const int64_t *offsets, uint8_t *data) {
    int64_t from = 0;
    for (int64_t k = 0; k < m; k++) {
        int64_t i = big[k];
        if (status[i] != NORMALIZE_OK) continue;
        int64_t length = offsets[i + 1] - offsets[i];
        memcpy(data + offsets[i], spill + from, (size_t)length);
        from += length;
    }
}
