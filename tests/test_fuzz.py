"""Fuzzing what reads untrusted input: JSON Lines, text files and paragraph segmentation.

Bounded so that the whole file runs in seconds in CI; each property is one a user relies on:
no input stops a run with a traceback, every line or file is accounted for (a document or a
recorded skip), and the paragraph spans a report gives can be sliced out of the text.
"""

from __future__ import annotations

import codecs
import io
import json
import re

import numpy as np

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup.documents import Document, DocumentReader, Skip
from dedup.paragraphs import ParagraphTable, segment, spans

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Any code point, lone surrogates included (JSON's "\ud800" escapes make them).
ANY_CHAR = st.characters(codec=None, exclude_categories=())
ANY_TEXT = st.text(ANY_CHAR, max_size=40)

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=12,
)


def dumps(value: object, ascii_only: bool) -> bytes:
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


@st.composite
def documents_as_json(draw: st.DrawFn) -> bytes:
    """An object with a text and an id of any JSON type, and other fields of any shape."""
    obj = draw(st.dictionaries(ANY_TEXT, JSON_VALUES, max_size=3))
    if draw(st.booleans()):
        obj["text"] = draw(ANY_TEXT | JSON_VALUES)
    if draw(st.booleans()):
        obj["id"] = draw(JSON_VALUES)
    return dumps(obj, draw(st.booleans()))


def nested(depth: int, kind: str) -> bytes:
    if kind == "array":
        return b"[" * depth + b"]" * depth
    return b'{"text": "x", "a": ' + b'{"a": ' * depth + b"0" + b"}" * depth + b"}"


def field_holding(raw: bytes) -> bytes:
    return b'{"id": "n", "text": "x", "f": ' + raw + b"}"


LINES = st.one_of(
    st.binary(max_size=60),
    documents_as_json(),
    st.builds(nested, st.integers(100, 3000), st.sampled_from(["array", "object"])),
    st.integers(1, 6000).map(lambda n: field_holding(b"-" * (n % 2) + b"7" * n)),
    st.integers(300, 400).map(lambda n: field_holding(b"1e" + b"9" * n)),  # a float that overflows
    st.binary(max_size=30).map(lambda raw: b'{"text": "' + raw + b'"}'),  # invalid UTF-8 inside a string
    st.lists(st.sampled_from([b"\\ud800", b"\\udc00", b"\\ud83d\\ude00", b"\\u0000", b"\\u", b"\\x", b"a", b"\\\\"]), max_size=6).map(
        lambda parts: b'{"id": "' + b"".join(parts) + b'", "text": "' + b"".join(reversed(parts)) + b'"}'
    ),
    st.sampled_from([b"", b" ", b"\t\r", b"\xef\xbb\xbf", b"NaN", b"-Infinity", b"null", b"{}", b'{"text": "a"} x']),
)


def read_stdin(data: bytes, jsonl: bool) -> tuple[list[Document], list[Skip]]:
    reader = DocumentReader(["-"], jsonl=jsonl, text=not jsonl, stdin=io.BytesIO(data))
    return list(reader), reader.skipped


@FUZZ
@given(st.lists(LINES, max_size=8), st.sampled_from([b"", codecs.BOM_UTF8]), st.booleans())
def test_every_nonblank_jsonl_line_is_a_document_or_a_skip(lines: list[bytes], bom: bytes, final_newline: bool) -> None:
    data = bom + b"\n".join(lines) + (b"\n" if final_newline else b"")
    documents, skipped = read_stdin(data, jsonl=True)
    # The reader's lines: ended by \n only, blank when only ASCII whitespace.
    nonblank = [number for number, line in enumerate(data.split(b"\n"), start=1) if line.strip()]
    assert len(documents) + len(skipped) == len(nonblank)
    assert all(isinstance(d.text, str) and isinstance(d.name, str) for d in documents)
    assert all(s.source.startswith("<stdin>:") and s.reason for s in skipped)
    assert {int(s.source.rsplit(":", 1)[1]) for s in skipped} <= set(nonblank)


BOMS = [codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE]
ENCODED_TEXT = st.builds(
    lambda text, codec: "\ufeff".encode(codec) + text.encode(codec),
    st.text(max_size=60),
    st.sampled_from(["utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"]),
)
FILE_BYTES = st.one_of(
    st.binary(max_size=200),
    st.builds(bytes.__add__, st.sampled_from(BOMS), st.binary(max_size=120)),
    ENCODED_TEXT,
    st.text(ANY_CHAR, max_size=80).map(lambda text: text.encode("utf-8", "surrogatepass")),
)


@FUZZ
@given(FILE_BYTES)
def test_a_text_file_is_one_document_or_one_skip(raw: bytes) -> None:
    documents, skipped = read_stdin(raw, jsonl=False)
    assert len(documents) + len(skipped) == 1
    for document in documents:
        assert document.text.strip()
        # Segmentation reads these bytes in place of the text: they must be the text's UTF-8.
        assert document.utf8 is None or document.utf8 == document.text.encode("utf-8")
        table = ParagraphTable([document.name], [document.text], [document.utf8])
        assert table.paragraphs(np.arange(len(table))) == segment(document.text, document.name)


LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Text made mostly of what decides paragraph boundaries, and any text at all.
STRUCTURE = st.lists(
    st.sampled_from(["a", "é", "𝔘", " ", "\t", "\n", "\n", "\r", "\r\n", "\f", "\v", "\x85", "\u2028", "\u00a0", "\ud800", "\x00"]),
    max_size=60,
).map("".join)


@FUZZ
@given(STRUCTURE | st.text(ANY_CHAR, max_size=200))
def test_paragraph_spans_are_ordered_disjoint_and_hold_text(text: str) -> None:
    found = spans(text)
    previous_end = 0
    for start, end, line in found:
        assert previous_end <= start < end <= len(text)
        assert text[start:end].strip()  # blank is what str.isspace says
        assert line == 1 + len(LINE_BREAK.findall(text, 0, start))
        previous_end = end
    assert [(p.start, p.end, p.line) for p in segment(text)] == found
