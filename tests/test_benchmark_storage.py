"""A tiny run of ``python -m benchmarks storage``: dedup's embedded index, LMDB and RocksDB behind
the same Index contract, a few hundred paragraphs, and one kill -9 trial per store.

It checks that the three stores make the same decisions as dedup's own index, that the kill
test finds every committed batch whole and the batch under way whole or absent, and that the
contract holds for the library stores (pids in order, the earliest of a crowded bucket first).
Never speed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks import storage
from dedup.filter import Filter, index_params
from dedup.index import Records

# Smoke runs of the benchmark suites: CI runs them; deselect locally with -m 'not bench'.
pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parent.parent
PARAGRAPHS = 400
PRELOAD = 600
STORES = [key for key, _ in storage.STORES]


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("bench") / "rows.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "storage", "--sizes", str(PRELOAD), "--paragraphs", str(PARAGRAPHS), "--kill-trials", "1", "--kill-batch", "300", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return json.loads(out.read_text()), done.stdout


def test_every_store_has_a_sane_row(suite: tuple[dict[str, Any], str]) -> None:
    document, stdout = suite
    assert stdout.startswith("machine ")
    rows = {r["key"]: r for r in document["rows"]}
    assert set(rows) == set(STORES)
    for key, row in rows.items():
        assert row["paragraphs"] == PARAGRAPHS, key
        # the preload corpus has no planted copies: nearly every paragraph is indexed
        assert PRELOAD * 0.9 <= row["indexed_before"] <= PRELOAD, key
        assert row["indexed_after"] > row["indexed_before"]
        assert 0 < row["store_share"] < 1
        assert row["disk_mb"] > 0 and row["open_s"] >= 0
    assert rows["dedup_sqlite"]["ratio"] == pytest.approx(1.0)
    assert document["failures"] == []


def test_every_store_makes_the_same_decisions(suite: tuple[dict[str, Any], str]) -> None:
    document, _ = suite
    dropped = {r["key"]: r["dropped"] for r in document["rows"]}
    assert len(set(dropped.values())) == 1, dropped
    assert 0 < dropped["dedup_sqlite"] < PARAGRAPHS


def test_a_killed_writer_loses_nothing_committed_and_leaves_nothing_half_written(suite: tuple[dict[str, Any], str]) -> None:
    document, stdout = suite
    kills = {k["key"]: k for k in document["kill_tests"]}
    assert set(kills) == set(STORES)
    for key, kill in kills.items():
        assert kill["ok"], kill
        assert kill["committed"] >= 2, kill
        assert all(state == "whole" for state in kill["states"][: kill["committed"]]), kill
        assert kill["in_flight"] in ("whole", "absent")
        assert kill["states"][-1] == "absent"
    assert stdout.count(": PASSED") == len(STORES)


@pytest.mark.parametrize("store", ["lmdb", "rocksdb"])
def test_a_library_store_keeps_the_index_contract(tmp_path: Path, store: str) -> None:
    params = index_params(threshold=0.4)
    bands = params.bands
    with storage.open_store(store, str(tmp_path / "s"), params) as index:
        crowded = np.full((bands, storage.BUCKET_CAP + 6), 7, dtype=np.uint64)  # one key shared by all
        hashes = np.arange(1, 2 * crowded.shape[1] + 1, dtype=np.uint64)
        offsets = np.arange(0, len(hashes) + 1, 2)
        with index.batch():
            first = index.add(Records(["a"] * crowded.shape[1], np.arange(crowded.shape[1]), crowded, hashes, offsets, 5.0, exact_keys=np.arange(crowded.shape[1])))
        with pytest.raises(RuntimeError), index.batch():
            index.add(Records(["lost"], np.array([0]), np.full((bands, 1), 9, dtype=np.uint64), np.array([1], dtype=np.uint64), np.array([0, 1]), 6.0))
            raise RuntimeError("the batch fails: nothing of it may stay")
        assert first.tolist() == list(range(crowded.shape[1]))
        # a crowded bucket gives its earliest BUCKET_CAP pids, to each query that shares it
        q, p = index.query(np.full((bands, 2), 7, dtype=np.uint64))
        assert sorted(p[q == 0].tolist()) == list(range(storage.BUCKET_CAP))
        assert sorted(p[q == 1].tolist()) == list(range(storage.BUCKET_CAP))
        assert index.query(np.full((bands, 1), 9, dtype=np.uint64))[1].tolist() == []
        q, p = index.query_exact(np.array([3, 1000], dtype=np.uint64))
        assert (q.tolist(), p.tolist()) == ([0], [3])
        fetched = index.fetch(np.array([3, 0]))
        assert fetched.doc_ids == ["a", "a"] and fetched.paragraphs.tolist() == [3, 0]
        assert fetched.hashes.tolist() == [7, 8, 1, 2] and fetched.offsets.tolist() == [0, 2, 4]
        assert index.stats()["paragraphs"] == crowded.shape[1]
    # and it is all still there when opened again; a filter run's paragraphs are found by the next run
    text = "One paragraph about the river and the stone, and the bell."
    with storage.open_store(store, str(tmp_path / "s"), params) as index:
        assert index.stats()["paragraphs"] == crowded.shape[1]
        assert [doc.text for doc in Filter(index)([("d1", text)])] == [text]
    with storage.open_store(store, str(tmp_path / "s"), params) as index:
        step = Filter(index)
        assert [doc.text for doc in step([("d2", text.upper() + "\n\nSomething else entirely, new here.")])] == ["Something else entirely, new here."]
        assert step.stats.as_dict()["dropped"]["index"] == 1
