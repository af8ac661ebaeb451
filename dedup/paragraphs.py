"""Paragraphs: blocks of non-blank lines between blank lines, with where they came from.

Lines end at ``\\n``, ``\\r\\n`` or a lone ``\\r``; a line holding only whitespace is blank; a form
feed (page break) also ends a paragraph. Each paragraph records its document, its 1-based number
in the document, its 1-based first line and its span ``[start, end)`` in characters of the
document's text (after the byte-order mark, which decoding removes). The paragraph's text is
exactly ``text[start:end]``, line endings included.

Paragraphs are kept in columns (:class:`ParagraphTable`), not one object each, so a million of
them cost arrays, not a million objects. :class:`Paragraph` is the per-paragraph view the
report and the API hand out. The boundaries are found by a compiled scan of the documents'
UTF-8 (``dedup._kernel.paragraphs``), whose bytes the table keeps for normalization.

>>> [(p.number, p.line, p.text) for p in segment("Title\\r\\n\\r\\nOne line\\r\\nand two\\n\\n\\f\\nLast")]
[(1, 1, 'Title'), (2, 3, 'One line\\r\\nand two'), (3, 7, 'Last')]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Paragraph", "ParagraphTable", "segment", "spans"]


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


def segment(text: str, doc: str = "") -> list[Paragraph]:
    """The paragraphs of one document, as :class:`Paragraph` objects."""
    return [
        Paragraph(doc, number, line, start, end, text[start:end])
        for number, (start, end, line) in enumerate(spans(text), start=1)
    ]


def spans(text: str) -> list[tuple[int, int, int]]:
    """``(start, end, line)`` of each paragraph of ``text``: one document, with little overhead
    (a :class:`ParagraphTable` segments many at once)."""
    from dedup import _kernel

    columns = _kernel.paragraphs_of(text.encode("utf-8", "surrogatepass"))
    return list(zip(columns[0].tolist(), columns[1].tolist(), columns[4].tolist()))


class ParagraphTable:
    """All paragraphs of a run's documents, in input order, as columns.

    The documents are kept once, as ``src``: the UTF-8 of all of them, end to end, with
    ``byte_start``/``byte_end`` each paragraph's span in it (a paragraph's text is decoded from
    there). ``doc[i]`` indexes ``docs``; ``start``/``end`` are character offsets into that
    document, ``line`` its first line there, and ``number`` its 1-based place in it.

    >>> table = ParagraphTable(["a"], ["One.\\n\\nTwo\\nlines."])
    >>> len(table), table.paragraph(1)
    (2, Paragraph(doc='a', number=2, line=3, start=6, end=16, text='Two\\nlines.'))
    """

    def __init__(self, names: Sequence[str], texts: Sequence[str], utf8: Sequence[bytes | None] | None = None) -> None:
        """``utf8[d]``, where given, is ``texts[d]`` encoded already (as a file's bytes are)."""
        from dedup import _kernel

        if len(names) != len(texts) or (utf8 is not None and len(utf8) != len(texts)):
            raise ValueError("one name (and one encoding, if any) per text")
        self.docs = list(names)
        # "surrogatepass" keeps lone surrogates (JSON can carry them); normalization sends
        # them to its reference path, and decoding gives them back.
        encoded = [
            known if known is not None else text.encode("utf-8", "surrogatepass")
            for text, known in zip(texts, utf8 or [None] * len(texts))
        ]
        bounds = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=bounds[1:])
        self._utf8 = b"".join(encoded)
        self.src = np.frombuffer(self._utf8, dtype=np.uint8)
        del encoded
        counts, self.start, self.end, self.byte_start, self.byte_end, self.line = _kernel.paragraph_spans(self.src, bounds)
        self.doc = np.repeat(np.arange(len(self.docs)), counts)
        firsts = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=firsts[1:])
        self.number = np.arange(1, len(self.doc) + 1) - firsts[:-1][self.doc]

    def __len__(self) -> int:
        return len(self.doc)

    def lengths(self) -> np.ndarray:
        """Characters in each paragraph."""
        return self.end - self.start

    def paragraphs(self, indices: np.ndarray) -> list[Paragraph]:
        """The paragraphs at ``indices``, gathered column by column: a report makes one for
        every cluster member, and a million of them one at a time took most of a second."""
        utf8 = self._utf8
        texts = [
            utf8[start:end].decode("utf-8", "surrogatepass")
            for start, end in zip(self.byte_start[indices].tolist(), self.byte_end[indices].tolist())
        ]
        names = list(map(self.docs.__getitem__, self.doc[indices].tolist()))
        numbers, lines = self.number[indices].tolist(), self.line[indices].tolist()
        return list(map(Paragraph, names, numbers, lines, self.start[indices].tolist(), self.end[indices].tolist(), texts))

    def paragraph(self, i: int) -> Paragraph:
        return self.paragraphs(np.array([i]))[0]
