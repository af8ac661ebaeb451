"""A tiny smoke of ``python -m benchmarks filter``, run the way a person runs it: a few hundred
paragraphs, a few hundred preloaded, each peer in its own process, the Redis peers against a
real ``redis-server`` that the suite starts and stops. It checks that the rows are there and
sane and that every peer makes the same decisions; it never checks speed."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# Smoke runs of the benchmark suites: CI runs them; deselect locally with -m 'not bench'.
pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parent.parent
PARAGRAPHS = 300
PRELOAD = 300
REDIS_SAMPLE = 100
HAS_REDIS = shutil.which("redis-server") is not None


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    if not HAS_REDIS and os.environ.get("CI"):
        pytest.fail("redis-server is not installed; CI must install it for the Redis rows", pytrace=False)
    out = tmp_path_factory.mktemp("bench") / "rows.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "filter", "--paragraphs", str(PARAGRAPHS), "--preload", str(PRELOAD), "--redis-sample", str(REDIS_SAMPLE), "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return json.loads(out.read_text()), done.stdout


def rows_by(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["key"], r["setting"]): r for r in document["rows"]}


def test_the_machine_comes_first_then_the_task(suite: tuple[dict[str, Any], str]) -> None:
    document, stdout = suite
    assert stdout.startswith("machine ")
    # dedup's default threshold, and its band layout, for every peer
    assert "31 bands x 3 rows" in stdout
    assert (document["bands"], document["rows_per_band"], document["threshold"]) == (31, 3, 0.4)
    assert document["failures"] == []


def test_every_peer_has_its_rows(suite: tuple[dict[str, Any], str]) -> None:
    document, stdout = suite
    rows = rows_by(document)
    keys = ["datasketch_memory", "dedup_sqlite", "dedup_sqlite_one_thread"]
    if HAS_REDIS:
        keys += ["datasketch_redis", "dedup_redis"]
    else:
        assert "redis-server is not installed" in stdout
    # every peer in both settings: the same preload for every side
    assert set(rows) == {(key, setting) for key in keys for setting in ("empty", "preloaded")}
    for (key, setting), row in rows.items():
        assert row["threads"] == (1 if key.startswith("datasketch") or key.endswith("one_thread") else len(os.sched_getaffinity(0))), key


def test_rows_are_sane(suite: tuple[dict[str, Any], str]) -> None:
    document, _ = suite
    for (key, setting), row in rows_by(document).items():
        paragraphs = REDIS_SAMPLE if key == "datasketch_redis" else PARAGRAPHS
        assert row["paragraphs"] == paragraphs, (key, setting)
        assert 0 < row["seconds"] < 120 and math.isfinite(row["seconds"])
        assert row["paragraphs_per_s"] == pytest.approx(paragraphs / row["seconds"])
        assert 10 < row["peak_rss_mb"] < 4096
        assert row["ratio"] is not None and row["ratio"] > 0
        assert 0 < row["dropped"] < paragraphs
        if key in ("datasketch_redis", "dedup_redis"):
            assert row["server_rss_mb"] > 1
        if setting == "preloaded":
            # the preload corpus has no planted copies: nearly every paragraph is indexed
            assert PRELOAD * 0.9 <= row["indexed_before"] <= PRELOAD
            assert row["indexed_after"] > row["indexed_before"]
        else:
            assert row["indexed_before"] == 0


def test_every_peer_makes_the_same_decisions(suite: tuple[dict[str, Any], str]) -> None:
    # Same shingles, same band layout, exact Jaccard for every candidate, first seen wins.
    document, _ = suite
    rows = rows_by(document)
    for setting in ("empty", "preloaded"):
        drops = {key: row["dropped"] for (key, s), row in rows.items() if s == setting and key != "datasketch_redis"}
        assert len(set(drops.values())) == 1, drops
        # and every side held the same paragraphs before the stream (datasketch on Redis is
        # filled without queries, so it also holds the preload's own repeats)
        indexed = {key: row["indexed_before"] for (key, s), row in rows.items() if s == setting and key != "datasketch_redis"}
        assert len(set(indexed.values())) == 1, indexed


def test_targets_are_printed_with_a_verdict(suite: tuple[dict[str, Any], str]) -> None:
    document, stdout = suite
    lines = [line for line in stdout.splitlines() if line.startswith("target ")]
    assert any("SQLite index" in line and "paragraphs/s" in line for line in lines)
    assert any("SQLite index" in line and "peak RSS" in line for line in lines)
    assert all(line.endswith((": met", ": NOT met")) for line in lines)
    assert "embedded_rate_preloaded" in document["targets"]
    if HAS_REDIS:
        assert any("Redis index" in line and "vs datasketch" in line for line in lines)
        assert "redis_vs_datasketch_redis_empty" in document["targets"]


def test_no_redis_server_is_left_running(suite: tuple[dict[str, Any], str]) -> None:
    # The suite's servers run from its temporary directory, which is gone once it ends.
    done = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True)
    assert "dedup-bench-filter-" not in done.stdout


def test_a_preload_beyond_datasketch_is_dedup_alone_and_compared_with_nothing(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "filter", "--paragraphs", "100", "--preload", "200", "--datasketch-preload", "100", "--peers", "datasketch_memory,dedup_sqlite", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    rows = rows_by(json.loads(out.read_text()))
    assert {setting for _, setting in rows} == {"empty", "preloaded", "preloaded-dedup"}
    assert rows[("datasketch_memory", "preloaded")]["indexed_before"] == rows[("dedup_sqlite", "preloaded")]["indexed_before"] == 100
    assert ("datasketch_memory", "preloaded-dedup") not in rows
    alone = rows[("dedup_sqlite", "preloaded-dedup")]
    assert alone["indexed_before"] > 100 and alone["ratio"] is None
    assert "preloaded-dedup: only dedup's indexes hold 200 paragraphs" in done.stdout


def test_peers_can_be_chosen(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "filter", "--paragraphs", "100", "--preload", "0", "--peers", "dedup_sqlite", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    assert set(rows_by(json.loads(out.read_text()))) == {("dedup_sqlite", "empty"), ("dedup_sqlite_one_thread", "empty")}
    wrong = subprocess.run([sys.executable, "-m", "benchmarks", "filter", "--peers", "nope"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 2 and "peers are" in wrong.stderr
