"""Reuse: the earlier documents that hold most of a paragraph's text, across paragraph boundaries.

Whole-paragraph Jaccard similarity (:mod:`dedup.verify`) finds a paragraph that another
paragraph, as a whole, is near. Editors who reuse a text split its paragraphs, merge two into
one, trim the ends and change a few words, and then no single paragraph of the source is near
the copy. Reuse matching looks at the source *document* instead:

- **Coverage** of a paragraph by a source document is the share of the paragraph's words that
  lie inside *runs*: word n-grams (default 5) of the paragraph found, in order, in the source.
  The source's words are numbered through its paragraphs, so a run may cross its paragraph
  boundaries (a merged paragraph is one run over two source paragraphs).
- A run is a chain of hits (n-gram of the paragraph at word ``i`` found at word ``j`` of the
  source) whose offset ``j - i`` drifts by at most ``max_drift`` words from hit to hit (a word
  inserted or deleted moves it by one) and whose hits are at most ``max_gap`` words apart (a
  changed word removes the ``n`` n-grams that hold it). A run covers the words from its first
  hit to the end of its last n-gram. A run of fewer than ``min_run_words`` words is an isolated
  hit (a name, a date, a stock phrase) and counts for nothing.
- N-grams found in more than ``max_doc_freq`` documents are stock phrases and are ignored, as
  passim ignores them: the aim is to flag copied text, not a shared subject. So are repeats of
  an n-gram within one document beyond the first ``max_repeats``.
- Up to ``max_sources`` sources explain a paragraph, taken greedily (the source that covers
  most, then the one that adds most to it), each kept only if it adds at least
  ``min_source_coverage``: a paragraph merged from two documents is traced to both.
- A paragraph is *reused* when its sources cover at least ``min_coverage`` of its words, and
  at least ``min_words`` words.

Only earlier documents (in input order) are sources: first seen wins, as for clusters. Repeats
within one document are what the clusters report.

Word positions are those of the normalized text (:mod:`dedup.normalization`); spans are mapped
back to character offsets in the documents as given, word by word, so a viewer can highlight
them on both sides.

>>> docs = {
...     "wire": "Soldiers are on standby for armed police after scores of officers stood down.\\n\\n"
...             "The crisis has emerged after a police officer was charged with murder.",
...     "paper": "Soldiers are on standby for armed police after scores of officers stood down. "
...              "The crisis has emerged after a police officer was charged with murder.",
... }
>>> (link,) = find_reuse(docs)
>>> (link.doc, link.paragraph, link.coverage, [(s.doc, s.paragraphs) for s in link.sources])
('paper', 1, 1.0, [('wire', (1, 2))])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from dedup.documents import Document, as_documents

__all__ = ["CharMapper", "Coverage", "Explained", "ExplainedSource", "NGrams", "ReuseConfig", "ReuseLink", "ReuseSource", "ReusedSpan", "coverage", "explain", "find_reuse", "hits", "ngrams", "reuse_links", "rows_holding"]


@dataclass(frozen=True)
class ReuseConfig:
    """The settings of reuse matching (see the module's doc for what each one does)."""

    ngram: int = 5
    min_coverage: float = 0.5
    min_words: int = 8
    max_sources: int = 3
    min_source_coverage: float = 0.1
    max_doc_freq: int = 100
    max_repeats: int = 4
    max_gap: int = 8
    max_drift: int = 3
    min_run_words: int = 8

    def __post_init__(self) -> None:
        if not 1 <= self.ngram <= 64:
            raise ValueError(f"ngram must be from 1 to 64 words, not {self.ngram!r}")
        for name in ("min_coverage", "min_source_coverage"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be above 0 and at most 1, not {getattr(self, name)!r}")
        for name in ("max_sources", "max_doc_freq", "max_repeats", "max_gap"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)!r}")
        for name in ("min_words", "max_drift", "min_run_words"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be at least 0, not {getattr(self, name)!r}")

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class ReusedSpan:
    """One run: characters ``[start, end)`` of the paragraph's document and ``[source_start,
    source_end)`` of the source document hold the same text (up to the edits a run allows);
    it lies in the source's paragraphs ``source_paragraphs`` (first, last) and covers
    ``words`` words of the paragraph."""

    start: int
    end: int
    source_start: int
    source_end: int
    source_paragraphs: tuple[int, int]
    words: int
    text: str  # the span's text on each side, as in the documents
    source_text: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "source_start": self.source_start,
            "source_end": self.source_end,
            "source_paragraphs": list(self.source_paragraphs),
            "words": self.words,
            "text": self.text,
            "source_text": self.source_text,
        }


@dataclass(frozen=True)
class ReuseSource:
    """A source document of a reused paragraph: the share of the paragraph's words it covers
    on its own (``coverage``) and beyond the sources listed before it (``added``), the range of
    its paragraphs and lines the runs lie in, and the runs."""

    doc: str
    coverage: float
    added: float
    paragraphs: tuple[int, int]
    lines: tuple[int, int]
    spans: tuple[ReusedSpan, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "doc": self.doc,
            "coverage": round(self.coverage, 6),
            "added": round(self.added, 6),
            "paragraphs": list(self.paragraphs),
            "lines": list(self.lines),
            "spans": [span.as_dict() for span in self.spans],
        }


@dataclass(frozen=True)
class ReuseLink:
    """A reused paragraph (its document, number, first line and character span there), the
    share of its words its sources cover together, and the sources, most covering first."""

    doc: str
    paragraph: int
    line: int
    start: int
    end: int
    words: int
    coverage: float
    sources: tuple[ReuseSource, ...]
    text: str = ""  # the paragraph as in its document

    def as_dict(self) -> dict[str, Any]:
        return {
            "doc": self.doc,
            "paragraph": self.paragraph,
            "line": self.line,
            "start": self.start,
            "end": self.end,
            "words": self.words,
            "coverage": round(self.coverage, 6),
            "text": self.text,
            "sources": [source.as_dict() for source in self.sources],
        }


def find_reuse(
    documents: Mapping[str, str] | Iterable[tuple[str, str]] | Iterable[Document], config: ReuseConfig | None = None
) -> list[ReuseLink]:
    """The reused paragraphs of ``documents`` (a mapping of name to text, ``(name, text)``
    pairs or :class:`~dedup.documents.Document` objects), in input order."""
    from dedup.normalization import normalize_utf8_spans
    from dedup.paragraphs import ParagraphTable

    docs = list(as_documents(documents))
    table = ParagraphTable([d.name for d in docs], [d.text for d in docs], [d.utf8 for d in docs])
    batch = normalize_utf8_spans(table.src, table.byte_start, table.byte_end)
    texts = [d.text for d in docs]
    return reuse_links(table, batch.data, batch.offsets, np.arange(len(table)), texts, config or ReuseConfig())


# ---------------------------------------------------------------------------------------------
# The stages


@dataclass
class NGrams:
    """Every word n-gram of the matched paragraphs, in order: those of ``rows[k]`` are
    ``first[k]:first[k + 1]``, each with its hash and its first word's place in the paragraph;
    and the words of each row of the table (0 for rows not matched), and the words of its
    document before it. The row and the place in the document of an n-gram are not held for
    all: :meth:`row_of` and :meth:`doc_pos_of` work them out for a few."""

    rows: np.ndarray
    first: np.ndarray
    pos: np.ndarray
    hashes: np.ndarray
    counts: np.ndarray
    before: np.ndarray

    def row_of(self, grams: np.ndarray) -> np.ndarray:
        return self.rows[np.searchsorted(self.first, grams, side="right") - 1]

    def doc_pos_of(self, grams: np.ndarray) -> np.ndarray:
        return self.pos[grams] + self.before[self.row_of(grams)]


def ngrams(data: np.ndarray, offsets: np.ndarray, rows: np.ndarray, table_doc: np.ndarray, nrows: int, n: int) -> NGrams:
    """The word n-grams of ``rows`` (compiled: :mod:`dedup._kernel.reuse`). A document's words
    are numbered through its matched paragraphs, so that runs can cross them."""
    from dedup._kernel.reuse import word_counts, word_ngrams

    words = word_counts(data, offsets, rows)
    first, hashes, starts = word_ngrams(data, offsets, rows, n, words)
    counts = np.zeros(nrows, dtype=np.int64)
    counts[rows] = words
    # Words before each row in its document: a running sum that starts again at each document.
    before = np.cumsum(counts) - counts
    doc_first_row = np.searchsorted(table_doc, table_doc)
    before -= before[doc_first_row]
    return NGrams(rows, first, starts, hashes, counts, before)


def hits(grams: NGrams, table_doc: np.ndarray, config: ReuseConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every n-gram of a paragraph found in an earlier document, as ``(row, pos, source doc,
    source word)`` (``pos`` and the source word are word numbers in the paragraph and in the
    source document), in no particular order (compiled: :func:`dedup._kernel.reuse.ngram_hits`)."""
    from dedup._kernel.reuse import ngram_hits

    rows = grams.rows
    return ngram_hits(grams.hashes, grams.pos, grams.first, rows, np.asarray(table_doc)[rows], grams.before[rows], config.max_repeats, config.max_doc_freq)


@dataclass(frozen=True)
class ExplainedSource:
    """A source chosen for a paragraph by :func:`explain`: its id, the words of the paragraph
    it covers on its own and beyond the sources chosen before it, and its runs (paragraph word
    ``first[k]`` to ``stop[k]``, source word ``source_first[k]`` to ``source_stop[k]``)."""

    source: int
    covered: int
    added: int
    first: np.ndarray
    stop: np.ndarray
    source_first: np.ndarray
    source_stop: np.ndarray


@dataclass(frozen=True)
class Explained:
    """A reused paragraph found by :func:`explain`: its row, its words, the words its sources
    cover together, and the sources, in the order they were chosen."""

    row: int
    words: int
    covered: int
    sources: tuple[ExplainedSource, ...]


@dataclass(frozen=True)
class Coverage:
    """The reused paragraphs found by :func:`coverage`, as columns: paragraph ``k`` is row
    ``rows[k]``, of ``words[k]`` words, ``covered[k]`` of them covered by its sources
    ``source_start[k]:source_start[k + 1]`` (in the order chosen: the source's id, the words it
    covers on its own and beyond the sources before it), whose runs are
    ``run_start[j]:run_start[j + 1]`` for source ``j`` (paragraph words ``first:stop``, source
    words ``source_first:source_stop``, sorted by first word)."""

    rows: np.ndarray
    words: np.ndarray
    covered: np.ndarray
    source_start: np.ndarray
    source: np.ndarray
    source_covered: np.ndarray
    source_added: np.ndarray
    run_start: np.ndarray
    first: np.ndarray
    stop: np.ndarray
    source_first: np.ndarray
    source_stop: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    def explained(self) -> list[Explained]:
        """The same, one :class:`Explained` per paragraph."""
        sources = list(
            map(
                ExplainedSource,
                self.source.tolist(),
                self.source_covered.tolist(),
                self.source_added.tolist(),
                *(_grouped(column, self.run_start) for column in (self.first, self.stop, self.source_first, self.source_stop)),
            )
        )
        return list(map(Explained, self.rows.tolist(), self.words.tolist(), self.covered.tolist(), _grouped(sources, self.source_start)))


def _grouped(items: Any, starts: np.ndarray) -> list[Any]:
    """``items`` cut into consecutive groups, group ``k`` being ``starts[k]:starts[k + 1]``;
    a list's groups are tuples."""
    bounds = starts.tolist()
    if isinstance(items, list):
        return [tuple(items[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    return [items[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def coverage(
    row: np.ndarray, pos: np.ndarray, source: np.ndarray, source_word: np.ndarray, words: np.ndarray, config: ReuseConfig
) -> Coverage:
    """The reused paragraphs among those hit, from their hits: the n-gram of paragraph ``row[i]``
    at its word ``pos[i]`` was found in the earlier document ``source[i]`` (any int id) at its
    word ``source_word[i]``; ``words[r]`` is the number of words of paragraph ``r``. Ordered by
    row. This is the one place coverage is worked out (compiled:
    :func:`dedup._kernel.reuse.cover_rows`), for the report's reuse links and for the filter's
    drops."""
    from dedup._kernel.reuse import cover_rows

    words = np.asarray(words, dtype=np.int64)
    c = cover_rows(
        row, pos, source, source_word, words, config.ngram, config.max_gap, config.max_drift, config.min_run_words,
        config.max_sources, config.min_words, config.min_coverage, config.min_source_coverage,
    )
    return Coverage(
        c.rows, words[c.rows], c.covered, c.source_start, c.source, c.source_covered, c.source_added, c.run_start,
        c.first, c.stop, c.source_first, c.source_stop,
    )


def explain(
    row: np.ndarray, pos: np.ndarray, source: np.ndarray, source_word: np.ndarray, words: np.ndarray, config: ReuseConfig
) -> list[Explained]:
    """:func:`coverage`, one :class:`Explained` per reused paragraph, ordered by row."""
    return coverage(row, pos, source, source_word, words, config).explained()


def reuse_links(
    table: Any, data: np.ndarray, offsets: np.ndarray, rows: np.ndarray, texts: list[str], config: ReuseConfig
) -> list[ReuseLink]:
    """The reused paragraphs among ``rows`` of a :class:`~dedup.paragraphs.ParagraphTable`,
    whose normalized UTF-8 is ``data[offsets[i]:offsets[i + 1]]`` for row ``i``; ``texts`` are
    the documents' texts (for character offsets)."""
    rows = np.asarray(rows, dtype=np.int64)
    grams = ngrams(data, offsets, rows, table.doc, len(table), config.ngram)
    found = coverage(*hits(grams, table.doc, config), grams.counts, config)
    if not len(found):
        return []
    return CharMapper(table, texts, grams.counts, grams.before).links(found)


def rows_holding(row_doc: np.ndarray, before: np.ndarray, counts: np.ndarray, doc: np.ndarray, word: np.ndarray) -> np.ndarray:
    """The rows holding word ``word[k]`` of document ``doc[k]``, from each row's document, the
    words of its document before it and its own words (rows in document order; a row with no
    words holds none)."""
    held = np.flatnonzero(counts > 0)
    key = row_doc[held].astype(np.int64) << 32 | before[held]
    return held[np.searchsorted(key, np.asarray(doc, dtype=np.int64) << 32 | word, side="right") - 1]


class CharMapper:
    """Word numbers of the normalized text back to character offsets in the documents."""

    def __init__(self, table: Any, texts: list[str], counts: np.ndarray, before: np.ndarray) -> None:
        self.table = table
        self.texts = texts
        self.counts = counts  # words of each row that take part (0 for the others)
        self.before = before  # words before each row in its document
        self.word_base = np.full(len(table), -1, dtype=np.int64)  # row -> first word in the arrays below
        self.word_start = np.empty(0, dtype=np.int64)
        self.word_end = np.empty(0, dtype=np.int64)

    def links(self, found: Coverage) -> list[ReuseLink]:
        """The reuse links of ``found``, with their spans in characters."""
        table, texts = self.table, self.texts
        # Each run's source (its place in found's sources), its paragraph and its source document.
        run_source = np.repeat(np.arange(len(found.source)), np.diff(found.run_start))
        run_row = np.repeat(found.rows, np.diff(found.run_start[found.source_start]))
        run_doc = found.source[run_source]
        # The source rows each run starts and ends in, and the characters, all at once.
        row_a, word_a = self._doc_words(run_doc, found.source_first)
        row_b, word_b = self._doc_words(run_doc, found.source_stop - 1)
        self.prepare(np.concatenate([found.rows, row_a, row_b]))
        heads = found.run_start[:-1]
        numbers_a, numbers_b = table.number[row_a], table.number[row_b]
        paragraphs = zip(np.minimum.reduceat(numbers_a, heads).tolist(), np.maximum.reduceat(numbers_b, heads).tolist())
        lines = zip(np.minimum.reduceat(table.line[row_a], heads).tolist(), np.maximum.reduceat(table.line[row_b], heads).tolist())
        # Each source's spans in the order of their starts in the paragraph.
        stop = np.minimum(found.stop, self.counts[run_row])
        base = self.word_base[run_row]
        start = self.word_start[base + found.first]
        order = np.lexsort((start, run_source))
        start, end = start[order].tolist(), self.word_end[base + stop - 1][order].tolist()
        s_start, s_end = self._char(row_a, word_a, 0)[order].tolist(), self._char(row_b, word_b, 1)[order].tolist()
        text_doc, source_doc = table.doc[run_row[order]].tolist(), run_doc[order].tolist()
        spans = list(
            map(
                ReusedSpan,
                start,
                end,
                s_start,
                s_end,
                zip(numbers_a[order].tolist(), numbers_b[order].tolist()),
                (stop - found.first)[order].tolist(),
                [texts[d][a:b] for d, a, b in zip(text_doc, start, end)],
                [texts[d][a:b] for d, a, b in zip(source_doc, s_start, s_end)],
            )
        )
        words = found.words.tolist()
        source_words = np.repeat(found.words, np.diff(found.source_start)).tolist()
        sources = list(
            map(
                ReuseSource,
                [table.docs[d] for d in found.source.tolist()],
                [covered / w for covered, w in zip(found.source_covered.tolist(), source_words)],
                [added / w for added, w in zip(found.source_added.tolist(), source_words)],
                paragraphs,
                lines,
                _grouped(spans, found.run_start),
            )
        )
        docs, starts, ends = table.doc[found.rows].tolist(), table.start[found.rows].tolist(), table.end[found.rows].tolist()
        return list(
            map(
                ReuseLink,
                [table.docs[d] for d in docs],
                table.number[found.rows].tolist(),
                table.line[found.rows].tolist(),
                starts,
                ends,
                words,
                [covered / w for covered, w in zip(found.covered.tolist(), words)],
                _grouped(sources, found.source_start),
                [texts[d][a:b] for d, a, b in zip(docs, starts, ends)],
            )
        )

    def _doc_words(self, doc: np.ndarray, word: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rows of documents ``doc`` holding their words ``word``, and the words' places
        there (rows that take no part hold no words)."""
        rows = rows_holding(self.table.doc, self.before, self.counts, doc, word)
        return rows, word - self.before[rows]

    def _char(self, rows: np.ndarray, words: np.ndarray, end: int) -> np.ndarray:
        """Character offsets of words ``words`` of ``rows``: their starts (``end`` 0) or ends."""
        at = self.word_base[rows] + np.minimum(words, np.maximum(self.counts[rows] - 1, 0))
        return (self.word_end if end else self.word_start)[at]

    def prepare(self, rows: np.ndarray) -> None:
        """Work out the character span of each word of ``rows``, all at once, on the documents'
        UTF-8: each token between whitespace gives its words its span, a token of ASCII letters
        and digits being one word, and any other normalized on its own (by the compiled
        normalizer) to count them. Where that does not give the paragraph's number of words
        (normalization joined across tokens, rarely), its words are spread evenly over it
        (compiled: :mod:`dedup._kernel.reuse`). Other Unicode spaces than ASCII whitespace
        (no-break, em) stay inside a token, which normalization then splits into words that
        share its span."""
        from dedup._kernel.reuse import token_spans, word_spans
        from dedup.normalization import normalize_utf8_spans

        wanted = np.unique(rows)
        table = self.table
        token_first, token_start, token_end = token_spans(table.src, table.byte_start, table.byte_end, wanted)
        batch = normalize_utf8_spans(table.src, token_start, token_end)
        first, starts, ends = word_spans(
            table.src, table.byte_start, table.byte_end, table.start, table.end, wanted, self.counts[wanted], token_first, batch.data, batch.offsets
        )
        self.word_base[wanted] = first[:-1] + len(self.word_start)
        self.word_start = np.concatenate([self.word_start, starts])
        self.word_end = np.concatenate([self.word_end, ends])
