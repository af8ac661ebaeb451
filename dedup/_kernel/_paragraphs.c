/* Paragraphs: blocks of non-blank lines in UTF-8 text (the rules are in dedup/paragraphs.py). */
#include "common.h"
#include "kernels.h"

/* Python's str.isspace(): what a blank line may hold. */
static inline int is_space(uint32_t cp) {
    if (cp < 0x80) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F);
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* The code point at src[*p] (UTF-8 from Python's encoder with "surrogatepass", so well formed;
 * a sequence cut off at stop is read as far as it goes), advancing *p past it. */
static inline uint32_t next_code_point(const uint8_t *src, int64_t *p, int64_t stop) {
    uint32_t b0 = src[*p];
    int extra = b0 < 0x80 ? 0 : b0 < 0xE0 ? 1 : b0 < 0xF0 ? 2 : 3;
    uint32_t cp = extra == 0 ? b0 : b0 & (0x3F >> extra);
    (*p)++;
    for (int k = 0; k < extra && *p < stop; k++, (*p)++) cp = (cp << 6) | (src[*p] & 0x3F);
    return cp;
}

typedef struct {
    int64_t *char_start, *char_end, *byte_start, *byte_end, *line;
} Columns;

/* Scan one document, src[b0:b1). Lines end at \n, \r\n or a lone \r, and a form feed also
 * ends a "segment"; a segment holding a non-space character is filled. Consecutive filled
 * segments separated by exactly one line break make one paragraph. With out, writes the
 * paragraphs from index at; returns how many there are. */
static int64_t scan(const uint8_t *src, int64_t b0, int64_t b1, const Columns *out, int64_t at) {
    int64_t count = 0, chars = 0, line = 1;
    int64_t seg_byte = b0, seg_char = 0, seg_line = 1;
    int filled = 0;
    int open = 0;
    int64_t breaks = 0; /* line breaks since the open paragraph's last filled segment (a form feed counts 2) */
    int64_t p = b0;
    for (;;) {
        int at_end = p >= b1;
        uint32_t cp = 0;
        int64_t before = p;
        if (!at_end) cp = next_code_point(src, &p, b1);
        if (at_end || cp == '\n' || cp == '\r' || cp == '\f') {
            if (filled) {
                if (open && breaks == 1) {
                    if (out) {
                        out->char_end[at + count - 1] = chars;
                        out->byte_end[at + count - 1] = before;
                    }
                } else {
                    if (out) {
                        out->char_start[at + count] = seg_char;
                        out->char_end[at + count] = chars;
                        out->byte_start[at + count] = seg_byte;
                        out->byte_end[at + count] = before;
                        out->line[at + count] = seg_line;
                    }
                    count++;
                    open = 1;
                }
                breaks = 0;
            }
            if (at_end) break;
            chars++;
            if (cp == '\f') {
                breaks += 2;
            } else {
                if (cp == '\r' && p < b1 && src[p] == '\n') {
                    p++;
                    chars++;
                }
                breaks++;
                line++;
            }
            seg_byte = p;
            seg_char = chars;
            seg_line = line;
            filled = 0;
            continue;
        }
        chars++;
        if (!filled && !is_space(cp)) filled = 1;
    }
    return count;
}

/* counts[d] = the number of paragraphs of document d, src[bounds[d]:bounds[d+1]). */
void dedup_paragraph_counts(const uint8_t *src, const int64_t *bounds, int64_t docs, int64_t *counts,
                            int64_t *cursor) {
    int64_t chunks = (docs + DOC_CHUNK - 1) / DOC_CHUNK;
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        int64_t hi = (c + 1) * DOC_CHUNK < docs ? (c + 1) * DOC_CHUNK : docs;
        for (int64_t d = c * DOC_CHUNK; d < hi; d++) counts[d] = scan(src, bounds[d], bounds[d + 1], NULL, 0);
    }
}

/* The paragraphs of every document, document d's from index firsts[d]: character spans and
 * line numbers within the document, byte spans within src. */
void dedup_paragraph_spans(const uint8_t *src, const int64_t *bounds, int64_t docs, const int64_t *firsts,
                           int64_t *char_start, int64_t *char_end, int64_t *byte_start, int64_t *byte_end,
                           int64_t *line, int64_t *cursor) {
    Columns out = {char_start, char_end, byte_start, byte_end, line};
    int64_t chunks = (docs + DOC_CHUNK - 1) / DOC_CHUNK;
    for (int64_t c = next_chunk(cursor); c < chunks; c = next_chunk(cursor)) {
        int64_t hi = (c + 1) * DOC_CHUNK < docs ? (c + 1) * DOC_CHUNK : docs;
        for (int64_t d = c * DOC_CHUNK; d < hi; d++) scan(src, bounds[d], bounds[d + 1], &out, firsts[d]);
    }
}

/* The paragraphs of one document, src[0:n), into five columns of room entries each (char_start,
 * char_end, byte_start, byte_end, line, end to end in columns); room must be at least the line
 * breaks and form feeds in src plus one, which bounds the segments and so the paragraphs.
 * Returns how many there are. One call, no threads: for a document at a time. */
int64_t dedup_paragraphs_of(const uint8_t *src, int64_t n, int64_t room, int64_t *columns) {
    Columns out = {columns, columns + room, columns + 2 * room, columns + 3 * room, columns + 4 * room};
    return scan(src, 0, n, &out, 0);
}
