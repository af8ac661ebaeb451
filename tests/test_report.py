"""The JSON report is written by hand for speed: it must parse back to exactly the dicts the
Python API gives, whatever the documents' names and texts hold."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.paragraphs import Paragraph
from dedup.pipeline import Cluster, Member, find_duplicates
from dedup.config import Config
from dedup.report import DEFAULT_WIDTH, _cluster_json, _word_keys, cluster_dict, differs, member_dict, member_json, params_dict, stats_dict, write_jsonl, write_report

# Quotes, backslashes, control characters, non-ASCII and lone surrogates: all must round-trip.
TEXT = st.text(st.characters(codec=None), max_size=40)
SCORE = st.floats(min_value=0.0, max_value=1.0)


ONE_PARAGRAPH = find_duplicates({"a": "A paragraph of its own."})


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
    result = dataclasses.replace(ONE_PARAGRAPH, clusters=found)
    out = io.StringIO()
    write_jsonl(result, out)
    lines = out.getvalue().split("\n")  # JSON Lines ends lines at \n only; text may hold U+2028 and such
    assert lines.pop() == ""
    assert json.loads(lines.pop()) == {"type": "stats", "stats": stats_dict(result), "params": params_dict(result)}
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


# ---------------------------------------------------------------------------------------------
# On large inputs: lines fit a width, the longest clusters and lists are cut, and what is left
# out is counted.

# Names and words of any script, East Asian wide characters and emoji among them; the report
# counts characters (code points), so a wide character counts as one.
WIDE = st.sampled_from(["日本語", "文書", "가나다", "👩\u200d👩\u200d👧", "ｆｕｌｌ", "e\u0301"])
NAME = st.lists(st.characters(codec=None) | WIDE | st.sampled_from(["/", "dir/", "\x1b[2J"]), min_size=1, max_size=200).map("".join)
WORDS = st.lists(st.text(st.characters(codec=None), min_size=1, max_size=30) | WIDE, max_size=12).map(" ".join)
REUSED = (
    "The crisis has emerged after a police officer was charged with murder for shooting a man "
    "dead in south London, and armed officers across the capital handed in their permits."
)


def text_lines(result: object, **options: object) -> list[str]:
    out = io.StringIO()
    write_report(result, out, "text", **options)  # type: ignore[arg-type]
    return out.getvalue().split("\n")


@pytest.mark.parametrize("width", [40, 80, 120, 200])
@settings(max_examples=40, deadline=None)
@given(names=st.lists(NAME, min_size=2, max_size=4, unique=True), extra=WORDS)
def test_every_line_of_the_text_report_fits_the_width(width: int, names: list[str], extra: str) -> None:
    documents = {name: f"{CLUSTERED} {extra}\n\n{REUSED if k % 2 else extra}\n\n{extra} {REUSED}" for k, name in enumerate(names)}
    result = find_duplicates(documents, Config(reuse=True))
    lines = text_lines(result, width=width)
    assert any(line.startswith("Cluster ") for line in lines)
    assert [line for line in lines if len(line) > width] == []
    assert [line for line in lines if UNPRINTABLE.search(line)] == []


def test_a_long_name_is_shortened_in_the_middle_and_the_preview_keeps_its_room() -> None:
    long_name = "/usr/share/doc/" + "very-long-directory-name/" * 8 + "changelog.Debian"
    result = find_duplicates({long_name: CLUSTERED, "b": CLUSTERED})
    lines = text_lines(result, width=80)
    (rep,) = [line for line in lines if " rep " in line]
    assert len(rep) <= 80
    assert rep.startswith("  /usr/share") and "…" in rep and "changelog.Debian:1" in rep  # its end kept
    where, preview = rep[2:].split("  rep  ")
    assert len(where.rstrip()) <= len(preview) and preview == "Soldiers are on standby for armed…"  # half the room each
    narrow = text_lines(result, width=40)
    (rep,) = [line for line in narrow if " rep " in line]
    assert rep.endswith("  rep  Soldiers are on sta…")  # never less than MIN_PREVIEW characters


def test_the_default_width_is_stable_and_one_hundred() -> None:
    long_name = "x" * 150
    result = find_duplicates({long_name: CLUSTERED + " " + REUSED, "b": CLUSTERED + " " + REUSED})
    default = text_lines(result)
    assert default == text_lines(result, width=None) == text_lines(result, width=DEFAULT_WIDTH)
    assert DEFAULT_WIDTH == 100 and max(map(len, default)) == 100
    assert text_lines(result, width=200) != default  # a terminal's width is used when given


def many_clusters(clusters: int, members: int) -> dict[str, str]:
    """Documents holding ``clusters`` distinct paragraphs; the first is repeated in ``members``
    documents, each of the others in two, so the first cluster is the largest."""
    texts = [f"Paragraph {k} says something of its own: {' '.join(f'w{k}x{j}' for j in range(12))}." for k in range(clusters)]
    documents = {f"big{d}.txt": texts[0] for d in range(members)}
    for k, text in enumerate(texts[1:], 1):
        documents[f"pair{k}a.txt"] = text
        documents[f"pair{k}b.txt"] = text
    return documents


def test_top_and_max_members_count_what_they_leave_out_and_the_summary_counts_everything() -> None:
    result = find_duplicates(many_clusters(1240, 990))
    report = "\n".join(text_lines(result, top=6, max_members=5))
    assert report.count("\nCluster ") + report.startswith("Cluster ") == 6
    assert report.startswith("Cluster 1: 990 paragraphs in 990 documents\n")  # the largest first
    assert "\n  … 985 more members (--max-members)\n" in report  # 990 - 5
    assert report.count(" more member") == 1  # the pair clusters are shown whole
    assert "\n… 1,234 more clusters (--top)\n" in report
    assert "\n  clusters              1,240\n" in report
    assert f"\n  duplicate paragraphs  {989 + 1239:,}\n" in report
    everything = "\n".join(text_lines(result, top=None, max_members=None, top_documents=None))
    assert "more member" not in everything and "more cluster" not in everything
    assert everything.count("\nCluster ") + 1 == 1240


def test_max_members_counts_the_representative() -> None:
    result = find_duplicates(many_clusters(1, 4))
    lines = text_lines(result, max_members=1)
    assert lines[:3] == ["Cluster 1: 4 paragraphs in 4 documents", lines[1], "  … 3 more members (--max-members)"]
    assert " rep " in lines[1]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"top": -1}, "top must be at least 0", id="top"),
        pytest.param({"max_members": 0}, "max_members must be at least 1", id="max_members"),
        pytest.param({"top_documents": -2}, "top_documents must be at least 0", id="top_documents"),
    ],
)
def test_bad_limits_are_refused(options: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        text_lines(find_duplicates({"a": CLUSTERED, "b": CLUSTERED}), **options)


def test_a_member_shows_where_it_differs_and_an_exact_copy_its_start() -> None:
    changed = "Soldiers are on standby for armed police after scores of Metropolitan officers stood down."
    copy = "SOLDIERS are on standby for armed police, after scores of officers stood down!"
    lines = text_lines(find_duplicates({"a": CLUSTERED, "b": changed, "c": copy}))
    b = next(line for line in lines if line.startswith("  b:1"))
    c = next(line for line in lines if line.startswith("  c:1"))
    assert "{+Metropolitan+}" in b  # the word the representative lacks, marked
    assert "…after scores of {+Metropolitan+} officers stood down." in b  # with a few words before it
    assert c.endswith("1.00  SOLDIERS are on standby for armed police, after scores of officers stood down!")


def test_the_word_that_differs_is_shown_however_late_it_comes() -> None:
    rep = " ".join(f"word{k}" for k in range(200))
    member = rep.replace("word150", "CHANGED")
    (line,) = [line for line in text_lines(find_duplicates({"a": rep, "b": member}), width=60) if line.startswith("  b:1")]
    assert len(line) <= 60 and "{+CHANGED+}" in line and "word149" in line


@settings(max_examples=300, deadline=None)
@given(rep=WORDS, member=WORDS, width=st.integers(20, 120), with_text=st.booleans())
def test_an_excerpt_fits_and_closes_what_it_marks(rep: str, member: str, width: int, with_text: bool) -> None:
    excerpt = differs(member, set(_word_keys(rep)), width, rep if with_text else None)
    if excerpt is None:
        assert all(key in set(_word_keys(rep)) for key in _word_keys(member))
        if with_text:  # nothing to show: the same words in the same order
            assert [_word_keys(w) for w in member.split()] == [_word_keys(w) for w in rep.split()]
        return
    assert len(excerpt) <= width
    assert "\n" not in excerpt and UNPRINTABLE.search(excerpt) is None
    if not set("{}[]+-") & set(member + rep):  # (the texts' own brackets would count too)
        for opening, closing in (("{+", "+}"), ("[-", "-]")):
            assert excerpt.count(opening) == excerpt.count(closing), f"{excerpt!r} leaves a run open"


def test_a_member_that_only_lacks_words_shows_them_struck_where_they_were() -> None:
    rep = "The committee met on Tuesday to review the annual budget and agreed to fund three new libraries in the northern districts next year."
    trimmed = "The committee met on Tuesday to review the annual budget and agreed to fund three new libraries next year."
    lines = text_lines(find_duplicates({"a": rep, "b": trimmed}), width=80)
    b = next(line for line in lines if line.startswith("  b:1"))
    assert b.endswith("…three new libraries [-in the northern districts-] next year.")
    cut = text_lines(find_duplicates({"a": rep, "b": rep.rsplit(" in the", 1)[0] + "."}), width=80)
    # Six words cut off the end: named by their first two, after the last word kept.
    assert next(line for line in cut if line.startswith("  b:1")) == "  b:1   0.71  …three new libraries. [-in the …-] (contains 1.00)"


def test_containment_is_shown_where_it_explains_the_match() -> None:
    lines = text_lines(find_duplicates({"a": "More Latest News", "b": "See more Latest News"}), width=80)
    assert lines[2] == "  b:1   0.50  {+See+} more Latest News (contains 1.00)"
    narrow = text_lines(find_duplicates({"a" * 30: "More Latest News", "b": "See more Latest News"}), width=40)
    assert all(len(line) <= 40 for line in narrow) and any(line.strip() == "(contains 1.00)" for line in narrow)


def own(name: str, k: int) -> str:
    """A paragraph like no other."""
    return " ".join(f"{name}{k}w{j}" for j in range(10))


def test_documents_are_listed_by_duplicate_share_and_cut_to_top_documents() -> None:
    documents = {
        "low.txt": "\n\n".join([CLUSTERED, *(own("low", k) for k in range(9))]),
        "mid.txt": "\n\n".join([CLUSTERED, *(own("mid", k) for k in range(3))]),
        "high.txt": "\n\n".join([CLUSTERED, own("high", 0)]),
        "whole.txt": CLUSTERED,
    }
    result = find_duplicates(documents)
    lines = text_lines(result)
    start = lines.index("  duplicate share per document") + 1
    assert [line.split()[0] for line in lines[start : start + 3]] == ["whole.txt", "high.txt", "mid.txt"]  # low.txt holds the representative
    assert lines[start].endswith("1 of 1  100.0%") and lines[start + 2].endswith("1 of 4   25.0%")
    cut = text_lines(result, top_documents=1)
    start = cut.index("  duplicate share per document") + 1
    assert cut[start : start + 2] == [lines[start], "    … 2 more documents (--top-documents)"]


def test_reuse_is_cut_to_top_too() -> None:
    sentences = [own("wire", k) for k in range(12)]
    documents = {"wire": "\n\n".join(sentences)}
    for k in range(4):  # each paper merges three of the wire's paragraphs into one: near none of them
        documents[f"paper{k}"] = own(f"paper{k}", 0) + "\n\n" + " ".join(sentences[3 * k : 3 * k + 3])
    result = find_duplicates(documents, Config(reuse=True))
    full = "\n".join(text_lines(result))
    assert "Reused text: 4 more paragraphs mostly made of earlier documents" in full
    cut = "\n".join(text_lines(result, top=2))
    assert cut.count("from wire:") == 2 and "\n… 2 more reused paragraphs (--top)\n" in cut
