"""Paragraphs: blocks of non-blank lines between blank lines, with where they came from.

Lines end at ``\\n``, ``\\r\\n`` or a lone ``\\r``; a line holding only whitespace is blank; a form
feed (page break) also ends a paragraph. Each paragraph records its document, its 1-based number
in the document, its 1-based first line and its span ``[start, end)`` in characters of the
document's text (after the byte-order mark, which decoding removes). The paragraph's text is
exactly ``text[start:end]``, line endings included.

Paragraphs are kept in columns (:class:`ParagraphTable`), not one object each, so a million of
them cost arrays, not a million objects. :class:`Paragraph` is the per-paragraph view the
report and the API hand out.

>>> [(p.number, p.line, p.text) for p in segment("Title\\r\\n\\r\\nOne line\\r\\nand two\\n\\n\\f\\nLast")]
[(1, 1, 'Title'), (2, 3, 'One line\\r\\nand two'), (3, 7, 'Last')]
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import repeat

import numpy as np

__all__ = ["Paragraph", "ParagraphTable", "segment"]

# A stretch of one line, between line breaks or form feeds, that holds a non-space character,
# from the line's first character (indentation included). The look-behind rejects every other
# start position at once and the possessive run of spaces never backtracks, so a long line of
# spaces costs one pass, not one pass per position.
_FILLED = re.compile(r"(?<![^\r\n\f])[^\S\r\n\f]*+\S[^\r\n\f]*")
# What may stand between two lines of the same paragraph: exactly one line break.
_ONE_BREAK = ("\n", "\r\n", "\r")


@dataclass(frozen=True)
class Paragraph:
    """One paragraph and its source position."""

    doc: str
    number: int
    line: int
    start: int
    end: int
    text: str

    def __post_init__(self) -> None:
        if self.number < 1 or self.line < 1:
            raise ValueError("paragraph and line numbers are 1-based")
        if not 0 <= self.start <= self.end:
            raise ValueError("span must satisfy 0 <= start <= end")


def _line_breaks(text: str, start: int, end: int) -> int:
    return text.count("\n", start, end) + text.count("\r", start, end) - text.count("\r\n", start, end)


# For text with only "\n" line breaks and no form feed (nearly all text), one match is one
# whole paragraph: a run of lines, each holding a non-space character.
_PARAGRAPH_LF = re.compile(r"(?<![^\n])[^\S\n]*+\S[^\n]*(?:\n[^\S\n]*+\S[^\n]*)*")


def _spans(text: str) -> Iterator[tuple[int, int, int]]:
    """(start, end, line) of each paragraph."""
    if "\r" not in text and "\f" not in text:
        line = 1
        scanned = 0
        for match in _PARAGRAPH_LF.finditer(text):
            start, end = match.span()
            line += text.count("\n", scanned, start)
            scanned = start
            yield start, end, line
        return
    para_start = para_end = -1
    line = 1
    scanned = 0  # line breaks are counted up to here
    first_line = 1
    for match in _FILLED.finditer(text):
        start, end = match.span()
        line += _line_breaks(text, scanned, start)
        scanned = start
        if para_start >= 0 and text[para_end:start] in _ONE_BREAK:
            para_end = end
            continue
        if para_start >= 0:
            yield para_start, para_end, first_line
        para_start, para_end, first_line = start, end, line
    if para_start >= 0:
        yield para_start, para_end, first_line


def segment(text: str, doc: str = "") -> list[Paragraph]:
    """The paragraphs of one document, as :class:`Paragraph` objects."""
    return [
        Paragraph(doc, number, line, start, end, text[start:end])
        for number, (start, end, line) in enumerate(_spans(text), start=1)
    ]


class ParagraphTable:
    """All paragraphs of a run, in input order, as columns.

    Document texts are kept once; a paragraph is a span of its document's text. ``doc[i]``
    indexes ``docs``; ``start``/``end`` are character offsets into that document.

    >>> table = ParagraphTable()
    >>> table.add_document("a", "One.\\n\\nTwo\\nlines.")
    2
    >>> table.paragraph(1)
    Paragraph(doc='a', number=2, line=3, start=6, end=16, text='Two\\nlines.')
    """

    def __init__(self) -> None:
        self.docs: list[str] = []
        self.doc_texts: list[str] = []
        self._doc = array("q")
        self._number = array("q")
        self._line = array("q")
        self._start = array("q")
        self._end = array("q")

    def add_document(self, name: str, text: str) -> int:
        """Segment a document and append its paragraphs; return how many it has."""
        index = len(self.docs)
        self.docs.append(name)
        self.doc_texts.append(text)
        count = 0
        for number, (start, end, line) in enumerate(_spans(text), start=1):
            self._line.append(line)
            self._start.append(start)
            self._end.append(end)
            count = number
        self._number.extend(range(1, count + 1))
        self._doc.extend(repeat(index, count))
        return count

    def __len__(self) -> int:
        return len(self._doc)

    @property
    def doc(self) -> np.ndarray:
        return _column(self._doc)

    def lengths(self) -> np.ndarray:
        """Characters in each paragraph."""
        return _column(self._end) - _column(self._start)

    def global_spans(self) -> tuple[str, np.ndarray, np.ndarray]:
        """All document texts joined, and each paragraph's span in the joined text."""
        bases = np.zeros(len(self.docs) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, self.doc_texts), dtype=np.int64, count=len(self.docs)), out=bases[1:])
        starts = _column(self._start) + bases[self.doc]
        return "".join(self.doc_texts), starts, starts + self.lengths()

    def paragraphs(self, indices: np.ndarray) -> list[Paragraph]:
        """The paragraphs at ``indices``, gathered column by column: a report makes one for
        every cluster member, and a million of them one at a time took most of a second."""
        doc = self.doc[indices].tolist()
        starts = _column(self._start)[indices].tolist()
        ends = _column(self._end)[indices].tolist()
        texts = [self.doc_texts[d][start:end] for d, start, end in zip(doc, starts, ends)]
        names = list(map(self.docs.__getitem__, doc))
        numbers = _column(self._number)[indices].tolist()
        lines = _column(self._line)[indices].tolist()
        return list(map(Paragraph, names, numbers, lines, starts, ends, texts))

    def paragraph(self, i: int) -> Paragraph:
        return self.paragraphs(np.array([i]))[0]


def _column(values: array) -> np.ndarray:
    return np.frombuffer(values, dtype=np.int64) if len(values) else np.zeros(0, dtype=np.int64)
