"""A tiny smoke of ``python -m benchmarks containment``, run the way a person runs it: a few
hundred paragraphs against a few thousand preloaded, each peer in its own process. It checks
that the rows and the sizes are there and sane, and that containment adds reuse drops to the
same near-duplicate drops; it never checks speed."""

from __future__ import annotations

import json
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
HAS_REDIS = shutil.which("redis-server") is not None


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    if not HAS_REDIS and os.environ.get("CI"):
        pytest.fail("redis-server is not installed; CI must install it for the Redis sizes", pytrace=False)
    out = tmp_path_factory.mktemp("bench") / "rows.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "containment", "--paragraphs", "600", "--preload", "3000", "--bytes-sample", "500", "--reuse-every", "2", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return json.loads(out.read_text()), done.stdout


def test_both_filters_have_their_row_on_the_same_preloaded_index(suite: tuple[dict[str, Any], str]) -> None:
    document, stdout = suite
    assert stdout.startswith("machine ") and document["failures"] == []
    rows = {r["key"]: r for r in document["rows"]}
    assert set(rows) == {"bare", "jaccard", "containment"}
    for row in rows.values():
        assert row["paragraphs"] > 600 and row["paragraphs_per_s"] > 0 and row["peak_rss_mb"] > 0
        assert row["indexed_before"] > 2500
    assert rows["jaccard"]["ratio"] == 1.0
    # Containment only adds drops: the merged paragraphs, near no single preloaded one.
    assert rows["jaccard"]["dropped_reuse"] == rows["bare"]["dropped_reuse"] == 0 and rows["containment"]["dropped_reuse"] > 0
    assert rows["containment"]["dropped_near"] <= rows["jaccard"]["dropped_near"] == rows["bare"]["dropped_near"]


def test_postings_cost_bytes_and_the_figures_say_how_many(suite: tuple[dict[str, Any], str]) -> None:
    document, stdout = suite
    sizes = document["sizes"]
    assert sizes["sqlite_with_postings"]["paragraphs"] == sizes["sqlite_without_postings"]["paragraphs"] > 0
    assert sizes["sqlite_with_postings"]["bytes_per_paragraph"] > sizes["sqlite_without_postings"]["bytes_per_paragraph"] > 0
    if HAS_REDIS:
        assert sizes["redis_with_postings"]["bytes_per_paragraph"] > sizes["redis_without_postings"]["bytes_per_paragraph"] > 0
    assert "index bytes per paragraph" in stdout and "postings make the embedded index" in stdout
    assert "target   --containment" in stdout
