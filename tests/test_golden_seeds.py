"""The seeds: five news articles whose shared text dedup must find with default settings.

Two layers: the clusters the product promises, named by opening words (these never change
without a decision), and a golden copy of the whole JSON report (any change in output shows up
as a diff; regenerate with DEDUP_UPDATE_GOLDEN=1 after checking it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from dedup.cli import main

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
S003 = "seeds/003_2475bc7a0b5db3b5.txt"
S004 = "seeds/004_1bf6964548cc96ce.txt"
S001 = "seeds/001_e804c163b52665c0.txt"
S002 = "seeds/002_1e70c997dd1933b4.txt"
GOLDEN = Path(__file__).parent / "golden" / "seeds_report.json"

# (opening words in 003, opening words in 004) for every reused paragraph.
SKY_PAIRS = [
    ("Soldiers are also on standby", "Soldiers are on standby"),
    ("The crisis has emerged after a police officer", "The crisis has emerged after an unnamed officer"),
    ("The officer accused of his murder is named only as NX121", "The officer accused of his murder is named only as NX121"),
    ("The force’s commissioner Sir Mark Rowley welcomed a review", "The force’s commissioner Sir Mark Rowley welcomed a review"),
    ("“It is essential", "“It is essential"),
    ("“Of course, where wrongdoing", "“Of course, where wrongdoing"),
    ("“I have been clear", "“I have been clear"),
    ("“The system that judges", "“The system that judges"),
    ("“A review is needed", "“A review is needed"),
    ("Please use Chrome browser for a more accessible video player", "Please use Chrome browser for a more accessible video player"),
    ("Articles You May Like", "Articles You May Like"),
]


def run_report(*paths: str) -> dict:
    result = CliRunner().invoke(main, ["report", *paths, "--format", "json", "--reuse"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(autouse=True)
def in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def find_cluster(report: dict, doc: str, opening: str) -> dict:
    found = [c for c in report["clusters"] if any(m["doc"] == doc and m["text"].startswith(opening) for m in c["members"])]
    assert len(found) == 1, f"{doc}: {opening!r} is in {len(found)} clusters"
    return found[0]


def test_seed_files_are_the_shared_seeds() -> None:
    shared = ROOT.parent / "shared" / "seeds"
    if not shared.is_dir():
        pytest.skip("shared seeds not beside the checkout")
    for path in shared.glob("*.txt"):
        assert (SEEDS / path.name).read_bytes() == path.read_bytes()


@pytest.mark.parametrize(("in_003", "in_004"), [pytest.param(a, b, id=a[:30]) for a, b in SKY_PAIRS])
def test_sky_pair_paragraphs_cluster_together(in_003: str, in_004: str) -> None:
    report = run_report(S003, S004)
    cluster = find_cluster(report, S003, in_003)
    members = {(m["doc"], m["text"][: len(in_004)]) for m in cluster["members"]}
    assert (S004, in_004) in members
    assert cluster["members"][0]["doc"] == S003  # 003 comes first: it is the representative


def test_sky_pair_has_nothing_else() -> None:
    report = run_report(S003, S004)
    assert len(report["clusters"]) == len(SKY_PAIRS)
    for cluster in report["clusters"]:
        assert [m["doc"] for m in cluster["members"]] == [S003, S004]
        for m in cluster["members"][1:]:
            assert m["jaccard"] >= report["params"]["threshold"]


def test_reworded_and_prefix_pairs_carry_their_measured_similarity() -> None:
    report = run_report(S003, S004)
    crisis = find_cluster(report, S003, "The crisis has emerged")["members"][1]
    assert 0.4 <= crisis["jaccard"] < 0.5
    rowley = find_cluster(report, S003, "The force’s commissioner")["members"][1]
    assert rowley["containment"] == 1.0  # 004's version is a prefix of 003's
    assert rowley["jaccard"] < 1.0


def test_all_seeds_lbc_soldiers_joins_the_sky_cluster() -> None:
    report = run_report("seeds")
    cluster = find_cluster(report, S003, "Soldiers are also on standby")
    docs = [m["doc"] for m in cluster["members"]]
    assert docs == [S001, S003, S004]


@pytest.mark.parametrize(
    ("doc", "opening", "count"),
    [
        pytest.param(S001, "The Archbishop of Canterbury Justin Welby has resigned", 3, id="001-archbishop"),
        pytest.param(S001, "Sadiq Khan has told LBC he has confidence", 2, id="001-khan-caption"),
        pytest.param(S001, "Labour’s Jonathan Ashworth told LBC News", 2, id="001-ashworth-caption"),
        pytest.param(S002, "Former French president Nicolas Sarkozy", 2, id="002-sarkozy"),
        pytest.param(S002, "Brexit could happen elsewhere in Europe", 2, id="002-brexit"),
    ],
)
def test_all_seeds_captions_repeated_within_a_document(doc: str, opening: str, count: int) -> None:
    report = run_report("seeds")
    cluster = find_cluster(report, doc, opening)
    in_doc = [m for m in cluster["members"] if m["doc"] == doc]
    assert len(in_doc) == count


def test_all_seeds_nothing_unrelated_clustered() -> None:
    """Every member of every cluster shares text with its representative: at least a third of
    the smaller paragraph's shingles (containment), besides the Jaccard threshold."""
    report = run_report("seeds")
    for cluster in report["clusters"]:
        for m in cluster["members"][1:]:
            assert m["jaccard"] >= 0.4
            assert m["containment"] >= 0.5


def test_golden_report() -> None:
    report = run_report("seeds")
    if os.environ.get("DEDUP_UPDATE_GOLDEN"):
        # Rewritten, not compared: a run that rewrites the file cannot also be its check.
        GOLDEN.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        pytest.fail("golden report rewritten, so not checked: read its diff (git diff tests/golden), then run again without DEDUP_UPDATE_GOLDEN")
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert report == golden


def test_seed_reuse_traces_004_to_003() -> None:
    report = run_report(S003, S004)
    rowley = next(link for link in report["reuse"] if link["text"].startswith("The force’s commissioner Sir Mark Rowley"))
    assert rowley["coverage"] == 1.0 and [s["doc"] for s in rowley["sources"]] == [S003]
    crisis = next(link for link in report["reuse"] if link["text"].startswith("The crisis has emerged"))
    assert crisis["coverage"] > 0.8
    for link in report["reuse"]:
        for source in link["sources"]:
            for span in source["spans"]:
                assert span["text"] and span["source_text"]
