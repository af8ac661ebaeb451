"""A tiny run of the reuse-detection suite (``python -m benchmarks.reuse``, as a person runs it),
and checks of the labelled corpus its numbers rest on. No speed is asserted.

The corpus is real prose from the standard library itself, so nothing needs installing and
nothing here is skipped.
"""

from __future__ import annotations

import doctest
import json
import math
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

import dedup
from benchmarks import reuse, reuse_corpus
from benchmarks.reuse_corpus import CATEGORIES, REUSE_CATEGORIES, REUSE_SHARE, ReuseCorpus, make_reuse_corpus

# Smoke runs of the benchmark suites: CI runs them; deselect locally with -m 'not bench'.
pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = 6  # sources, and as many derived documents: every category appears


@pytest.fixture(scope="module")
def suite_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("reuse") / "rows.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.reuse", "--documents", str(DOCUMENTS), "--unrelated", "6", "--speed-paragraphs", "3000", "--repeat", "1", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return json.loads(out.read_text()), done.stdout


@pytest.fixture(scope="module")
def corpus() -> ReuseCorpus:
    return make_reuse_corpus(DOCUMENTS, seed=0, unrelated=6)


def _share(value: float) -> bool:
    return isinstance(value, float) and math.isfinite(value) and 0.0 <= value <= 1.0


def test_the_table_lists_every_category_and_the_targets(suite_run: tuple[dict[str, Any], str]) -> None:
    document, stdout = suite_run
    assert stdout.startswith("machine "), stdout[:200]
    lines = stdout.splitlines()
    header = next(line for line in lines if line.startswith("category "))
    assert all(name in header for name in ("jaccard", "ngram-3 >=0.5", "ngram-5 >=0.5", "ngram-8 >=0.5"))
    for category in CATEGORIES:
        row = next((line for line in lines if line.startswith(category + " ")), None)
        assert row is not None, f"no table row for {category}"
        assert row.split()[1] == f"{document['corpus']['counts'][category]:,}"
    for row in ("all reuse", "unrelated real text", "seconds", "time vs jaccard", "threshold sweep"):
        assert any(line.startswith(row) for line in lines), row
    assert sum(line.startswith("target   ") for line in lines) == 5
    assert "met" in stdout and document["failures"] == []


def test_the_speed_of_the_report_with_and_without_reuse_is_a_ratio(suite_run: tuple[dict[str, Any], str]) -> None:
    document, stdout = suite_run
    speed = document["speed"]
    assert speed["paragraphs"] == 3000 and speed["reused_reuse"] > 0 and speed["reused_jaccard"] == 0
    for kind in ("library", "command"):
        assert 0 < speed[f"{kind}_jaccard"] and 0 < speed[f"{kind}_reuse"]
        line = next(line for line in stdout.splitlines() if line.startswith(f"  {kind} "))
        assert f"ratio {speed[f'{kind}_reuse'] / speed[f'{kind}_jaccard']:5.2f}x" in line and "target <= 2x" in line


def test_jaccard_and_ngram_rows_are_shares(suite_run: tuple[dict[str, Any], str]) -> None:
    document, stdout = suite_run
    rows = {row["key"]: row for row in document["rows"]}
    assert {"jaccard", "ngram-3", "ngram-5", "ngram-8"} <= set(rows)
    counts = document["corpus"]["counts"]
    for key in ("jaccard", "ngram-3", "ngram-5", "ngram-8"):
        row = rows[key]
        assert row["seconds"] > 0
        assert set(row["categories"]) == set(CATEGORIES)
        for category, result in row["categories"].items():
            assert result["n"] == counts[category] > 0
            assert 0 <= result["traced"] <= result["found"] <= result["n"]
            assert _share(result["found_share"]) and _share(result["traced_share"]), (key, category, result)
        assert row["unrelated_flagged"] >= 0
    # The reuse row is there once dedup.reuse exists, and otherwise the run says so.
    if "reuse" in rows:
        assert all(_share(r["found_share"]) for r in rows["reuse"]["categories"].values())
    else:
        assert "not available yet" in document["unavailable"]["reuse"] and "not available yet" in stdout


def test_controls_come_out_as_they_must(suite_run: tuple[dict[str, Any], str]) -> None:
    """Exact copies are what today's dedup exists to find; fresh real text shares no run of
    words with the sources (the pool is cleaned of those), so long n-grams never flag it."""
    document, _ = suite_run
    rows = {row["key"]: row for row in document["rows"]}
    jaccard = rows["jaccard"]["categories"]
    assert jaccard["exact"]["found_share"] == 1.0 and jaccard["exact"]["traced_share"] == 1.0
    assert jaccard["fresh"]["found"] == 0
    assert rows["ngram-5"]["categories"]["fresh"]["found"] == 0
    assert rows["ngram-8"]["categories"]["fresh"]["found"] == 0
    assert rows["jaccard"]["unrelated_flagged"] == 0
    # A cluster has one representative, so Jaccard can never trace a merge of two documents to both.
    assert jaccard["merge-2-docs"]["traced"] == 0 < jaccard["merge-2-docs"]["found"]
    # Containment of a paragraph copied whole is 1: merges, prefixes and split parts score 1.
    for key in ("ngram-3", "ngram-5", "ngram-8"):
        for category in ("merge", "prefix", "suffix", "split"):
            assert rows[key]["categories"][category]["found_share"] == 1.0, (key, category)


def test_sweep_flags_fewer_as_the_threshold_rises(suite_run: tuple[dict[str, Any], str]) -> None:
    document, _ = suite_run
    for row in document["rows"]:
        if row["key"] == "jaccard":
            assert row["sweep"] == []
            continue
        thresholds = [point["threshold"] for point in row["sweep"]]
        assert thresholds == list(reuse.THRESHOLDS)
        for category in CATEGORIES:
            found = [point["categories"][category]["found"] for point in row["sweep"]]
            assert found == sorted(found, reverse=True), (row["key"], category, found)


def test_corpus_is_deterministic_and_seeded(corpus: ReuseCorpus) -> None:
    again = make_reuse_corpus(DOCUMENTS, seed=0, unrelated=6)
    assert again.fingerprint() == corpus.fingerprint() and again.labels == corpus.labels
    assert make_reuse_corpus(DOCUMENTS, seed=1, unrelated=6).fingerprint() != corpus.fingerprint()


def test_labels_match_the_text(corpus: ReuseCorpus) -> None:
    """Each label says what its paragraph is, checked against the text of its sources."""
    texts = {name: [p.text for p in dedup.segment(text)] for name, text in [*corpus.documents, *corpus.unrelated]}
    for name, _ in corpus.derived:
        assert [label.paragraph for label in corpus.labels if label.doc == name] == list(range(1, len(texts[name]) + 1))
    source_text = "\n".join(text for _, text in corpus.sources)
    assert {label.category for label in corpus.labels} == set(CATEGORIES)
    for label in corpus.labels:
        text = texts[label.doc][label.paragraph - 1]
        origin = [texts[doc][number - 1] for doc, number in label.sources]
        assert label.reuse == (label.category in REUSE_CATEGORIES) == (label.verbatim >= REUSE_SHARE)
        if label.category in ("exact", "reorder-paragraphs"):
            assert text == origin[0]
        elif label.category in ("merge", "merge-2-docs"):
            assert text == " ".join(origin) and len(label.source_docs) == (1 if label.category == "merge" else 2)
        elif label.category in ("split", "suffix"):
            assert origin[0].endswith(text) or text in origin[0]
        elif label.category == "prefix":
            words, full = text.split(), origin[0].split()
            assert full[: len(words)] == words and 0.45 <= len(words) / len(full) <= 0.85
        elif label.category == "reorder-sentences":
            assert text != origin[0] and sorted(text.split()) == sorted(origin[0].split())
        elif label.category == "fresh":
            assert label.sources == () and text not in source_text
        elif label.category == "hard-negative":
            assert len(label.sources) == 1 and 0 < label.verbatim < 0.5
        else:  # word edits: few enough that most of the words stay
            assert text != origin[0] or label.category == "light-edit"
    # the parts of each split paragraph add up to it
    for doc, _ in corpus.derived:
        parts: dict[tuple[str, int], list[str]] = {}
        for label in corpus.labels:
            if label.doc == doc and label.category == "split":
                parts.setdefault(label.sources[0], []).append(texts[doc][label.paragraph - 1])
        for (source, number), pieces in parts.items():
            assert 2 <= len(pieces) <= 3 and " ".join(pieces) == texts[source][number - 1]


def test_an_oversized_corpus_is_refused() -> None:
    with pytest.raises(reuse_corpus.PoolTooSmall, match="ask for at most"):
        make_reuse_corpus(100_000)
    done = subprocess.run([sys.executable, "-m", "benchmarks.reuse", "--documents", "100000"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "ask for at most" in done.stderr


class _Link:
    def __init__(self, doc: str, paragraph: int, coverage: float, source: str) -> None:
        self.doc, self.paragraph, self.coverage = doc, paragraph, coverage
        self.sources = (types.SimpleNamespace(doc=source),)


def test_reuse_links_are_read_by_coverage(corpus: ReuseCorpus, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reuse row flags a paragraph when a link's coverage reaches the threshold, and
    traces it to that link's sources: a stand-in module that links every paragraph of every
    later document to the first one, at coverage 0.6, shows it."""
    first = corpus.documents[0][0]

    def find_reuse(documents: list[tuple[str, str]]) -> list[_Link]:
        return [_Link(name, p.number, 0.6, first) for name, text in documents[1:] for p in dedup.segment(text)]

    monkeypatch.setitem(sys.modules, "dedup.reuse", types.SimpleNamespace(find_reuse=find_reuse))
    detector = next(d for d in reuse.detectors(0.5) if d.name == "reuse")
    measured = reuse.measure(detector, corpus)
    assert measured.main is not None and measured.unavailable is None
    assert measured.main.categories["fresh"].found_share == 1.0
    for label in corpus.labels:
        assert measured.main.categories[label.category].found == corpus.count(label.category)
    traced = measured.main.categories["exact"].traced
    assert traced == sum(1 for label in corpus.labels if label.category == "exact" and label.source_docs == {first})
    by_threshold = {o.threshold: o for o in measured.sweep}
    assert by_threshold[0.6].reuse.found_share == 1.0 and by_threshold[0.7].reuse.found == 0
    assert by_threshold[0.7].unrelated_flagged == 0 < by_threshold[0.6].unrelated_flagged


def test_a_missing_reuse_module_is_reported_not_raised(corpus: ReuseCorpus, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dedup.reuse", None)  # importing it raises ImportError
    detector = next(d for d in reuse.detectors() if d.name == "reuse")
    measured = reuse.measure(detector, corpus)
    assert measured.main is None and measured.unavailable is not None and "not available yet" in measured.unavailable


def test_scores_at_a_threshold() -> None:
    scores = reuse.Scores({("b", 1): ((0.4, frozenset({"a"})), (0.7, frozenset({"c"}))), ("b", 2): ((0.2, frozenset({"a"})),)})
    low, high = scores.at(0.3), scores.at(0.5)
    assert low.flagged == {("b", 1)} and low.sources[("b", 1)] == {"a", "c"}
    assert high.flagged == {("b", 1)} and high.sources[("b", 1)] == {"c"}
    assert scores.at(0.7).flagged == {("b", 1)}  # at the threshold is flagged
    assert scores.at(0.8).flagged == frozenset()


def test_corpus_docstring_examples() -> None:
    assert doctest.testmod(reuse_corpus, raise_on_error=True).attempted > 0
