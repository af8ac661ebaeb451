"""Paragraphs of symbols only (separators such as ``-----``): normalization leaves them nothing,
so they are matched by their own text, in both commands."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from dedup.cli import main

DOC_A = "Chapter one begins with a storm over the harbour.\n\n-----\n\nThe boats stayed in.\n\n* * *"
DOC_B = "A different story about a quiet morning in town.\n\n-----\n\nNothing happened at all.\n\n=====\n\n*  *  *"


def test_the_filter_drops_a_repeated_separator_and_keeps_a_new_one(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(DOC_A, encoding="utf-8")
    (tmp_path / "b.txt").write_text(DOC_B, encoding="utf-8")
    index = str(tmp_path / "idx")
    runner = CliRunner()
    first = runner.invoke(main, ["filter", "--index", index, str(tmp_path / "a.txt"), "--rejects", str(tmp_path / "r1.jsonl")])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["text"] == DOC_A  # nothing seen before
    second = runner.invoke(main, ["filter", "--index", index, str(tmp_path / "b.txt"), "--rejects", str(tmp_path / "r2.jsonl")])
    assert second.exit_code == 0, second.output
    kept = json.loads(second.stdout)["text"].split("\n\n")
    # "-----" and "* * *" (whitespace aside) were seen in a.txt; "=====" was not.
    assert kept == ["A different story about a quiet morning in town.", "Nothing happened at all.", "====="]
    rejects = [json.loads(line) for line in (tmp_path / "r2.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted((r["text"], r["reason"], r["match"]["doc"], r["match"]["paragraph"]) for r in rejects) == [
        ("*  *  *", "index", str(tmp_path / "a.txt"), 4),
        ("-----", "index", str(tmp_path / "a.txt"), 2),
    ]
    # And a rerun of a.txt drops its separators too: nothing is kept twice.
    third = runner.invoke(main, ["filter", "--index", index, str(tmp_path / "a.txt")])
    assert third.exit_code == 0 and third.stdout == ""


def test_the_report_clusters_repeated_separators(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(DOC_A, encoding="utf-8")
    (tmp_path / "b.txt").write_text(DOC_B, encoding="utf-8")
    result = CliRunner().invoke(main, ["report", str(tmp_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    clusters = sorted(sorted(m["text"] for m in c["members"]) for c in report["clusters"])
    assert clusters == [["*  *  *", "* * *"], ["-----", "-----"]]
