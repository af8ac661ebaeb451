"""The JSON report is written by hand for speed: it must parse back to exactly the dicts the
Python API gives, whatever the documents' names and texts hold."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.paragraphs import Paragraph
from dedup.pipeline import Cluster, Member, find_duplicates
from dedup.report import _cluster_json, cluster_dict, member_dict, member_json, write_jsonl, write_report

# Quotes, backslashes, control characters, non-ASCII and lone surrogates: all must round-trip.
TEXT = st.text(st.characters(codec=None), max_size=40)
SCORE = st.floats(min_value=0.0, max_value=1.0)


@st.composite
def members(draw: st.DrawFn) -> Member:
    start = draw(st.integers(0, 10**9))
    text = draw(TEXT)
    paragraph = Paragraph(draw(TEXT), draw(st.integers(1, 10**6)), draw(st.integers(1, 10**6)), start, start + len(text), text)
    return Member(paragraph, draw(st.integers(0, 10**9)), draw(SCORE), draw(SCORE))


def clusters() -> st.SearchStrategy[Cluster]:
    return st.builds(Cluster, st.integers(1, 10**6), st.lists(members(), min_size=2, max_size=4).map(tuple))


@settings(max_examples=300, deadline=None)
@given(members())
def test_a_member_as_json_is_its_dict(member: Member) -> None:
    assert json.loads(member_json(member)) == member_dict(member)


@settings(max_examples=100, deadline=None)
@given(clusters())
def test_a_cluster_as_json_is_its_dict_on_one_line_or_a_member_a_line(cluster: Cluster) -> None:
    one_line = _cluster_json(cluster)
    assert "\n" not in one_line
    assert json.loads(one_line) == cluster_dict(cluster)
    indented = _cluster_json(cluster, "      ")
    assert json.loads(indented) == cluster_dict(cluster)
    assert indented.count("\n      {") == cluster.size
    assert indented.endswith("\n    ]}")


@settings(max_examples=50, deadline=None)
@given(st.lists(clusters(), max_size=3))
def test_jsonl_is_one_cluster_dict_a_line(found: list[Cluster]) -> None:
    class Found:  # what write_jsonl reads of a Result
        clusters = found
        also: list[object] = []
        reuse: list[object] = []

    out = io.StringIO()
    write_jsonl(Found(), out)  # type: ignore[arg-type]
    lines = out.getvalue().split("\n")  # JSON Lines ends lines at \n only; text may hold U+2028 and such
    assert lines.pop() == ""
    assert [json.loads(line) for line in lines] == [cluster_dict(c) for c in found]


# ---------------------------------------------------------------------------------------------
# The text report is read on a terminal: names and texts others chose must not drive it.

# C0 and C1 controls (newline included: a report's own lines are its only line breaks), DEL,
# the bidirectional overrides and isolates that reorder what a terminal shows, and lone
# surrogates, which have no encoding to print.
UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
HOSTILE = st.lists(
    st.characters(codec=None) | st.sampled_from(["\x1b[2J", "\x1b]0;title\x07", "\x9b31m", "\b", "\r", "\n", "\t", "\u202e", "\x85", "\x00"]),
    max_size=20,
).map("".join)
CLUSTERED = "Soldiers are on standby for armed police after scores of officers stood down."


def text_report(documents: dict[str, str]) -> str:
    out = io.StringIO()
    write_report(find_duplicates(documents), out, "text")
    return out.getvalue()


@settings(max_examples=200, deadline=None)
@given(HOSTILE, HOSTILE, HOSTILE)
def test_the_text_report_prints_no_control_character_but_its_own_newlines(name_a: str, name_b: str, text: str) -> None:
    shared = f"{CLUSTERED} {text}"  # its first paragraph, at least, is in both documents
    documents = {"a" + name_a: shared, "b" + name_b: f"Introduction.\n\n{shared}"}
    report = text_report(documents)
    assert "Cluster 1:" in report  # the names and texts are in it, not just the summary
    assert [line for line in report.split("\n") if UNPRINTABLE.search(line)] == []


def test_the_text_report_shows_control_characters_as_escapes() -> None:
    text = "\x1b]0;owned\x07Both say these words.\u202e\b"
    report = text_report({"a\x1b[31m.txt": text, "b\u202e.txt": text})
    lines = report.splitlines()
    assert lines[1] == "  a\\x1b[31m.txt:1    rep  \\x1b]0;owned\\x07Both say these words.\\u202e\\x08"
    assert lines[2] == "  b\\u202e.txt:1     1.00  \\x1b]0;owned\\x07Both say these words.\\u202e\\x08"
    assert "\n    b\\u202e.txt  1 of 1  100.0%" in report  # the share per document


def test_the_text_report_leaves_printable_text_untouched() -> None:
    name, text = "Ça/été 日本 👩\u200d👩\u200d👧 C:\\notes.txt", "Naïve “quotes” — 𝔘𝔫𝔦 👩\u200d👩\u200d👧\tand\\tabs, " + CLUSTERED
    report = text_report({name: text, "b": text})
    assert f"  {name}:1  " in report and "Naïve “quotes” — 𝔘𝔫𝔦 👩\u200d👩\u200d👧 and\\tabs," in report


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv"])
def test_machine_formats_keep_names_and_texts_exact(fmt: str) -> None:
    name, text = "a\x1b[31m\u202e.txt", f"\x1b]0;owned\x07 {CLUSTERED}\r"
    out = io.StringIO()
    write_report(find_duplicates({name: text, "b": text}), out, fmt)
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
        members = [(row["doc"], row["text"]) for row in rows]
    else:
        clusters = json.loads(out.getvalue())["clusters"] if fmt == "json" else [json.loads(out.getvalue().split("\n")[0])]
        members = [(m["doc"], m["text"]) for m in clusters[0]["members"]]
    assert members[0] == (name, text.rstrip("\r"))
