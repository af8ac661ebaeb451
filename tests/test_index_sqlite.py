"""The embedded index (dedup/index/sqlite/): its files, its transactions, its lookup."""

from __future__ import annotations

import dataclasses

import fcntl
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup._kernel import hash_sort, merge_runs, sorted_ranges
from dedup.index import Fetched, IndexError_, IndexMismatch, IndexParams, Postings, Records, open_index
from dedup.index.sqlite import DB_NAME, DEFAULT_BUCKET_CAP, SEGMENTS_DIR, SQLiteIndex, backend, database, segments

PARAMS = IndexParams(num_perm=128, seed=1, shingle="word:3", threshold=0.4, bands=31, rows=3)
BANDS = PARAMS.bands


# ---------------------------------------------------------------------------------------------
# Synthetic paragraphs: band keys and shingle sets made up from a number, so a test can say
# which paragraphs share keys without computing signatures.


def keys_of(*ids: int) -> np.ndarray:
    """Band keys ``(BANDS, len(ids))``: paragraph ``i``'s band ``b`` is a hash of ``(i, b)``."""
    return np.array([[_mix(i * 1000 + b) for i in ids] for b in range(BANDS)], dtype=np.uint64)


def _mix(x: int) -> int:
    x = (x * 0x9E3779B97F4A7C15) % 2**64
    return x ^ (x >> 31)


def sets_of(*ids: int) -> tuple[np.ndarray, np.ndarray]:
    """Shingle set of paragraph ``i``: ``i % 5 + 1`` hashes derived from ``i``."""
    parts = [np.array(sorted({_mix(i * 7 + k) for k in range(i % 5 + 1)}), dtype=np.uint64) for i in ids]
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in parts])]).astype(np.int64)
    return (np.concatenate(parts) if parts else np.empty(0, np.uint64)), offsets


def add(index: SQLiteIndex, doc: str, ids: list[int], at: float = 1_700_000_000.0) -> np.ndarray:
    hashes, offsets = sets_of(*ids)
    with index.batch():
        return index.add(Records([doc] * len(ids), np.arange(1, len(ids) + 1), keys_of(*ids), hashes, offsets, at))


def set_k(fetched: Fetched, k: int) -> list[int]:
    return fetched.hashes[fetched.offsets[k] : fetched.offsets[k + 1]].tolist()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "idx"


@pytest.fixture
def index(path: Path) -> Iterator[SQLiteIndex]:
    with SQLiteIndex.open(path, PARAMS, background=False) as idx:
        yield idx


# ---------------------------------------------------------------------------------------------
# Creating and opening


def test_created_on_first_use_as_one_directory_with_its_parameters(tmp_path: Path) -> None:
    where = tmp_path / "deep" / "idx"
    with open_index(str(where), PARAMS) as index:
        assert isinstance(index, SQLiteIndex)
    assert sorted(p.name for p in where.iterdir()) == [DB_NAME, SEGMENTS_DIR]
    assert [p.name for p in tmp_path.iterdir()] == ["deep"]  # no temporary directory left behind
    with open_index(str(where)) as index:  # maintenance: no parameters given
        assert index.params == PARAMS


def test_an_empty_directory_becomes_an_index(tmp_path: Path) -> None:
    with SQLiteIndex.open(tmp_path, PARAMS):
        pass
    assert (tmp_path / DB_NAME).is_file()


def test_reopening_with_other_parameters_is_refused_naming_them(path: Path) -> None:
    SQLiteIndex.open(path, PARAMS).close()
    other = IndexParams(num_perm=128, seed=1, shingle="char:5", threshold=0.5, bands=25, rows=5)
    with pytest.raises(IndexMismatch, match=r"shingle 'word:3' \(asked for 'char:5'\).*threshold 0.4 \(asked for 0.5\)") as refused:
        SQLiteIndex.open(path, other)
    # Bands and rows follow from the threshold: the user never set them, so they are not named...
    assert "bands" not in str(refused.value) and "rows" not in str(refused.value)
    # ...unless they are all that differs (an index made by a dedup that chose them otherwise).
    with pytest.raises(IndexMismatch, match=r"other settings: bands 31 \(asked for 32\), rows 3 \(asked for 4\);"):
        SQLiteIndex.open(path, dataclasses.replace(PARAMS, bands=32, rows=4))


def test_an_index_of_the_earlier_hashes_is_refused_for_matching_only(path: Path) -> None:
    SQLiteIndex.open(path, PARAMS).close()

    def stored_version(version: int) -> None:
        with sqlite3.connect(path / DB_NAME) as conn:
            params = json.loads(conn.execute("SELECT value FROM meta WHERE key = 'params'").fetchone()[0])
            conn.execute("UPDATE meta SET value = ? WHERE key = 'params'", (json.dumps({**params, "schema_version": version}),))
        conn.close()

    stored_version(1)  # as an earlier dedup wrote it, whose shingle hashes this one does not make
    with pytest.raises(IndexMismatch, match="made by an earlier dedup, which hashed shingles differently .*make a new index"):
        SQLiteIndex.open(path, PARAMS)
    with open_index(str(path), None, read_only=True) as old:  # stats and export still read it
        assert old.stats()["paragraphs"] == 0
    stored_version(3)
    for params in (PARAMS, None):
        with pytest.raises(IndexMismatch, match="made by a newer dedup .*upgrade dedup"):
            SQLiteIndex.open(path, params)


def test_a_missing_index_is_created_only_when_asked(path: Path) -> None:
    with pytest.raises(IndexError_, match="no index here"):
        SQLiteIndex.open(path)
    with pytest.raises(IndexError_, match="no index here"):
        SQLiteIndex.open(path, PARAMS, create=False)
    assert not path.exists()


def _not_sqlite(p: Path) -> None:
    p.mkdir()
    (p / DB_NAME).write_bytes(b"this is not a database\n" * 50)


def _other_sqlite(p: Path) -> None:
    p.mkdir()
    conn = sqlite3.connect(p / DB_NAME)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()


def _truncated(p: Path) -> None:
    with SQLiteIndex.open(p, PARAMS, background=False) as index:
        for k in range(20):
            add(index, f"d{k}", list(range(k * 50, k * 50 + 50)))
    db = p / DB_NAME
    db.write_bytes(db.read_bytes()[: db.stat().st_size // 2])


def _schema_page_zeroed(p: Path) -> None:
    SQLiteIndex.open(p, PARAMS).close()
    db = p / DB_NAME
    data = bytearray(db.read_bytes())
    data[100:4096] = bytes(3996)
    db.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        pytest.param(lambda p: p.write_text("notes\n"), "it is a file", id="a file"),
        pytest.param(lambda p: (p.mkdir(), (p / "x.txt").write_text("x")), "directory without index.db", id="other directory"),
        pytest.param(_not_sqlite, "not a SQLite database", id="garbage"),
        pytest.param(_other_sqlite, "of another application", id="other sqlite"),
        pytest.param(_truncated, "truncated", id="truncated"),
        pytest.param(_schema_page_zeroed, "damaged", id="corrupted"),
    ],
)
def test_what_is_not_an_index_is_refused_and_left_unchanged(path: Path, damage: object, message: str) -> None:
    damage(path)  # type: ignore[operator]
    before = {p: digest(p) for p in sorted(path.rglob("*")) if p.is_file()} if path.is_dir() else {path: digest(path)}
    with pytest.raises(IndexError_, match=message):
        SQLiteIndex.open(path, PARAMS)
    after = {p: digest(p) for p in sorted(path.rglob("*")) if p.is_file()} if path.is_dir() else {path: digest(path)}
    assert after == before


def test_a_checkpoint_cut_short_by_a_kill_is_not_taken_for_damage(path: Path, tmp_path: Path) -> None:
    """Killed in the middle of a checkpoint, SQLite leaves a database file shorter than its
    header says, with the write-ahead log still holding every page; opening it must recover
    (SQLite does), not refuse it as truncated."""
    import shutil

    copy = tmp_path / "killed"
    with SQLiteIndex.open(path, PARAMS, background=False) as index:
        for k in range(20):
            add(index, f"d{k}", list(range(k * 50, k * 50 + 50)))
        expected = sorted((row["doc"], row["paragraph"]) for row in index.export())
        shutil.copytree(path, copy)  # as a kill -9 leaves it: the log not yet checkpointed
    wal = copy / (DB_NAME + "-wal")
    assert wal.stat().st_size > 4096, "the copy must hold a write-ahead log with pages"
    # The checkpoint had written the header (page 1) with the new page count, and no page after.
    db = copy / DB_NAME
    data = bytearray(db.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    data[28:32] = (len(data) // page_size + 10).to_bytes(4, "big")
    data[92:96] = data[24:28]  # the page count is current
    db.write_bytes(bytes(data))
    with SQLiteIndex.open(copy, PARAMS, background=False) as index:
        assert sorted((row["doc"], row["paragraph"]) for row in index.export()) == expected


def test_opening_reads_no_paragraph(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # "Opening an index of 10M paragraphs takes under 1 s": nothing on open scales with the
    # number of paragraphs; the tail (rows not yet in a segment) is read at the first batch.
    with SQLiteIndex.open(path, PARAMS, segment_rows=100, background=False) as index:
        for k in range(5):
            add(index, f"d{k}", list(range(k * 70, k * 70 + 70)))
    statements: list[str] = []
    connect = database.connect

    def traced(db: Path, timeout: float, read_only: bool = False) -> sqlite3.Connection:
        conn = connect(db, timeout, read_only)
        conn.set_trace_callback(statements.append)
        return conn

    monkeypatch.setattr(backend, "connect", traced)
    with SQLiteIndex.open(path, PARAMS) as index:
        assert not any("paragraphs" in s for s in statements)
        assert index.stats()["segments"] >= 1
        statements.clear()
        _, found = index.query(keys_of(349))  # the last paragraph: in the tail
        assert len(found) == 1


# ---------------------------------------------------------------------------------------------
# Add, query, fetch


def test_add_query_fetch_round_trip(index: SQLiteIndex) -> None:
    a = add(index, "a", [1, 2], at=100.0)
    b = add(index, "b", [3], at=200.0)
    assert a.tolist() == [1, 2] and b.tolist() == [3]
    query_index, found = index.query(keys_of(3, 9, 1))
    assert sorted(zip(query_index.tolist(), found.tolist())) == [(0, 3), (2, 1)]
    got = index.fetch(np.array([3, 1, 3]))
    assert got.doc_ids == ["b", "a", "b"]
    assert got.paragraphs.tolist() == [1, 1, 1]
    assert got.ingested_at.tolist() == [200.0, 100.0, 200.0]
    assert set_k(got, 1) == sets_of(1)[0].tolist() and set_k(got, 0) == set_k(got, 2) == sets_of(3)[0].tolist()


def test_one_shared_band_key_is_enough_and_pairs_are_unique(index: SQLiteIndex) -> None:
    (pid,) = add(index, "a", [5])
    probe = keys_of(6)
    probe[17, 0] = keys_of(5)[17, 0]
    assert index.query(probe)[1].tolist() == [pid]
    assert index.query(np.concatenate([keys_of(5), keys_of(5)], axis=1))[0].tolist() == [0, 1]  # all 31 bands shared: one pair each


def test_document_ids_round_trip_any_unicode(index: SQLiteIndex) -> None:
    name = "d\u00e9j\u00e0 vu \U0001f600 \"quoted\" \\ '; DROP TABLE paragraphs; --"
    (pid,) = add(index, name, [1])
    assert index.fetch(np.array([pid])).doc_ids == [name]
    assert index.remove([name]) == 1


def test_empty_inputs(index: SQLiteIndex) -> None:
    empty_keys = np.empty((BANDS, 0), dtype=np.uint64)
    assert [len(a) for a in index.query(empty_keys)] == [0, 0]
    with index.batch():
        assert len(index.add(Records([], np.empty(0), empty_keys, np.empty(0, np.uint64), np.zeros(1), 0.0))) == 0
    assert len(index.fetch(np.empty(0, np.int64)).doc_ids) == 0


def test_wrong_shapes_are_value_errors(index: SQLiteIndex) -> None:
    with pytest.raises(ValueError, match="shape"):
        index.query(np.zeros((3, 2), dtype=np.uint64))
    hashes, offsets = sets_of(1, 2)
    with pytest.raises(ValueError, match="same paragraphs"), index.batch():
        index.add(Records(["a"], np.array([1, 2]), keys_of(1, 2), hashes, offsets, 0.0))


def test_fetching_what_is_not_stored_names_it(index: SQLiteIndex) -> None:
    add(index, "a", [1])
    with pytest.raises(IndexError_, match="7, 8 not in the index"):
        index.fetch(np.array([1, 7, 8]))


# ---------------------------------------------------------------------------------------------
# Transactions


def test_a_failed_batch_stores_nothing(index: SQLiteIndex) -> None:
    add(index, "kept", [1])
    with pytest.raises(RuntimeError, match="boom"), index.batch():
        hashes, offsets = sets_of(2)
        index.add(Records(["lost"], np.array([1]), keys_of(2), hashes, offsets, 0.0))
        assert len(index.query(keys_of(2))[1]) == 1  # the batch sees its own insert
        raise RuntimeError("boom")
    assert len(index.query(keys_of(2))[1]) == 0
    assert index.stats()["paragraphs"] == 1
    assert add(index, "next", [3]).tolist() == [2]  # the rolled-back pid is issued again


def test_inserts_are_seen_by_another_process_only_when_committed(path: Path, index: SQLiteIndex) -> None:
    with SQLiteIndex.open(path, PARAMS) as other:
        with index.batch():
            hashes, offsets = sets_of(1)
            index.add(Records(["a"], np.array([1]), keys_of(1), hashes, offsets, 0.0))
            assert len(other.query(keys_of(1))[1]) == 0
        assert other.query(keys_of(1))[1].tolist() == [1]


def test_a_batch_excludes_other_writers(path: Path, index: SQLiteIndex) -> None:
    with SQLiteIndex.open(path, PARAMS, busy_timeout=0.2) as other:
        with index.batch():
            with pytest.raises(IndexError_, match="busy"), other.batch():
                pass
        with other.batch():  # released with the first batch
            pass


def test_batches_do_not_nest(index: SQLiteIndex) -> None:
    with pytest.raises(RuntimeError, match="nest"), index.batch(), index.batch():
        pass


def test_a_closed_index_says_so(path: Path) -> None:
    index = SQLiteIndex.open(path, PARAMS)
    index.close()
    index.close()  # twice is fine
    with pytest.raises(IndexError_, match="closed"):
        index.stats()


# ---------------------------------------------------------------------------------------------
# Segments: flushed, merged, reopened


def _fill(index: SQLiteIndex, batches: int, size: int, start: int = 0) -> dict[int, int]:
    """Add ``batches`` batches of ``size`` paragraphs; return id -> pid."""
    pids = {}
    for b in range(batches):
        ids = list(range(start + b * size, start + (b + 1) * size))
        pids.update(zip(ids, add(index, f"doc{b}", ids).tolist()))
    return pids


def _lookup(index: SQLiteIndex, ids: list[int]) -> dict[int, list[int]]:
    query_index, found = index.query(keys_of(*ids))
    out: dict[int, list[int]] = {i: [] for i in ids}
    for q, p in zip(query_index.tolist(), found.tolist()):
        out[ids[q]].append(p)
    return out


def test_segments_are_flushed_merged_and_found_after_reopening(path: Path) -> None:
    with SQLiteIndex.open(path, PARAMS, segment_rows=40, merge_fanout=2, background=False) as index:
        pids = _fill(index, 30, 17)
        stats = index.stats()
        # 510 rows: flushed every 40 or so, merged in pairs: a handful of segments, not ~12.
        assert 1 <= stats["segments"] <= 6
        assert stats["tail_paragraphs"] < 40 + 17
        assert stats["segment_entries"] == (510 - stats["tail_paragraphs"]) * BANDS
        assert _lookup(index, list(pids)) == {i: [p] for i, p in pids.items()}
    with SQLiteIndex.open(path, PARAMS) as index:
        assert (index.segment_rows, index.merge_fanout) == (40, 2)  # stored with the index
        assert _lookup(index, list(pids)) == {i: [p] for i, p in pids.items()}
        assert _lookup(index, [100_000, 100_001]) == {100_000: [], 100_001: []}


def test_background_merges_keep_every_paragraph_findable(path: Path) -> None:
    with SQLiteIndex.open(path, PARAMS, segment_rows=30, merge_fanout=2, background=True) as index:
        pids = _fill(index, 40, 11)
        assert _lookup(index, list(pids)) == {i: [p] for i, p in pids.items()}
    with SQLiteIndex.open(path, PARAMS, background=False) as index:
        assert _lookup(index, list(pids)) == {i: [p] for i, p in pids.items()}
        with index.batch():  # the synchronous path finishes what the thread left
            pass
        assert index.stats()["segments"] <= 5
    assert not any(p.name.endswith(".tmp") for p in (path / SEGMENTS_DIR).iterdir())


def test_segment_files_hold_plain_arrays(path: Path) -> None:
    with SQLiteIndex.open(path, PARAMS, segment_rows=20, background=False) as index:
        _fill(index, 3, 10)
    files = sorted((path / SEGMENTS_DIR).glob("seg-*.npy"))
    assert files
    for f in files:
        array = np.load(f, allow_pickle=False)  # no pickle anywhere
        assert array.dtype == np.dtype("<u8") and array.shape[0] == 2
        assert np.all(array[0][:-1] <= array[0][1:])  # sorted by band key


def test_orphan_files_from_a_crash_are_removed_but_a_merge_in_progress_is_spared(path: Path) -> None:
    with SQLiteIndex.open(path, PARAMS, segment_rows=20, background=False) as index:
        _fill(index, 1, 10)
        segments = path / SEGMENTS_DIR
        (segments / "seg-orphan.npy").write_bytes(b"left by a crash")
        (segments / "seg-stale.npy.tmp").write_bytes(b"left by a crash")
        busy = segments / "seg-busy.npy.tmp"
        busy.write_bytes(b"being written")
        fd = os.open(busy, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            _fill(index, 2, 10, start=100)  # flushes, and cleans up on the way
            names = {p.name for p in segments.iterdir()}
            assert "seg-orphan.npy" not in names and "seg-stale.npy.tmp" not in names
            assert "seg-busy.npy.tmp" in names
        finally:
            os.close(fd)


def test_a_missing_segment_file_is_a_clear_error(path: Path) -> None:
    with SQLiteIndex.open(path, PARAMS, segment_rows=20, background=False) as index:
        _fill(index, 3, 10)
    next((path / SEGMENTS_DIR).glob("seg-*.npy")).unlink()
    with pytest.raises(IndexError_, match="segment file seg-.* is missing"):
        SQLiteIndex.open(path, PARAMS)


# ---------------------------------------------------------------------------------------------
# Remove, prune, stats, export


def test_remove_forgets_documents_everywhere(path: Path) -> None:
    with SQLiteIndex.open(path, PARAMS, segment_rows=20, merge_fanout=8, background=False) as index:
        a = add(index, "a", list(range(0, 25)))  # in a segment after the next batch
        b = add(index, "b", list(range(100, 110)))
        add(index, "a", [200])  # the same document, again later
        assert index.remove(["a", "missing"]) == 26
        assert _lookup(index, [0, 24, 200, 100]) == {0: [], 24: [], 200: [], 100: [int(b[0])]}
        with pytest.raises(IndexError_, match="not in the index"):
            index.fetch(a[:1])
        stats = index.stats()
        assert (stats["paragraphs"], stats["documents"]) == (10, 1)
        # Most of a's segment was removed: it was rewritten without them.
        assert stats["removed_not_yet_merged"] < 25
        assert index.remove(["b"]) == 10
        assert index.stats()["paragraphs"] == 0


def test_prune_forgets_paragraphs_ingested_strictly_before(index: SQLiteIndex) -> None:
    old = add(index, "a", [1, 2], at=1000.0)
    add(index, "b", [3], at=1000.0)
    new = add(index, "a", [4], at=2000.0)
    assert index.prune(1000.0) == 0
    assert index.prune(1500.0) == 3
    assert _lookup(index, [1, 2, 3, 4]) == {1: [], 2: [], 3: [], 4: new.tolist()}
    with pytest.raises(IndexError_):
        index.fetch(old[:1])
    stats = index.stats()
    assert (stats["paragraphs"], stats["documents"], stats["oldest"], stats["newest"]) == (1, 1, 2000.0, 2000.0)
    assert index.prune(float("inf")) == 1
    assert index.stats()["paragraphs"] == 0


def test_stats(path: Path, index: SQLiteIndex) -> None:
    add(index, "a", [1, 2], at=100.0)
    add(index, "b", [3], at=300.0)
    stats = index.stats()
    assert stats["backend"] == "sqlite" and stats["location"] == str(path)
    assert (stats["paragraphs"], stats["documents"], stats["oldest"], stats["newest"]) == (3, 2, 100.0, 300.0)
    assert stats["pids_issued"] == 3 and stats["bytes"] > 0
    assert stats["params"] == PARAMS.as_dict()
    json.dumps(stats)


def test_export_rows(index: SQLiteIndex) -> None:
    add(index, "a", [1, 2], at=10.0)
    add(index, "b", [3], at=20.0)
    rows = list(index.export())
    assert rows == [
        {"pid": 1, "doc": "a", "paragraph": 1, "ingested_at": 10.0, "shingles": 2},
        {"pid": 2, "doc": "a", "paragraph": 2, "ingested_at": 10.0, "shingles": 3},
        {"pid": 3, "doc": "b", "paragraph": 1, "ingested_at": 20.0, "shingles": 4},
    ]


# ---------------------------------------------------------------------------------------------
# The kernels, against numpy


keys_st = st.lists(st.integers(0, 2**64 - 1) | st.sampled_from([0, 5, 2**63, 2**64 - 1]), max_size=300)


@settings(deadline=None)  # the first call loads the compiled kernel
@given(keys_st)
def test_hash_sort_is_a_stable_sort(values: list[int]) -> None:
    keys = np.array(values, dtype=np.uint64)
    out, order = hash_sort(keys)
    assert out.tolist() == sorted(values)
    assert order.tolist() == np.argsort(keys, kind="stable").tolist()


@settings(deadline=None)
@given(keys_st, keys_st)
def test_sorted_ranges_finds_every_equal_key(values: list[int], queries: list[int]) -> None:
    keys = np.sort(np.array(values, dtype=np.uint64))
    q = np.sort(np.array(queries, dtype=np.uint64))
    lo, hi = sorted_ranges(keys, q)
    assert lo.tolist() == np.searchsorted(keys, q, "left").tolist()
    assert hi.tolist() == np.searchsorted(keys, q, "right").tolist()


@settings(max_examples=50, deadline=None)
@given(st.lists(keys_st, max_size=9))
def test_merge_runs_merges_sorted_runs(runs: list[list[int]]) -> None:
    sorted_runs = [sorted(r) for r in runs]
    keys = np.array([k for r in sorted_runs for k in r], dtype=np.uint64)
    pids = np.arange(len(keys), dtype=np.uint64)
    bounds = np.concatenate([[0], np.cumsum([len(r) for r in sorted_runs])]).astype(np.int64)
    out_keys, out_pids = merge_runs(keys, pids, bounds)
    assert out_keys.tolist() == sorted(keys.tolist())
    assert out_pids.tolist() == np.argsort(keys, kind="stable").tolist()


def test_a_query_costs_a_few_statements_whatever_its_size(path: Path) -> None:
    # The band lookup is a search of sorted arrays, not a B-tree probe per key: the SQL a query
    # runs does not grow with the number of keys asked for.
    with SQLiteIndex.open(path, PARAMS, segment_rows=5000, background=False) as index:
        _fill(index, 4, 5000)
        statements: list[str] = []
        index.conn.set_trace_callback(statements.append)
        try:
            index.query(keys_of(1, 2, 3))
            few = len(statements)
            statements.clear()
            index.query(keys_of(*range(100_000, 120_000)))
            many = len(statements)
        finally:
            index.conn.set_trace_callback(None)
        assert many <= few + 5, statements[:20]


# ---------------------------------------------------------------------------------------------
# Crowded buckets, key filters, and the sort shared by a batch's query and insert


def crowded_keys(ids: list[int], shared: int = 0) -> np.ndarray:
    """Band keys of ``ids`` where band ``shared`` holds one key for all (a bucket that many
    paragraphs fall into, as near-identical boilerplate does); the other bands are their own."""
    keys = keys_of(*ids)
    keys[shared, :] = np.uint64(0xB01E4)
    return keys


def test_a_crowded_bucket_gives_only_its_earliest_pids(path: Path) -> None:
    with SQLiteIndex.open(path, PARAMS, segment_rows=120, merge_fanout=2, background=False, bucket_cap=64) as index:
        pids: list[int] = []
        for b in range(10):  # 500 paragraphs: some in segments, some in the tail
            ids = list(range(b * 50, (b + 1) * 50))
            hashes, offsets = sets_of(*ids)
            with index.batch():
                pids += index.add(Records([f"doc{b}"] * 50, np.arange(1, 51), crowded_keys(ids), hashes, offsets, 0.0)).tolist()
        assert index.stats()["segments"] >= 1 and index.stats()["tail_paragraphs"] > 0
        # A newcomer in the crowded bucket gets the 64 earliest paragraphs of it, not 500...
        query = crowded_keys([10_000])
        # ...and, in another band, a late paragraph it also shares a key with.
        query[7, 0] = keys_of(450)[7, 0]
        query_index, found = index.query(query)
        assert sorted(found.tolist()) == sorted(pids[:64] + [pids[450]])
        assert set(query_index.tolist()) == {0}
    with SQLiteIndex.open(path, PARAMS, background=False) as index:  # the default cap
        assert index.bucket_cap == DEFAULT_BUCKET_CAP == 64
        assert len(index.query(crowded_keys([10_000]))[1]) == 64


def test_a_bucket_of_thousands_of_copies_stays_cheap_to_query(path: Path) -> None:
    # 5,000 paragraphs in one bucket: every query into it gets 64 candidates, whatever the
    # bucket's size, so verification stays cheap.
    with SQLiteIndex.open(path, PARAMS, segment_rows=1000, background=False) as index:
        for b in range(5):
            ids = list(range(b * 1000, (b + 1) * 1000))
            hashes, offsets = sets_of(*ids)
            with index.batch():
                index.add(Records([f"doc{b}"] * 1000, np.arange(1, 1001), crowded_keys(ids, shared=3), hashes, offsets, 0.0))
        query_index, found = index.query(crowded_keys(list(range(20_000, 20_100)), shared=3))
        assert len(found) == 100 * 64
        assert np.bincount(query_index).tolist() == [64] * 100
        assert found.max() <= 64  # the earliest


def test_bucket_cap_is_checked(path: Path) -> None:
    with pytest.raises(ValueError, match="bucket_cap"):
        SQLiteIndex.open(path, PARAMS, bucket_cap=0)


@settings(deadline=None)
@given(keys_st, keys_st)
def test_key_filters_never_miss_a_key(values: list[int], queries: list[int]) -> None:
    keys = np.sort(np.array(values, dtype=np.uint64))
    bloom = np.zeros(segments.filter_words(len(keys)), dtype=np.uint64)
    segments.fill_filter(bloom, keys)
    assert segments.probe_filter(bloom, keys).all()
    q = np.sort(np.array(queries + values, dtype=np.uint64))
    at = np.flatnonzero(segments.probe_filter(bloom, q))
    lo, hi = segments.search_at(keys, q, at)
    assert lo.tolist() == np.searchsorted(keys, q[at], "left").tolist()
    assert hi.tolist() == np.searchsorted(keys, q[at], "right").tolist()
    assert set(np.flatnonzero(np.isin(q, keys)).tolist()) <= set(at.tolist())


def test_key_filters_let_few_absent_keys_through() -> None:
    rng = np.random.default_rng(3)
    keys = np.sort(rng.integers(0, 2**64 - 1, 200_000, dtype=np.uint64))
    bloom = np.zeros(segments.filter_words(len(keys)), dtype=np.uint64)
    segments.fill_filter(bloom, keys)
    absent = rng.integers(0, 2**64 - 1, 200_000, dtype=np.uint64)
    assert segments.probe_filter(bloom, absent).mean() < 0.02


def test_large_segments_are_searched_through_their_filter(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(segments, "FILTER_MIN_ENTRIES", 1)
    with SQLiteIndex.open(path, PARAMS, segment_rows=40, merge_fanout=2, background=False) as index:
        pids = _fill(index, 12, 17)
        assert index.stats()["segments"] >= 1
        assert _lookup(index, list(pids)) == {i: [p] for i, p in pids.items()}
        assert all(s.bloom is not None for s in index._segments.values())
        assert _lookup(index, [100_000, 100_001]) == {100_000: [], 100_001: []}


def test_an_insert_reuses_its_batch_query_sort_only_for_the_same_keys(index: SQLiteIndex) -> None:
    ids = list(range(40))
    keys = keys_of(*ids)
    chosen = np.array([1, 5, 6, 30], dtype=np.int64)
    hashes, offsets = sets_of(*chosen.tolist())
    with index.batch():
        index.query(keys)
        pids = index.add(Records(["d"] * 4, np.arange(1, 5), keys[:, chosen], hashes, offsets, 0.0), queried=chosen)
        reused = index._runs[-1]
        fresh = segments.Run.of(keys[:, chosen], pids)
        assert reused.keys.tolist() == fresh.keys.tolist() and reused.pids.tolist() == fresh.pids.tolist()
        # A hint that does not match the keys is ignored.
        other = keys_of(100, 101)
        hashes, offsets = sets_of(100, 101)
        more = index.add(Records(["e"] * 2, np.arange(1, 3), other, hashes, offsets, 0.0), queried=np.array([0, 1]))
        assert index._runs[-1].keys.tolist() == segments.Run.of(other, more).keys.tolist()
    assert _lookup(index, [1, 5, 6, 30, 100, 101, 2]) == {1: [1], 5: [2], 6: [3], 30: [4], 100: [5], 101: [6], 2: []}


@pytest.mark.parametrize("at", [float("nan"), float("inf")])
def test_add_refuses_a_time_that_is_not_a_number_of_seconds(path: Path, at: float) -> None:
    # The same checks as the Redis backend: a NaN time would make prune and export meaningless.
    with SQLiteIndex.open(path, PARAMS, background=False) as index, index.batch():
        with pytest.raises(ValueError, match="ingested_at"):
            index.add(Records(["d"], np.array([1]), keys_of(1), np.array([1, 2], dtype=np.uint64), np.array([0, 2]), at))


# ---------------------------------------------------------------------------------------------
# Hostile and damaged indexes: a clear error (exit 2), never an internal one, never a file
# touched outside the index


SEED_003 = str(Path(__file__).resolve().parent.parent / "seeds" / "003_2475bc7a0b5db3b5.txt")
SEED_004 = str(Path(__file__).resolve().parent.parent / "seeds" / "004_1bf6964548cc96ce.txt")


def _cli(*args: str) -> tuple[int, str]:
    from click.testing import CliRunner

    from dedup.cli import main

    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes is not None else "")


@pytest.fixture
def seeded(path: Path) -> Path:
    """An index of 003 with one segment and a tail, made by the filter."""
    from dedup.filter import index_params

    SQLiteIndex.open(path, index_params(), segment_rows=5, background=False).close()
    assert _cli("filter", "--index", str(path), SEED_003, "-o", os.devnull)[0] == 0
    assert _cli("filter", "--index", str(path), SEED_004, "-o", os.devnull)[0] == 0
    assert _cli("filter", "--index", str(path), SEED_003, SEED_004, "--batch-size", "1", "-o", os.devnull)[0] == 0  # flushes
    assert list((path / SEGMENTS_DIR).glob("seg-*.npy"))
    return path


def _sql(path: Path, statement: str) -> None:
    conn = sqlite3.connect(path / DB_NAME)
    conn.execute(statement)
    conn.commit()
    conn.close()


def _overwrite(path: Path, at: int, data: bytes) -> None:
    content = bytearray(path.read_bytes())
    content[at : at + len(data)] = data
    path.write_bytes(bytes(content))


def _segment(path: Path) -> Path:
    return sorted((path / SEGMENTS_DIR).glob("seg-*.npy"))[0]


DAMAGE = [
    pytest.param(lambda p: _segment(p).write_bytes(b""), "segment file is damaged", id="zero-length segment"),
    pytest.param(lambda p: _segment(p).write_bytes(b"\x93NUMPY\x01\x00" + b"\xff" * 120), "segment file is damaged", id="segment header not text"),
    pytest.param(lambda p: _overwrite(_segment(p), 20, b"\x00\x00\x00"), "segment file is damaged", id="garbled segment header"),
    pytest.param(lambda p: _sql(p, "UPDATE paragraphs SET hashes = x'0102030405' WHERE pid = 1"), "damaged", id="hashes of odd length"),
    pytest.param(lambda p: _sql(p, "UPDATE paragraphs SET doc_id = CAST(x'ff00fe' AS TEXT)"), "UTF-8|damaged", id="doc id text not UTF-8"),
    pytest.param(lambda p: _sql(p, "UPDATE paragraphs SET doc_id = x'ff00fe'"), "damaged", id="doc id bytes not UTF-8"),
    pytest.param(lambda p: _sql(p, "UPDATE paragraphs SET paragraph = 'three'"), "damaged", id="text in an integer column"),
    pytest.param(lambda p: _sql(p, "UPDATE segments SET entries = 'many'"), "damaged", id="manifest count not a number"),
]


@pytest.mark.parametrize(("damage", "message"), DAMAGE)
def test_damage_is_a_clear_error_for_every_command(seeded: Path, damage: object, message: str) -> None:
    damage(seeded)  # type: ignore[operator]
    commands = [
        ["filter", "--index", str(seeded), SEED_003, "-o", os.devnull],
        ["index", "stats", str(seeded)],
        ["index", "export", str(seeded)],
        ["index", "remove", str(seeded), SEED_003],
        ["index", "prune", str(seeded), "--before", "2000-01-01"],
    ]
    codes = []
    for command in commands:
        code, output = _cli(*command)
        assert code in (0, 2), (command, output)
        assert "internal error" not in output and "Traceback" not in output
        if code == 2:
            assert "dedup: error:" in output
        codes.append((code, output))
    # The filter reads every part that was damaged: it must say so.
    assert codes[0][0] == 2
    assert any(__import__("re").search(message, output) for code, output in codes if code == 2)


def test_band_keys_damaged_in_the_tail_are_a_clear_error(path: Path) -> None:
    assert _cli("filter", "--index", str(path), SEED_003, "-o", os.devnull)[0] == 0  # rows in the tail
    _sql(path, "UPDATE paragraphs SET band_keys = 'text' WHERE pid = 3")
    code, output = _cli("filter", "--index", str(path), SEED_004, "-o", os.devnull)
    assert code == 2 and "damaged" in output and "internal error" not in output


def test_a_crafted_segment_name_cannot_reach_outside_the_index(seeded: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.npy"
    victim.write_bytes(b"someone's data")
    _sql(seeded, f"UPDATE segments SET name = '../../{victim.name}'")
    for command in (["index", "remove", str(seeded), SEED_003], ["filter", "--index", str(seeded), SEED_004, "-o", os.devnull], ["index", "stats", str(seeded)]):
        code, output = _cli(*command)
        assert code == 2 and "is not the name of a segment file" in output, (command, output)
    assert victim.read_bytes() == b"someone's data"


@given(st.binary(max_size=300))
@settings(max_examples=150, deadline=None)
def test_segment_loader_refuses_any_garbage_clearly(data: bytes) -> None:
    import tempfile

    from dedup.index.sqlite.segments import Segment, SegmentInfo

    with tempfile.TemporaryDirectory() as tmp:
        name = "seg-" + "0" * 32 + ".npy"
        (Path(tmp) / name).write_bytes(data)
        try:
            segment = Segment.load(Path(tmp), SegmentInfo(name, 1, 1, 2, 1))
        except IndexError_:
            return
        # What loads is a (2, entries) array of uint64, as the manifest says.
        assert segment.keys.shape == segment.pids.shape == (2,)


@given(st.binary(min_size=1, max_size=200), st.integers(0, 127))
@settings(max_examples=100, deadline=None)
def test_segment_loader_refuses_a_real_segment_with_bytes_changed(garbage: bytes, at: int) -> None:
    import io
    import tempfile

    from dedup.index.sqlite.segments import Segment, SegmentInfo

    buffer = io.BytesIO()
    np.save(buffer, np.arange(6, dtype="<u8").reshape(2, 3))
    data = bytearray(buffer.getvalue())
    data[at : at + len(garbage)] = garbage
    with tempfile.TemporaryDirectory() as tmp:
        name = "seg-" + "1" * 32 + ".npy"
        (Path(tmp) / name).write_bytes(bytes(data))
        try:
            segment = Segment.load(Path(tmp), SegmentInfo(name, 1, 1, 3, 1))
        except IndexError_:
            return
        assert segment.keys.shape == (3,)


def test_a_segment_cleanup_that_wins_the_race_against_its_writer_loses_nothing(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Another process's cleanup may open a new segment file between its creation and its
    # writer's lock, find it unlocked and delete it: the writer must notice and start over.
    with SQLiteIndex.open(path, PARAMS, segment_rows=20, background=False) as index:
        real_flock = fcntl.flock
        raced = []

        def flock(fd: int, operation: int) -> None:
            if not raced and operation == fcntl.LOCK_EX:
                raced.append(True)
                segments.remove_orphans(path / SEGMENTS_DIR, set())  # runs first, finds it unlocked
            real_flock(fd, operation)

        monkeypatch.setattr(segments.fcntl, "flock", flock)
        _fill(index, 1, 10)
        _fill(index, 2, 10, start=100)  # flushes a segment
        assert raced
    with SQLiteIndex.open(path, PARAMS) as index:
        assert len(index.query(keys_of(0, 100))[1]) == 2


def _read_only_mount(source: Path, target: Path) -> None:
    import subprocess

    target.mkdir()
    subprocess.run(["mount", "--bind", str(source), str(target)], check=True, capture_output=True)
    subprocess.run(["mount", "-o", "remount,ro,bind", str(target)], check=True, capture_output=True)


@pytest.fixture
def read_only(seeded: Path, tmp_path: Path) -> Iterator[Path]:
    import subprocess

    mount = tmp_path / "ro"
    try:
        _read_only_mount(seeded.parent, mount)
    except (subprocess.CalledProcessError, FileNotFoundError) as err:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"cannot make a read-only mount here ({err})")
    try:
        yield mount / seeded.name
    finally:
        subprocess.run(["umount", str(mount)], check=False, capture_output=True)


def test_a_read_only_index_can_be_inspected(read_only: Path) -> None:
    code, output = _cli("index", "stats", "--json", str(read_only))
    assert code == 0, output
    assert json.loads(output)["paragraphs"] > 0
    code, output = _cli("index", "export", str(read_only))
    assert code == 0, output
    assert len(output.splitlines()) == json.loads(_cli("index", "stats", "--json", str(read_only))[1])["paragraphs"]


def test_writing_to_a_read_only_index_says_it_is_read_only(read_only: Path) -> None:
    code, output = _cli("filter", "--index", str(read_only), SEED_003, "-o", os.devnull)
    assert code == 2 and "read-only" in output and "damaged" not in output


def _earlier_layout(path: Path, layout: int) -> None:
    """Make the new index at ``path`` one of an earlier layout: 2 has no n-gram postings,
    1 no exact keys either."""
    conn = sqlite3.connect(path / DB_NAME)
    conn.execute("DROP TABLE postings")
    conn.execute("ALTER TABLE paragraphs DROP COLUMN postings")
    conn.execute("DELETE FROM counters WHERE name = 'postings'")
    conn.execute("DELETE FROM meta WHERE key = 'postings_from'")
    if layout < 2:
        conn.execute("ALTER TABLE paragraphs DROP COLUMN exact_key")
    conn.execute(f"PRAGMA user_version = {layout}")
    conn.commit()
    conn.close()


def test_an_index_of_the_earlier_layout_is_migrated_and_keeps_answering(path: Path) -> None:
    from dedup.filter import index_params

    with SQLiteIndex.open(path, index_params(), background=False):
        pass
    _earlier_layout(path, 1)
    code, _ = _cli("filter", "--index", str(path), SEED_003, "-o", os.devnull)
    assert code == 0
    conn = sqlite3.connect(path / DB_NAME)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == database.LAYOUT_VERSION
    conn.close()
    code, output = _cli("filter", "--index", str(path), SEED_003, "-o", os.devnull)
    assert code == 0 and "31 read, 0 kept, 31 dropped" in output


def test_an_index_of_a_newer_layout_is_refused(path: Path) -> None:
    SQLiteIndex.open(path, PARAMS).close()
    _sql(path, "PRAGMA user_version = 99")
    with pytest.raises(IndexMismatch, match="newer dedup"):
        SQLiteIndex.open(path, PARAMS)


# ---------------------------------------------------------------------------------------------
# N-gram postings


def grams_of(*ids: int, words: int = 6, shared: int | None = None) -> Postings:
    """Postings of paragraphs ``ids``: ``words`` n-grams each, hashes derived from the id (and
    the first ``2`` from ``shared`` when given, so that paragraphs share them), word numbers
    from 10 * id."""
    hashes, numbers = [], []
    for i in ids:
        for w in range(words):
            hashes.append(_mix(10**6 + (shared if shared is not None and w < 2 else i) * 100 + w))
            numbers.append(10 * i + w)
    return Postings(np.arange(len(ids) + 1) * words, np.array(hashes, dtype=np.uint64), np.array(numbers))


def add_with_grams(index: SQLiteIndex, doc: str, ids: list[int], **kwargs: int) -> np.ndarray:
    hashes, offsets = sets_of(*ids)
    with index.batch():
        return index.add(Records([doc] * len(ids), np.arange(1, len(ids) + 1), keys_of(*ids), hashes, offsets, 1_700_000_000.0, postings=grams_of(*ids, **kwargs)))


def lookup(index: SQLiteIndex, grams: Postings) -> set[tuple[int, int, int]]:
    q, pids, words = index.query_postings(grams.hashes)
    return set(zip(q.tolist(), pids.tolist(), words.tolist()))


def test_postings_are_found_with_their_pid_and_word_in_the_tail_segments_and_after_reopening(path: Path) -> None:
    with SQLiteIndex.open(path, PARAMS, segment_rows=4, merge_fanout=2, background=False) as index:
        pids = [int(add_with_grams(index, f"d{i}", [i])[0]) for i in range(10)]
        want = {(6 * k + w, pids[k], 10 * k + w) for k in range(10) for w in range(6)}
        all_grams = grams_of(*range(10))
        assert lookup(index, all_grams) == want
        assert index.stats()["segments"] >= 1  # some of them come from segments
        assert index.postings_status() is None
    with SQLiteIndex.open(path, PARAMS) as index:
        assert lookup(index, all_grams) == want
        assert index.stats()["postings"] == 60
        # A posting is no band or exact key candidate, and a band key no posting.
        assert index.query(keys_of(3))[1].tolist() == [pids[3]]
        assert lookup(index, Postings(np.array([0, 31]), keys_of(3)[:, 0], np.zeros(31, dtype=np.int64))) == set()


def test_an_n_gram_beyond_the_cap_is_a_stock_phrase_and_is_stored_no_more(path: Path) -> None:
    with SQLiteIndex.open(path, PARAMS, background=False, posting_cap=3) as index:
        for i in range(3):
            add_with_grams(index, f"d{i}", [i], shared=99)
        assert len(lookup(index, grams_of(50, shared=99))) == 2 * 3  # 2 shared n-grams, 3 postings each: at the cap
        add_with_grams(index, "d3", [3], shared=99)
        assert lookup(index, grams_of(50, shared=99)) == set()  # 4 > 3: stock
        before = index.stats()["postings"]
        with index.batch():
            assert index.query_postings(grams_of(4, shared=99).hashes)[0].tolist() == []  # stock, and new
            hashes, offsets = sets_of(4)
            index.add(Records(["d4"], np.array([1]), keys_of(4), hashes, offsets, 0.0, postings=grams_of(4, shared=99)))
        # The batch met the stock n-grams in its lookup, and did not store them again.
        assert index.stats()["postings"] == before + 4


def test_removed_and_pruned_paragraphs_take_their_postings_with_them(path: Path) -> None:
    with SQLiteIndex.open(path, PARAMS, segment_rows=2, merge_fanout=2, background=False) as index:
        for i in range(6):
            add_with_grams(index, f"d{i}", [i])
        assert index.remove(["d1", "d4"]) == 2
        found = {pid for _, pid, _ in lookup(index, grams_of(*range(6)))}
        docs = index.fetch(np.array(sorted(found))).doc_ids
        assert sorted(docs) == ["d0", "d2", "d3", "d5"]
        assert index.stats()["postings"] == 4 * 6
        assert index.prune(2_000_000_000.0) == 4
        assert lookup(index, grams_of(*range(6))) == set() and index.stats()["postings"] == 0


def test_a_failed_batch_stores_no_postings(index: SQLiteIndex) -> None:
    hashes, offsets = sets_of(1)
    with pytest.raises(RuntimeError):
        with index.batch():
            index.add(Records(["d"], np.array([1]), keys_of(1), hashes, offsets, 0.0, postings=grams_of(1)))
            raise RuntimeError("the consumer failed")
    assert lookup(index, grams_of(1)) == set() and index.stats()["postings"] == 0
    add_with_grams(index, "d", [1])
    assert len(lookup(index, grams_of(1))) == 6


def test_postings_committed_by_another_process_are_seen(path: Path, index: SQLiteIndex) -> None:
    with SQLiteIndex.open(path, PARAMS, background=False) as other:
        add_with_grams(other, "d", [7])
    assert len(lookup(index, grams_of(7))) == 6


def test_paragraphs_added_without_postings_make_the_index_say_so(index: SQLiteIndex) -> None:
    add_with_grams(index, "a", [1])
    assert index.postings_status() is None
    add(index, "b", [2])  # no postings
    status = index.postings_status()
    assert status is not None and "2 stored paragraphs have no n-gram postings" in status
    index.remove(["a", "b"])
    assert index.postings_status() is None


def test_postings_arguments_are_checked(index: SQLiteIndex) -> None:
    hashes, offsets = sets_of(1, 2)
    with pytest.raises(ValueError, match="postings must describe"):
        with index.batch():
            index.add(Records(["d", "d"], np.array([1, 2]), keys_of(1, 2), hashes, offsets, 0.0, postings=grams_of(1)))
    with pytest.raises(ValueError, match="one hash and one word number"):
        Postings(np.array([0, 2]), np.zeros(1, dtype=np.uint64), np.zeros(2, dtype=np.int64))


def test_an_index_made_before_postings_names_the_paragraphs_without_them(path: Path) -> None:
    from dedup.filter import Filter, index_params

    with SQLiteIndex.open(path, index_params(), background=False) as index:
        list(Filter(index)([("a", "One paragraph of words that are stored.\n\nAnd another one.")]))
    _earlier_layout(path, 2)
    with SQLiteIndex.open(path, index_params(), read_only=True) as index:
        assert "keeps no n-gram postings" in (index.postings_status() or "")
    with SQLiteIndex.open(path, index_params()) as index:  # brought to the new layout
        status = index.postings_status()
        assert status is not None and "2 stored paragraphs have no n-gram postings" in status
        assert index.keeps_postings


def test_a_stock_phrase_repeated_through_a_batch_is_stored_to_the_cap_and_never_gathered(path: Path) -> None:
    """A line repeated through a long changelog: one 5-gram in 5,000 paragraphs of one batch,
    then asked for from 20,000 places. Stored once more than the cap (enough to mark it), and
    a lookup answers nothing for it without reading its entries, however often it is asked."""
    with SQLiteIndex.open(path, PARAMS, posting_cap=3) as index:
        n = 5_000
        hashes, offsets = np.arange(n, dtype=np.uint64), np.arange(n + 1)
        stock = Postings(np.arange(n + 1) * 2, np.tile(np.array([777, 0], dtype=np.uint64), n), np.zeros(2 * n, dtype=np.int64))
        stock.hashes[1::2] = np.arange(1, n + 1, dtype=np.uint64) * 1000  # and one n-gram of its own each
        with index.batch():
            index.add(Records(["log"] * n, np.arange(1, n + 1), keys_of(*range(n)), hashes, offsets, 0.0, postings=stock))
        assert index.stats()["postings"] == n + 4
        asked = np.concatenate([np.full(20_000, 777, dtype=np.uint64), np.array([1000, 2000], dtype=np.uint64)])
        q, pids, words = index.query_postings(asked)
        assert q.tolist() == [20_000, 20_001] and pids.tolist() == [1, 2]
