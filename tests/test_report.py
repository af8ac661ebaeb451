"""The JSON report is written by hand for speed: it must parse back to exactly the dicts the
Python API gives, whatever the documents' names and texts hold."""

from __future__ import annotations

import io
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.paragraphs import Paragraph
from dedup.pipeline import Cluster, Member
from dedup.report import _cluster_json, cluster_dict, member_dict, member_json, write_jsonl

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

    out = io.StringIO()
    write_jsonl(Found(), out)  # type: ignore[arg-type]
    lines = out.getvalue().split("\n")  # JSON Lines ends lines at \n only; text may hold U+2028 and such
    assert lines.pop() == ""
    assert [json.loads(line) for line in lines] == [cluster_dict(c) for c in found]
