"""A tiny smoke of every benchmark suite, run the way a person runs them (``python -m
benchmarks ...`` in a subprocess), plus the corpus generator the numbers rest on.

These check that the suites run and report sane rows, and that the bit-identity check against
datasketch passes; they do not check speed (CI machines are too noisy for that).
"""

from __future__ import annotations

import doctest
import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks import corpus as corpus_module
from benchmarks._cli import cli_available
from benchmarks import hashing, memory, report
from benchmarks.corpus import make_corpus, read_paragraphs, write_corpus

# Smoke runs of the benchmark suites: CI runs them; deselect locally with -m 'not bench'.
pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parent.parent
HAS_RENSA = importlib.util.find_spec("rensa") is not None


def run_suite(tmp_path: Path, *args: str) -> tuple[dict[str, Any], str]:
    out = tmp_path / "rows.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", *args, "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert done.stdout.startswith("machine "), done.stdout[:200]
    return json.loads(out.read_text()), done.stdout


def assert_threads_stated(rows: dict[str, dict[str, Any]], one_thread: str) -> None:
    """Every row says how many threads its side ran on, and dedup has a row on one thread."""
    for key, row in rows.items():
        assert isinstance(row["threads"], int) and row["threads"] >= 1, key
    assert rows[one_thread]["threads"] == 1
    assert rows[one_thread.removesuffix("_one_thread")]["threads"] == len(os.sched_getaffinity(0))


def check_row(row: dict[str, Any], paragraphs: int) -> None:
    assert isinstance(row["name"], str) and row["name"]
    assert row["paragraphs"] == paragraphs
    assert 0 < row["seconds"] < 300 and math.isfinite(row["seconds"])
    assert row["paragraphs_per_s"] == pytest.approx(paragraphs / row["seconds"])
    # a Python process with numpy is tens of MB; a tiny corpus must not take gigabytes
    assert 10 < row["peak_rss_mb"] < 4096


def test_hashing_smoke(tmp_path: Path) -> None:
    document, stdout = run_suite(tmp_path, "hashing", "--paragraphs", "300", "--sample", "60", "--repeat", "1")
    rows = {r["key"]: r for r in document["rows"]}
    expected = {"datasketch_update", "datasketch_update_batch", "datasketch_bulk", "dedup", "dedup_one_thread"} | ({"rensa"} if HAS_RENSA else set())
    assert set(rows) == expected
    check_row(rows["datasketch_update"], 60)
    for key in expected - {"datasketch_update"}:
        check_row(rows[key], 300)
    assert rows["datasketch_update"]["ratio"] == pytest.approx(1.0)
    assert document["checks"]["bit_identical"] is True
    # on one thread or several, dedup's signatures are the same
    assert document["checks"]["compared"] == {"datasketch_update": 60, "datasketch_update_batch": 300, "datasketch_bulk": 300, "dedup_one_thread": 300}
    assert "PASSED" in stdout
    assert rows["dedup"]["first_call_s"] > 0
    assert_threads_stated(rows, one_thread="dedup_one_thread")
    # the headline is given against datasketch's fastest path as well as its slowest
    assert rows["datasketch_bulk"]["vs_bulk"] == "1.0x"
    assert document["targets"]["dedup_vs_datasketch_bulk"] == pytest.approx(rows["dedup"]["paragraphs_per_s"] / rows["datasketch_bulk"]["paragraphs_per_s"])
    assert "dedup.minhash_signatures vs datasketch bulk:" in stdout and "dedup.minhash_signatures, 1 thread vs datasketch bulk:" in stdout


def test_report_smoke(tmp_path: Path) -> None:
    document, stdout = run_suite(tmp_path, "report", "--paragraphs", "300")
    rows = {r["key"]: r for r in document["rows"]}
    assert {"reference_datasketch", "dedup_library", "dedup_library_one_thread"} <= set(rows)
    # every side at dedup's default threshold
    assert document["threshold"] == 0.4 and "Jaccard >= 0.4" in stdout
    assert_threads_stated(rows, one_thread="dedup_library_one_thread")
    assert rows["reference_datasketch"]["threads"] == 1
    assert ("reference_rensa" in rows) == HAS_RENSA
    # the CLI row is there, or the run says why not
    assert "dedup_cli" in rows or "dedup_cli" in document["skipped"]
    for row in rows.values():
        check_row(row, 300)
    assert document["detectable_copies"] > 10
    # verification is exact, so every peer finds nearly all planted copies above the threshold
    for key in ("reference_datasketch", "dedup_library"):
        assert rows[key]["recall"] >= 0.9, rows[key]
        assert rows[key]["clusters"] > 0
    assert set(rows["dedup_library"]["timings"]) >= {"normalize", "signatures", "lsh", "verify", "cluster"}
    if "dedup_cli" in rows:
        assert rows["dedup_cli"]["timings"], "the CLI's --profile output was not parsed"


def test_scaling_smoke(tmp_path: Path) -> None:
    document, stdout = run_suite(tmp_path, "scaling", "--sizes", "200,600")
    by_size: dict[int, list[dict[str, Any]]] = {}
    for row in document["rows"]:
        check_row(row, row["paragraphs"])
        by_size.setdefault(row["paragraphs"], []).append(row)
    assert sorted(by_size) == [200, 600]
    if cli_available() is None:
        for size, rows in by_size.items():
            assert_threads_stated({r["key"]: r for r in rows}, one_thread="dedup_cli_one_thread")
    for row in by_size[600]:
        assert row["size_ratio"] == pytest.approx(3.0)
        assert row["time_ratio"] > 0
    assert "x time" in stdout


def test_memory_smoke(tmp_path: Path) -> None:
    document, stdout = run_suite(tmp_path, "memory", "--paragraphs", "2000")
    if "skipped" in document:
        pytest.skip(f"the dedup CLI cannot run here: {document['skipped']}")
    rows = {r["key"]: r for r in document["rows"]}
    assert set(rows) == set(memory.SHAPES) | {"prose_one_thread"}
    assert document["failures"] == []
    assert_threads_stated({"prose": rows["prose"], "prose_one_thread": rows["prose_one_thread"]}, one_thread="prose_one_thread")
    for key, row in rows.items():
        check_row(row, 2000)
        assert row["under_bound"] is True
        if key != memory.FILTER_SHAPE:  # the filter has no --profile
            assert row["timings"], "the CLI's --profile output was not parsed"
    # The shapes are what they claim: a template pairs every paragraph with many others, one
    # repeated paragraph is one cluster of exact copies and needs no pairs at all.
    assert rows["templated"]["candidate_pairs"] > 20 * 2000
    assert rows["templated"]["clusters"] == 1
    assert (rows["identical"]["clusters"], rows["identical"]["duplicate_paragraphs"], rows["identical"]["candidate_pairs"]) == (1, 1999, 0)
    assert rows["vocab12"]["candidate_pairs"] > rows["vocab12"]["verified_pairs"] > 0
    assert "<= 2 GiB" in stdout and "target   peak RSS" in stdout


def test_memory_docstring_examples() -> None:
    failed, attempted = doctest.testmod(memory, optionflags=doctest.ELLIPSIS)
    assert attempted > 0 and failed == 0


# ---------------------------------------------------------------------------------------------
# The corpus: deterministic, and shaped as the README says.


def test_corpus_is_deterministic_and_seeded() -> None:
    a = make_corpus(500, seed=7)
    assert a.paragraphs == make_corpus(500, seed=7).paragraphs
    assert a.paragraphs != make_corpus(500, seed=8).paragraphs


def test_corpus_shape() -> None:
    c = make_corpus(5000, seed=1)
    words = np.array([len(p.split()) for p in c.paragraphs])
    assert len(c) == 5000
    assert 15 <= np.median(words) <= 25
    assert words.min() >= 1 and words.max() <= 800
    assert np.percentile(words, 99) > 100  # a long tail
    assert len(c.planted) == 500
    doc_of = np.searchsorted(c.doc_starts, np.arange(5000), side="right") - 1
    copies, sources, edits = c.planted.T
    assert (doc_of[sources] < doc_of[copies]).all(), "copies come from earlier documents"
    exact = edits == 0
    assert 0.3 < exact.mean() < 0.7
    assert all(c.paragraphs[i] == c.paragraphs[j] for i, j in zip(copies[exact], sources[exact]))
    assert all(c.paragraphs[i] != c.paragraphs[j] for i, j in zip(copies[~exact][:50], sources[~exact][:50]))


def test_written_corpus_reads_back_as_dedup_segments_it(tmp_path: Path) -> None:
    from dedup.paragraphs import segment

    c = make_corpus(400, seed=2)
    jsonl = write_corpus(c, tmp_path / "c.jsonl", "jsonl")
    assert read_paragraphs(jsonl) == c.paragraphs
    directory = write_corpus(c, tmp_path / "docs", "txt")
    files = sorted(directory.glob("*.txt"))
    assert len(files) == len(c.names)
    segmented = [p.text for f in files for p in segment(f.read_text(encoding="utf-8"))]
    assert segmented == c.paragraphs


def test_reference_pipelines_agree_with_dedup_on_a_small_corpus() -> None:
    c = make_corpus(400, seed=4)
    ours, _, _ = report.dedup_library(c.documents)
    theirs = report.reference_datasketch(c.documents)
    # Both verify exactly at the same threshold; clustering differs (first-seen vs union-find),
    # so compare which paragraphs are in any cluster.
    assert ((ours >= 0) == (theirs >= 0)).mean() > 0.98


@pytest.mark.parametrize("module", [pytest.param(corpus_module, id="corpus"), pytest.param(hashing, id="hashing"), pytest.param(report, id="report")])
def test_docstring_examples(module: Any) -> None:
    failed, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert attempted > 0 and failed == 0
