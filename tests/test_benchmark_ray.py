"""A tiny smoke of ``python -m benchmarks ray``, run the way a person runs it: a few thousand
paragraphs through the local engine and the Ray engine, each in its own process. It checks
that the rows are there and sane and that the two reports are identical; it never checks speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# Smoke runs of the benchmark suites: CI runs them; deselect locally with -m 'not bench'.
pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parent.parent
PARAGRAPHS = 3000


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("bench") / "rows.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "ray", "--sizes", str(PARAGRAPHS), "--shards", "50", "--object-store-gb", "0.2", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(out.read_text()), done.stdout


def test_both_engines_ran_and_agree(suite: tuple[dict[str, Any], str]) -> None:
    document, printed = suite
    (row,) = document["results"]
    assert row["paragraphs"] == PARAGRAPHS
    assert row["identical"] is True and document["failures"] == []
    assert row["local"]["clusters"] == row["ray"]["clusters"] > 0
    assert row["local"]["seconds"] > 0 and row["ray"]["seconds"] > 0
    assert "reports identical: yes" in printed and "ray vs local" in printed


def test_memory_and_shuffle_are_measured(suite: tuple[dict[str, Any], str]) -> None:
    document, printed = suite
    ray_row = document["results"][0]["ray"]
    assert ray_row["peak_rss_mb"] > 10 and ray_row["worker_peak_mb"] and min(ray_row["worker_peak_mb"].values()) > 10
    shuffled = ray_row["shuffled"]
    assert set(shuffled) == {"band keys and sets", "candidate pairs", "pairs with their earlier set", "verified pairs"}
    # Each distinct paragraph sends its band keys (8 bytes a band) through the first shuffle.
    assert shuffled["band keys and sets"] > 8 * 20 * PARAGRAPHS * 0.5
    assert "shuffled per paragraph" in printed and "driver peak MB" in printed


def test_the_machine_and_conditions_are_printed(suite: tuple[dict[str, Any], str]) -> None:
    document, printed = suite
    assert document["suite"] == "ray" and document["machine"]["cores"] >= 1
    assert printed.startswith("machine ") and "conditions" in printed and "local Ray of 2 CPUs" in printed
