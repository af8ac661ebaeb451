"""dedup.paragraphs: blocks of non-blank lines, with their line numbers and character spans."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.paragraphs import Paragraph, ParagraphTable, segment

LINE_BREAK = re.compile(r"\r\n|\r|\n")

# Text made mostly of what decides paragraph boundaries: line breaks of every kind, form feeds,
# spaces and Unicode whitespace that does not break lines.
STRUCTURE = st.lists(
    st.sampled_from(["a", "b", "é", ".", " ", "\t", "\n", "\n", "\r", "\r\n", "\f", "\u00a0", "\u2028", "\v", "\x85", "\x1c"]),
    max_size=60,
).map("".join)
ANY_TEXT = STRUCTURE | st.text() | st.lists(st.sampled_from(["word ", "\n", "\r\n", "\n\n", " \n", "\f", "  "]), max_size=30).map("".join)


def reference_paragraphs(text: str) -> list[tuple[int, str]]:
    """(first line, text with line breaks written as \\n) of each paragraph, by the documented
    rule: lines end at \\n, \\r\\n or \\r; a whitespace-only line is blank; a form feed also
    ends a paragraph."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    paragraphs: list[tuple[int, list[str]]] = []
    open_paragraph: tuple[int, list[str]] | None = None
    for number, line in enumerate(lines, start=1):
        pieces = line.split("\f")
        for k, piece in enumerate(pieces):
            if not piece.strip():
                open_paragraph = None
                continue
            if k == 0 and open_paragraph is not None:
                open_paragraph[1].append(piece)
            else:
                open_paragraph = (number, [piece])
                paragraphs.append(open_paragraph)
            if k < len(pieces) - 1:  # a form feed follows
                open_paragraph = None
    return [(line, "\n".join(pieces)) for line, pieces in paragraphs]


def as_lf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", [], id="empty"),
        pytest.param(" \t\n\r\n\f\u00a0\n", [], id="only-whitespace"),
        pytest.param("One line", [(1, 1, "One line")], id="no-newline-at-all"),
        pytest.param("first\n\nlast", [(1, 1, "first"), (2, 3, "last")], id="trailing-text-without-newline"),
        pytest.param(
            "Title\r\n\r\nOne line\r\nand two\r\n",
            [(1, 1, "Title"), (2, 3, "One line\r\nand two")],
            id="crlf",
        ),
        pytest.param("a\rb\r\rc\r", [(1, 1, "a\rb"), (2, 4, "c")], id="lone-cr"),
        pytest.param("a\r\n\nb", [(1, 1, "a"), (2, 3, "b")], id="crlf-then-lf-is-a-blank-line"),
        pytest.param("a\n\rb", [(1, 1, "a"), (2, 3, "b")], id="lf-then-cr-is-a-blank-line"),
        pytest.param("page one\fpage two", [(1, 1, "page one"), (2, 1, "page two")], id="form-feed-mid-line"),
        pytest.param("end of page\n\fnext page\nmore", [(1, 1, "end of page"), (2, 2, "next page\nmore")], id="form-feed-line-start"),
        pytest.param("a\n\f\nb", [(1, 1, "a"), (2, 3, "b")], id="form-feed-alone-on-a-line"),
        pytest.param(
            "  indented\n\tsecond line  \n",
            [(1, 1, "  indented\n\tsecond line  ")],
            id="indentation-and-trailing-spaces-kept",
        ),
        pytest.param("a\n   \t\nb", [(1, 1, "a"), (2, 3, "b")], id="whitespace-only-line-is-blank"),
        pytest.param("a\n\u00a0\u3000\nb", [(1, 1, "a"), (2, 3, "b")], id="unicode-whitespace-line-is-blank"),
        pytest.param("\n\n\nx\ny", [(1, 4, "x\ny")], id="leading-blank-lines"),
        pytest.param("a\u2028b\x85c", [(1, 1, "a\u2028b\x85c")], id="only-cr-and-lf-break-lines"),
    ],
)
def test_segment_examples(text: str, expected: list[tuple[int, int, str]]) -> None:
    paragraphs = segment(text, doc="d")
    assert [(p.number, p.line, p.text) for p in paragraphs] == expected
    for p in paragraphs:
        assert p.doc == "d"
        assert text[p.start : p.end] == p.text


def test_spans_count_characters_not_bytes() -> None:
    [p] = segment("\n\nÇa été\n", doc="x")
    assert (p.start, p.end, p.line) == (2, 8, 3)


@settings(max_examples=200, deadline=None)
@given(ANY_TEXT)
def test_segment_matches_the_reference(text: str) -> None:
    paragraphs = segment(text)
    assert [(p.line, as_lf(p.text)) for p in paragraphs] == reference_paragraphs(text)
    assert [p.number for p in paragraphs] == list(range(1, len(paragraphs) + 1))


@settings(max_examples=200, deadline=None)
@given(ANY_TEXT)
def test_segment_invariants(text: str) -> None:
    paragraphs = segment(text)
    owner = [0] * len(text)
    previous_end = 0
    for p in paragraphs:
        assert text[p.start : p.end] == p.text
        assert previous_end <= p.start < p.end
        previous_end = p.end
        for k in range(p.start, p.end):
            owner[k] += 1
        # No blank line and no page break inside a paragraph; it starts and ends on text.
        assert "\f" not in p.text
        assert all(line.strip() for line in LINE_BREAK.split(p.text)), repr(p.text)
    # Every non-whitespace character is in exactly one paragraph.
    for k, ch in enumerate(text):
        if not ch.isspace():
            assert owner[k] == 1, (k, ch)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=5), ANY_TEXT), max_size=5))
def test_table_holds_what_segment_returns(documents: list[tuple[str, str]]) -> None:
    table = ParagraphTable([name for name, _ in documents], [text for _, text in documents])
    expected: list[Paragraph] = []
    doc_indices: list[int] = []
    for index, (name, text) in enumerate(documents):
        paragraphs = segment(text, doc=name)
        expected.extend(paragraphs)
        doc_indices.extend([index] * len(paragraphs))
    assert len(table) == len(expected)
    assert [table.paragraph(i) for i in range(len(table))] == expected
    assert table.doc.tolist() == doc_indices
    # The byte spans, which normalization reads, hold the same text.
    for i, p in enumerate(expected):
        assert bytes(table.src[table.byte_start[i] : table.byte_end[i]]).decode("utf-8", "surrogatepass") == p.text


def test_blank_means_what_str_isspace_says_for_every_code_point() -> None:
    """Each character alone between blank lines: a paragraph exactly when it is not whitespace."""
    candidates = [chr(c) for c in range(0x110000) if chr(c) not in "\n\r\f"]
    table = ParagraphTable(["all"], ["\n\n".join(candidates)])
    found = {p.text for p in table.paragraphs(np.arange(len(table)))}
    assert found == {c for c in candidates if not c.isspace()}


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("d", 0, 1, 0, 1, "x"), id="number-0"),
        pytest.param(("d", 1, 0, 0, 1, "x"), id="line-0"),
        pytest.param(("d", 1, 1, -1, 1, "x"), id="negative-start"),
        pytest.param(("d", 1, 1, 5, 4, "x"), id="start-after-end"),
    ],
)
def test_paragraph_rejects_bad_positions(args: tuple) -> None:
    with pytest.raises(ValueError):
        Paragraph(*args)


@pytest.mark.parametrize(
    "line_break",
    [pytest.param("\n", id="lf"), pytest.param("\r\n", id="crlf")],
)
def test_long_blank_line_is_segmented_in_linear_time(line_break: str) -> None:
    text = f"first{line_break}" + " " * 200_000 + f"{line_break}last"
    started = time.perf_counter()
    paragraphs = segment(text)
    elapsed = time.perf_counter() - started
    assert [p.text for p in paragraphs] == ["first", "last"]
    # Not a speed test: a linear scan takes milliseconds here, a quadratic one hours.
    assert elapsed < 2, f"{elapsed:.2f} s"
