"""Storage: dedup's own embedded index against the same index on LMDB and on RocksDB.

dedup's embedded index (:mod:`dedup.index.sqlite`) is hand-built: SQLite for the rows, and for
the band lookup a log-structured merge of memory-mapped sorted segments with key filters and a
merging thread. This suite asks whether a well-kept key-value library does that job as well.
Each store sits behind dedup's own :class:`dedup.index.Index` contract and is driven by
:class:`dedup.filter.Filter`, so every store does the filter's work, call for call:
``batch()``, ``query`` (band keys), ``query_exact``, ``fetch`` (the candidates' shingle sets),
``add`` (the kept paragraphs), and a commit per batch.

Stores, each in fresh processes:

- ``dedup SQLite index``: ``dedup.index.open_index(PATH, params)``.
- ``LMDB``: py-lmdb, one environment with four databases: ``bands`` and ``exact`` map a key
  (8 bytes, big-endian) to paragraph ids as sorted duplicate values (``dupsort`` +
  ``dupfixed``, 8 bytes big-endian, so the earliest pid comes first), ``rows`` maps a pid to
  its row (document id, paragraph number, ingest time, shingle set), ``meta`` holds the next
  pid. A batch is one write transaction; lookups are ``Cursor.getmulti`` over the batch's
  unique keys (one C call), inserts ``Cursor.putmulti``.
- ``RocksDB``: rocksdict in raw mode, one database with key prefixes ``b`` (band key -> packed
  pids), ``e`` (exact key -> packed pids), ``r`` (pid -> row), ``m`` (next pid); a Bloom filter
  of 10 bits per key on the tables; a batch is one ``WriteBatch``; lookups are one multi-get.
  RocksDB has no sorted duplicates, so a key's pids are one value, read and rewritten when a
  paragraph joins it (the lookup that the filter makes first tells which keys exist).

Every store takes at most ``bucket_cap`` (64) pids from a bucket, the earliest, as dedup's
index does, so all make the same decisions; the run checks that they drop the same paragraphs.
Durability is the same for all: a commit is written to the operating system, not fsynced
(SQLite ``synchronous=NORMAL`` in WAL mode; LMDB ``sync=False``; RocksDB's WAL without
``sync``): a killed process loses nothing committed, a power cut may lose the last commits.

Measured:

- **preload**: the store filled with ``--sizes`` paragraphs of another corpus (seed
  ``--seed + 1``, no planted copies) through ``Filter``, in a process of its own: its rate, its
  peak RSS and the store's size on disk;
- **stream**: a fresh process opens the preloaded store (``open s``) and filters ``--paragraphs``
  paragraphs of the benchmark corpus: the rate (documents in memory to decisions, as in the
  ``filter`` suite), the share of that time spent inside the store's methods, and peak RSS
  (memory-mapped pages of the store that were touched included);
- **kill -9**: a writer adds batches of synthetic paragraphs and is killed with ``SIGKILL``
  during a batch; the store is reopened and checked: every batch the writer saw committed is
  there whole (each paragraph's band keys find it, its row reads back), the batch under way is
  there whole or not at all, nothing later is there.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmarks._harness import ROOT, Row, WorkerFailed, current_rss_mb, machine, print_machine, print_table, run_worker, write_json
from benchmarks.corpus import make_corpus, read_documents, write_corpus

if TYPE_CHECKING:
    from dedup.index import Records

__all__ = ["HELP", "STORES", "add_arguments", "run_args", "run", "run_peer", "open_store", "kill_test"]

HELP = "dedup's embedded index against LMDB and RocksDB, as the filter uses an index: rate, RSS, open time, kill -9"

STORES = (
    ("dedup_sqlite", "dedup SQLite index"),
    ("lmdb", "LMDB (py-lmdb, dupsort)"),
    ("rocksdb", "RocksDB (rocksdict)"),
)
DEFAULT_SIZES = (1_000_000, 10_000_000)
DEFAULT_PARAGRAPHS = 60_000
DEFAULT_PRELOAD_BATCH = 10_000  # the filter's default batch
BUCKET_CAP = 64  # dedup.index.sqlite.DEFAULT_BUCKET_CAP: the earliest 64 pids of a bucket
# Paragraphs per preload corpus file: generated one at a time, so a large preload is never
# all in the parent's memory.
CHUNK_PARAGRAPHS = 1_000_000
KILL_BATCH = 20_000  # synthetic paragraphs per batch in the kill test
KILL_BANDS = 31
KILL_HASHES = 12
LMDB_MAP_SIZE = 1 << 38  # address space only: the file grows as it fills
_ROW_HEAD = struct.Struct("<qdI")  # paragraph number, ingest time, length of the document id


# ---------------------------------------------------------------------------------------------
# The library stores behind dedup's Index contract.


def _be(values: np.ndarray) -> np.ndarray:
    """uint64 values as big-endian bytes, so that byte order is numeric order."""
    return np.ascontiguousarray(values, dtype=">u8")


def _key_bytes(values: np.ndarray) -> list[bytes]:
    """uint64 values as 8-byte big-endian keys (not through numpy's ``S8``, which drops
    trailing zero bytes)."""
    raw = _be(values).tobytes()
    return [raw[k : k + 8] for k in range(0, len(raw), 8)]


def _encode_row(doc: str, number: int, at: float, hashes: np.ndarray) -> bytes:
    from dedup.index import stored_doc_id

    stored = stored_doc_id(doc)
    doc_bytes = stored.encode("utf-8") if isinstance(stored, str) else stored
    return _ROW_HEAD.pack(number, at, len(doc_bytes)) + doc_bytes + np.ascontiguousarray(hashes, dtype="<u8").tobytes()


def _decode_row(blob: bytes) -> tuple[str, int, float, np.ndarray]:
    number, at, size = _ROW_HEAD.unpack_from(blob)
    start = _ROW_HEAD.size
    doc = blob[start : start + size].decode("utf-8", "surrogatepass")
    return doc, number, at, np.frombuffer(blob, dtype="<u8", offset=start + size)


def _capped(query_of_key: np.ndarray, pids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(query_index, pid)`` pairs, unique, at most :data:`BUCKET_CAP` per key: ``pids`` come
    grouped by key in ascending order, ``query_of_key`` gives the key of each."""
    if not len(pids):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, query_of_key[1:] != query_of_key[:-1]])
    rank = np.arange(len(pids)) - np.repeat(starts, np.diff(np.r_[starts, len(pids)]))
    keep = rank < BUCKET_CAP
    return query_of_key[keep], pids[keep]


def _expand(unique_keys: np.ndarray, inverse: np.ndarray, found_key: np.ndarray, found_pid: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """From hits on unique keys (``found_key`` positions into ``unique_keys``) to unique
    ``(query_index, pid)`` pairs of the ``n`` queries, whose keys are ``unique_keys[inverse]``."""
    if not len(found_pid):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    # every query position that holds each unique key
    order = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse, minlength=len(unique_keys))
    first = np.r_[0, np.cumsum(counts)[:-1]]
    per_hit = counts[found_key]
    hit = np.repeat(np.arange(len(found_pid)), per_hit)
    pos = order[np.repeat(first[found_key], per_hit) + (np.arange(per_hit.sum()) - np.repeat(np.cumsum(per_hit) - per_hit, per_hit))]
    q = (pos % n).astype(np.int64)
    p = found_pid[hit].astype(np.int64)
    top = int(p.max()) + 1
    codes = np.unique(q * top + p)
    return codes // top, codes % top


class _KeyValueIndex:
    """What both library stores share: the Index methods, on top of four primitives a store
    provides (look up keys, read rows, write keys and rows, a write transaction)."""

    params: Any

    # -- primitives --------------------------------------------------------------------------
    def _lookup(self, table: bytes, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For sorted unique ``keys``: ``(position of the key, pid)`` of every stored pid,
        grouped by key, pids ascending."""
        raise NotImplementedError

    def _read_rows(self, pids: list[int]) -> list[bytes | None]:
        raise NotImplementedError

    def _write(self, table: bytes, keys: np.ndarray, pids: np.ndarray) -> None:
        raise NotImplementedError

    def _write_rows(self, pids: np.ndarray, rows: list[bytes], next_pid: int) -> None:
        raise NotImplementedError

    def _next_pid(self) -> int:
        raise NotImplementedError

    # -- the contract --------------------------------------------------------------------------
    def _find(self, table: bytes, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        flat = np.ascontiguousarray(keys, dtype=np.uint64).ravel()
        n = keys.shape[-1] if keys.ndim == 2 else len(flat)
        if not len(flat):
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        unique, inverse = np.unique(flat, return_inverse=True)
        at, pids = self._lookup(table, unique)
        at, pids = _capped(at, pids)
        return _expand(unique, inverse, at, pids, n)

    def query(self, band_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._find(b"bands", self._band_keys(band_keys))  # type: ignore[attr-defined]

    def query_exact(self, exact_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._find(b"exact", self._query_keys(exact_keys))  # type: ignore[attr-defined]

    def fetch(self, pids: np.ndarray) -> Any:
        from dedup.index import Fetched, IndexError_

        pids = np.asarray(pids, dtype=np.int64)
        blobs = self._read_rows(pids.tolist())
        docs: list[str] = []
        numbers = np.empty(len(pids), dtype=np.int64)
        at = np.empty(len(pids))
        sets: list[np.ndarray] = []
        for k, blob in enumerate(blobs):
            if blob is None:
                raise IndexError_(f"{pids[k]} not in the index")
            doc, numbers[k], at[k], hashes = _decode_row(blob)
            docs.append(doc)
            sets.append(hashes)
        offsets = np.zeros(len(sets) + 1, dtype=np.int64)
        np.cumsum([len(s) for s in sets], out=offsets[1:])
        hashes = np.concatenate(sets) if sets else np.empty(0, dtype=np.uint64)
        return Fetched(pids, docs, numbers, at, hashes.astype(np.uint64), offsets)

    def add(self, records: Records, *, queried: np.ndarray | None = None) -> np.ndarray:
        records = self._records(records)
        keys, hashes, offsets, exact = records.band_keys, records.hashes, records.offsets, records.exact_keys
        n = len(records)
        first = self._next_pid()
        pids = np.arange(first, first + n, dtype=np.int64)
        if not n:
            return pids
        self._write(b"bands", keys.ravel(), np.tile(pids, keys.shape[0]))
        if exact is not None:
            self._write(b"exact", exact, pids)
        rows = [_encode_row(records.doc_ids[k], int(records.paragraphs[k]), records.ingested_at, hashes[offsets[k] : offsets[k + 1]]) for k in range(n)]
        self._write_rows(pids, rows, first + n)
        return pids

    def remove(self, doc_ids: list[str]) -> int:
        raise NotImplementedError("not part of the benchmark")

    def prune(self, before: float) -> int:
        raise NotImplementedError("not part of the benchmark")

    def export(self) -> Iterator[dict[str, Any]]:
        raise NotImplementedError("not part of the benchmark")

    def stats(self) -> dict[str, Any]:
        return {"paragraphs": self._next_pid()}


def _lmdb_index_class() -> type:
    import lmdb

    from dedup.index import Index, IndexParams

    class LMDBIndex(_KeyValueIndex, Index):
        def __init__(self, path: str, params: IndexParams) -> None:
            self.params = params
            Path(path).mkdir(parents=True, exist_ok=True)
            self.env = lmdb.open(path, map_size=LMDB_MAP_SIZE, max_dbs=4, sync=False, readahead=False)
            self.dbs = {
                b"bands": self.env.open_db(b"bands", dupsort=True, dupfixed=True),
                b"exact": self.env.open_db(b"exact", dupsort=True, dupfixed=True),
                b"rows": self.env.open_db(b"rows"),
                b"meta": self.env.open_db(b"meta"),
            }
            self.txn: Any = None

        @contextlib.contextmanager
        def batch(self) -> Iterator[None]:
            self.txn = self.env.begin(write=True)
            try:
                yield
            except BaseException:
                self.txn.abort()
                raise
            else:
                self.txn.commit()
            finally:
                self.txn = None

        @contextlib.contextmanager
        def _reading(self) -> Iterator[Any]:
            if self.txn is not None:
                yield self.txn
            else:
                with self.env.begin() as txn:
                    yield txn

        def _lookup(self, table: bytes, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            raw = _be(keys)
            with self._reading() as txn:
                found = txn.cursor(db=self.dbs[table]).getmulti(_key_bytes(keys), dupdata=True, dupfixed_bytes=8, keyfixed=True)
            pairs = np.frombuffer(found, dtype=">u8").reshape(-1, 2)
            at = np.searchsorted(raw, pairs[:, 0].astype(np.uint64))
            return at.astype(np.int64), pairs[:, 1].astype(np.int64)

        def _read_rows(self, pids: list[int]) -> list[bytes | None]:
            with self._reading() as txn:
                db = self.dbs[b"rows"]
                return [txn.get(struct.pack(">Q", p), db=db) for p in pids]

        def _write(self, table: bytes, keys: np.ndarray, pids: np.ndarray) -> None:
            order = np.lexsort((pids, keys))  # key order: LMDB inserts sorted input faster
            k = _key_bytes(keys[order])
            v = _key_bytes(pids[order].astype(np.uint64))
            self.txn.cursor(db=self.dbs[table]).putmulti(zip(k, v), dupdata=True)

        def _write_rows(self, pids: np.ndarray, rows: list[bytes], next_pid: int) -> None:
            keys = _key_bytes(pids.astype(np.uint64))
            self.txn.cursor(db=self.dbs[b"rows"]).putmulti(zip(keys, rows), append=True)
            self.txn.put(b"next_pid", struct.pack(">Q", next_pid), db=self.dbs[b"meta"])

        def _next_pid(self) -> int:
            with self._reading() as txn:
                value = txn.get(b"next_pid", db=self.dbs[b"meta"])
            return struct.unpack(">Q", value)[0] if value else 0

        def close(self) -> None:
            self.env.close()

    return LMDBIndex


def _rocksdb_index_class() -> type:
    import rocksdict

    from dedup.index import Index, IndexParams

    class RocksDBIndex(_KeyValueIndex, Index):
        def __init__(self, path: str, params: IndexParams) -> None:
            self.params = params
            options = rocksdict.Options(raw_mode=True)
            options.create_if_missing(True)
            table = rocksdict.BlockBasedOptions()
            table.set_bloom_filter(10, False)
            options.set_block_based_table_factory(table)
            self.db = rocksdict.Rdict(path, options)
            self.write_batch: Any = None
            self.pending: dict[bytes, bytes] = {}
            self.known: dict[bytes, bytes | None] = {}  # what this batch's lookups read

        @contextlib.contextmanager
        def batch(self) -> Iterator[None]:
            self.write_batch = rocksdict.WriteBatch(raw_mode=True)
            self.pending, self.known = {}, {}
            try:
                yield
                self.db.write(self.write_batch)
            finally:
                self.write_batch = None
                self.pending, self.known = {}, {}

        def _get(self, keys: list[bytes]) -> list[bytes | None]:
            values: list[bytes | None] = self.db.get(keys)
            if self.write_batch is not None:
                values = [self.pending.get(k, v) for k, v in zip(keys, values)]
            return values

        def _lookup(self, table: bytes, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            prefix = table[:1]
            names = [prefix + k for k in _key_bytes(keys)]
            values = self._get(names)
            if self.write_batch is not None:
                self.known.update(zip(names, values))
            hits = [(k, v) for k, v in enumerate(values) if v]
            if not hits:
                return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
            pids = [np.frombuffer(v, dtype=">u8") for _, v in hits]
            at = np.repeat([k for k, _ in hits], [len(p) for p in pids])
            return at.astype(np.int64), np.concatenate(pids).astype(np.int64)

        def _read_rows(self, pids: list[int]) -> list[bytes | None]:
            return self._get([b"r" + struct.pack(">Q", p) for p in pids])

        def _write(self, table: bytes, keys: np.ndarray, pids: np.ndarray) -> None:
            prefix = table[:1]
            order = np.lexsort((pids, keys))
            keys, pids = keys[order], pids[order]
            # a paragraph with one key in several bands is stored once under it, as LMDB's
            # sorted duplicates store one (key, pid) pair once
            distinct = np.r_[True, (keys[1:] != keys[:-1]) | (pids[1:] != pids[:-1])]
            keys, pids = keys[distinct], pids[distinct]
            starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
            names = [prefix + k for k in _key_bytes(keys[starts])]
            unknown = [name for name in names if name not in self.known and name not in self.pending]
            if unknown:
                self.known.update(zip(unknown, self.db.get(unknown)))
            packed = _be(pids.astype(np.uint64)).tobytes()
            ends = np.r_[starts[1:], len(keys)]
            for name, lo, hi in zip(names, starts.tolist(), ends.tolist()):
                value = (self.pending.get(name) or self.known.get(name) or b"") + packed[8 * lo : 8 * hi]
                self.pending[name] = value
                self.write_batch.put(name, value)

        def _write_rows(self, pids: np.ndarray, rows: list[bytes], next_pid: int) -> None:
            for pid, row in zip(pids.tolist(), rows):
                key = b"r" + struct.pack(">Q", pid)
                self.pending[key] = row
                self.write_batch.put(key, row)
            value = struct.pack(">Q", next_pid)
            self.pending[b"mnext_pid"] = value
            self.write_batch.put(b"mnext_pid", value)

        def _next_pid(self) -> int:
            (value,) = self._get([b"mnext_pid"])
            return struct.unpack(">Q", value)[0] if value else 0

        def close(self) -> None:
            self.db.close()

    return RocksDBIndex


def open_store(store: str, path: str, params: Any) -> Any:
    """An :class:`dedup.index.Index` of kind ``store`` (a key of :data:`STORES`) at ``path``."""
    if store == "dedup_sqlite":
        from dedup.index import open_index

        return open_index(path, params)
    if store == "lmdb":
        return _lmdb_index_class()(path, params)
    if store == "rocksdb":
        return _rocksdb_index_class()(path, params)
    raise ValueError(f"stores are {', '.join(k for k, _ in STORES)}, not {store!r}")


class _Timed:
    """Forwards the Index calls the filter makes, adding up the time spent inside them."""

    def __init__(self, index: Any) -> None:
        self.index = index
        self.params = index.params
        self.seconds = 0.0

    def __getattr__(self, name: str) -> Any:  # whatever else the filter reads of its index
        return getattr(self.index, name)

    def _timed(self, method: str, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return getattr(self.index, method)(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        held = self.index.batch()
        start = time.perf_counter()
        held.__enter__()
        self.seconds += time.perf_counter() - start
        try:
            yield
        except BaseException:
            held.__exit__(*sys.exc_info())
            raise
        start = time.perf_counter()
        held.__exit__(None, None, None)  # the commit
        self.seconds += time.perf_counter() - start

    def query(self, *a: Any, **k: Any) -> Any:
        return self._timed("query", *a, **k)

    def query_exact(self, *a: Any, **k: Any) -> Any:
        return self._timed("query_exact", *a, **k)

    def fetch(self, *a: Any, **k: Any) -> Any:
        return self._timed("fetch", *a, **k)

    def add(self, *a: Any, **k: Any) -> Any:
        return self._timed("add", *a, **k)

    def stats(self) -> Any:
        return self.index.stats()


# ---------------------------------------------------------------------------------------------
# The workers.


def _params(spec: dict[str, Any]) -> Any:
    from dedup.filter import index_params

    return index_params(threshold=spec["threshold"])


def _filter(index: Any, **options: Any) -> Any:
    """``dedup.filter.Filter`` over ``index``, storing no n-gram postings where the filter can
    (only dedup's own index keeps them): every store then does the same work, the band lookup."""
    import inspect

    from dedup.filter import Filter

    if "postings" in inspect.signature(Filter).parameters:
        options["postings"] = False
    return Filter(index, **options)


def _stream_files(paths: list[str], deadline: float = float("inf")) -> Iterator[tuple[str, str]]:
    """Documents of several JSON Lines corpus files one at a time, ids made unique per file;
    none after ``deadline`` (``time.monotonic()``)."""
    for k, path in enumerate(paths):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if time.monotonic() > deadline:
                    return
                row = json.loads(line)
                yield f"{k}/{row['id']}", row["text"]


def _preload(spec: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + spec["preload_limit_s"] if spec.get("preload_limit_s") else float("inf")
    start = time.perf_counter()
    with open_store(spec["store"], spec["path"], _params(spec)) as index:
        step = _filter(index, batch_paragraphs=spec["preload_batch"])
        for _ in step(_stream_files(spec["preload_files"], deadline)):
            pass
        indexed = int(index.stats()["paragraphs"])
    return {"preload_s": time.perf_counter() - start, "indexed": indexed, "read": step.stats.paragraphs, "stopped": time.monotonic() > deadline}


def _warm(store: str, path: str, params: Any) -> None:
    """Every kernel of the filter path, and the store's library, run once before the clock starts."""
    words = "warm up every kernel once before the clock starts so that the timed run measures work not loading".split()
    docs = [(f"w{k}", " ".join(words[k:] + words[:k]) + "\n\nA second paragraph here.\n\n" + " ".join(words[:-1] + [f"compiling{k}"])) for k in range(8)]
    with open_store(store, path, params) as index:
        for _ in _filter(index, batch_paragraphs=3)(docs):
            pass
        for _ in _filter(index)(docs):
            pass


def _stream(spec: dict[str, Any]) -> dict[str, Any]:
    from typing import cast

    from dedup.index import Index

    documents = read_documents(spec["corpus"])
    params = _params(spec)
    result: dict[str, Any] = {"bands": params.bands, "rows": params.rows}
    _warm(spec["store"], str(Path(spec["workdir"]) / "warm"), params)
    start = time.perf_counter()
    with open_store(spec["store"], spec["path"], params) as index:
        result["open_s"] = time.perf_counter() - start
        result["open_rss_mb"] = current_rss_mb()
        result["indexed_before"] = int(index.stats()["paragraphs"])
        timed = _Timed(index)
        step = _filter(cast(Index, timed))
        dropped = 0
        start = time.perf_counter()
        for outcomes in step.batches(documents):
            dropped += sum(len(outcome.drops) for outcome in outcomes)
        result["seconds"] = time.perf_counter() - start
        result["store_s"] = timed.seconds
        result["dropped"] = dropped
        result["paragraphs"] = step.stats.paragraphs
        result["indexed_after"] = int(index.stats()["paragraphs"])
    return result


def _kill_batch(k: int, bands: int, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Synthetic batch ``k`` of the kill test, ``size`` paragraphs: ``(band keys, hashes,
    offsets, exact keys)``; random 63-bit keys, so no two paragraphs share one."""
    rng = np.random.default_rng(1_000 + k)
    keys = rng.integers(1, 2**63, size=(bands, size), dtype=np.uint64)
    hashes = np.sort(rng.integers(1, 2**63, size=(size, KILL_HASHES), dtype=np.uint64), axis=1).ravel()
    offsets = np.arange(0, size * KILL_HASHES + 1, KILL_HASHES, dtype=np.int64)
    exact = rng.integers(1, 2**63, size=size, dtype=np.uint64)
    return keys, hashes, offsets, exact


def _kill_writer(spec: dict[str, Any]) -> dict[str, Any]:
    """Add batch after batch until killed, writing ``start k`` before and ``done k`` after
    each commit to the progress file."""
    from dedup.index import Records

    params = _params(spec)
    with open_store(spec["store"], spec["path"], params) as index, open(spec["progress"], "a", encoding="utf-8") as progress:
        for k in range(spec["batches"]):
            keys, hashes, offsets, exact = _kill_batch(k, params.bands, spec["kill_batch"])
            progress.write(f"start {k} {time.time():.6f}\n")
            progress.flush()
            with index.batch():
                index.add(Records([f"b{k}"] * spec["kill_batch"], np.arange(spec["kill_batch"]), keys, hashes, offsets, float(k), exact_keys=exact))
            progress.write(f"done {k} {time.time():.6f}\n")
            progress.flush()
    return {}


def _batch_state(index: Any, k: int, bands: int, size: int) -> str:
    """``whole``, ``absent`` or ``partial``: whether every paragraph of batch ``k`` can be found
    through its exact key and each of its band keys, with its row as written."""
    keys, hashes, _, exact = _kill_batch(k, bands, size)
    q, pids = index.query_exact(exact)
    pid_of = np.full(size, -1, dtype=np.int64)
    pid_of[q] = pids
    whole = np.zeros(size, dtype=bool)
    present = pid_of >= 0
    if present.any():
        rows = np.flatnonzero(present)
        fetched = index.fetch(pid_of[rows])
        ok = np.array([doc == f"b{k}" for doc in fetched.doc_ids]) & (fetched.paragraphs == rows)
        expected = hashes.reshape(size, KILL_HASHES)[rows]
        same_size = np.diff(fetched.offsets) == KILL_HASHES
        ok &= same_size
        if same_size.all():
            ok &= (fetched.hashes.reshape(-1, KILL_HASHES) == expected).all(axis=1)
        whole[rows] = ok
    seen_by_band = np.zeros(size, dtype=bool)
    for b in range(bands):
        qb, pb = index.query(np.tile(keys[b], (bands, 1)))
        found = np.zeros(size, dtype=bool)
        match = pb == pid_of[qb]
        found[qb[match]] = True
        whole &= found
        seen_by_band[qb] = True
    if whole.all():
        return "whole"
    if not present.any() and not seen_by_band.any():
        return "absent"
    return "partial"


def _kill_check(spec: dict[str, Any]) -> dict[str, Any]:
    params = _params(spec)
    lines = Path(spec["progress"]).read_text(encoding="utf-8").split("\n")
    done = [int(line.split()[1]) for line in lines if line.startswith("done ")]
    last_done = done[-1] if done else -1
    start = time.perf_counter()
    with open_store(spec["store"], spec["path"], params) as index:
        open_s = time.perf_counter() - start
        states = [_batch_state(index, k, params.bands, spec["kill_batch"]) for k in range(last_done + 3)]
        paragraphs = int(index.stats()["paragraphs"])
    committed = states[: last_done + 1]
    in_flight = states[last_done + 1]
    later = states[last_done + 2]
    ok = all(s == "whole" for s in committed) and in_flight in ("whole", "absent") and later == "absent"
    expected = (last_done + 1 + (in_flight == "whole")) * spec["kill_batch"]
    ok &= paragraphs == expected
    return {"committed": last_done + 1, "states": states, "in_flight": in_flight, "paragraphs": paragraphs, "expected": expected, "ok": bool(ok), "reopen_s": open_s}


def run_peer(spec: dict[str, Any]) -> dict[str, Any]:
    """Worker side: one phase (``preload``, ``stream``, ``kill_writer``, ``kill_check``) of one store."""
    phases = {"preload": _preload, "stream": _stream, "kill_writer": _kill_writer, "kill_check": _kill_check}
    return phases[spec["phase"]](spec)


# ---------------------------------------------------------------------------------------------
# The suite (parent process).


def _disk_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def _worker_command(spec: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    return [sys.executable, "-m", "benchmarks._worker", json.dumps(spec)], env


def kill_test(store: str, workdir: Path, threshold: float, rng: random.Random, batch: int = KILL_BATCH) -> dict[str, Any]:
    """One trial: a writer killed with SIGKILL during a batch, then the store reopened and checked."""
    progress = workdir / "progress.txt"
    spec: dict[str, Any] = {"suite": "storage", "store": store, "path": str(workdir / "store"), "threshold": threshold, "progress": str(progress), "batches": 1_000, "kill_batch": batch}
    # Batches committed before the kill: at 20,000 a batch, dedup's index writes a segment
    # (every 65,536 paragraphs) during some of them.
    target = rng.randint(2, 6)
    command, env = _worker_command({**spec, "phase": "kill_writer"})
    writer = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    killed_in = "not killed"
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and writer.poll() is None:
            lines = progress.read_text(encoding="utf-8").split("\n") if progress.exists() else []
            starts = [line.split() for line in lines if line.startswith("start ")]
            dones = [line.split() for line in lines if line.startswith("done ")]
            if starts and int(starts[-1][1]) >= target and len(dones) >= 2:
                # into the batch under way by a random share of how long the last one took
                last = float(dones[-1][2]) - float(next(s for s in starts if s[1] == dones[-1][1])[2])
                time.sleep(rng.uniform(0.05, 0.95) * last)
                writer.send_signal(signal.SIGKILL)
                break
            time.sleep(0.005)
    finally:
        if writer.poll() is None:
            writer.kill()
        writer.wait()
    lines = [line for line in progress.read_text(encoding="utf-8").split("\n") if line]
    if lines and lines[-1].startswith("start "):
        killed_in = f"batch {lines[-1].split()[1]}"
    elif lines:
        killed_in = "between batches"
    if writer.returncode != -signal.SIGKILL:
        raise WorkerFailed(f"{store}: kill-test writer exited {writer.returncode} before it was killed\n{writer.stderr.read().decode()[-2000:] if writer.stderr else ''}")
    result = run_worker({**spec, "phase": "kill_check"})
    result["killed_in"] = killed_in
    return result


def _preload_files(size: int, seed: int, directory: Path) -> list[str]:
    """The preload corpus, ``size`` paragraphs in files of at most :data:`CHUNK_PARAGRAPHS`,
    made one file at a time (seeds ``seed + 1``, ``seed + 2``, ...), no planted copies."""
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    for k, begin in enumerate(range(0, size, CHUNK_PARAGRAPHS)):
        part = make_corpus(min(CHUNK_PARAGRAPHS, size - begin), seed=seed + 1 + k, dup_share=0.0)
        files.append(str(write_corpus(part, directory / f"preload-{k}.jsonl", "jsonl")))
        del part
    return files


def run(
    sizes: tuple[int, ...] = DEFAULT_SIZES,
    paragraphs: int = DEFAULT_PARAGRAPHS,
    json_path: str | None = None,
    seed: int = 0,
    stores: tuple[str, ...] = tuple(k for k, _ in STORES),
    kill_trials: int = 3,
    kill_batch: int = KILL_BATCH,
    threshold: float = 0.4,
    preload_batch: int = DEFAULT_PRELOAD_BATCH,
    workdir: str | None = None,
    preload_limit_s: float | None = None,
) -> int:
    """Run the storage suite and print its tables; returns the exit status."""
    from dedup.filter import index_params

    info = machine()
    print_machine(info)
    params = index_params(threshold=threshold)
    corpus = make_corpus(paragraphs, seed=seed)
    print(f"corpus   {paragraphs:,} paragraphs in {len(corpus.names):,} documents, {len(corpus.planted):,} planted copies (seed {seed}); preloads: {', '.join(f'{s:,}' for s in sizes)} paragraphs (seeds {seed + 1}...), no planted copies")
    print(f"task     dedup.filter.Filter over each store: exact Jaccard >= {threshold}, word:3, 128 permutations, {params.bands} bands x {params.rows} rows, batches of 10,000, a commit each")
    print(f"stores   a commit is written to the OS, not fsynced, by every store; preload in batches of {preload_batch:,}; dedup's kernels on every usable core (DEDUP_THREADS unset) for all\n")
    rows: list[Row] = []
    failures: list[str] = []
    kills: list[dict[str, Any]] = []
    stopped: list[str] = []  # preloads cut short by --preload-limit
    labels = dict(STORES)
    with tempfile.TemporaryDirectory(prefix="dedup-bench-storage-", dir=workdir) as tmp:
        corpus_path = write_corpus(corpus, Path(tmp) / "corpus.jsonl", "jsonl")
        del corpus
        for size in sizes:
            start = time.perf_counter()
            files = _preload_files(size, seed, Path(tmp) / f"preload-{size}")
            print(f"preload corpus of {size:,} paragraphs written in {time.perf_counter() - start:.0f} s", flush=True)
            for store in stores:
                work = Path(tmp) / f"{store}-{size}"
                work.mkdir()
                spec: dict[str, Any] = {"suite": "storage", "store": store, "path": str(work / "store"), "threshold": threshold, "workdir": str(work)}
                try:
                    preloaded = run_worker({**spec, "phase": "preload", "preload_files": files, "preload_batch": preload_batch, "preload_limit_s": preload_limit_s})
                    disk = _disk_mb(work / "store")
                    result = run_worker({**spec, "phase": "stream", "corpus": str(corpus_path)})
                except WorkerFailed as err:
                    failures.append(str(err))
                    print(f"FAILED {labels[store]} at {size:,}: {err}")
                    continue
                finally:
                    shutil.rmtree(work, ignore_errors=True)
                extra = {k: result[k] for k in ("open_s", "open_rss_mb", "store_s", "indexed_before", "indexed_after", "dropped", "bands", "rows", "process_s")}
                extra.update(
                    key=store,
                    size=size,
                    preload_s=preloaded["preload_s"],
                    preload_rate=preloaded["indexed"] / preloaded["preload_s"],
                    preload_rss_mb=preloaded["peak_rss_mb"],
                    preload_stopped=preloaded["stopped"],
                    disk_mb=disk,
                    store_share=result["store_s"] / result["seconds"],
                )
                if preloaded["stopped"]:
                    stopped.append(f"{labels[store]}: the preload of {size:,} stopped at its time limit ({preload_limit_s:,.0f} s) with {preloaded['indexed']:,} indexed")
                row = Row.of(f"{labels[store]}, preload {size:,}" + (" (stopped)" if preloaded["stopped"] else ""), result["paragraphs"], result["seconds"], result["peak_rss_mb"], **extra)
                rows.append(row)
                print(
                    f"  {row.name}: {row.paragraphs_per_s:,.0f} paragraphs/s ({extra['store_share']:.0%} in the store), peak RSS {row.peak_rss_mb:,.0f} MB, "
                    f"opened in {extra['open_s']:.3f} s; preload {extra['preload_rate']:,.0f} paragraphs/s, peak RSS {extra['preload_rss_mb']:,.0f} MB, "
                    f"{disk:,.0f} MB on disk; dropped {extra['dropped']:,}",
                    flush=True,
                )
            shutil.rmtree(Path(tmp) / f"preload-{size}", ignore_errors=True)
        rng = random.Random(seed)
        for store in stores:
            for trial in range(kill_trials):
                work = Path(tmp) / f"kill-{store}-{trial}"
                work.mkdir()
                try:
                    outcome = kill_test(store, work, threshold, rng, kill_batch)
                except WorkerFailed as err:
                    failures.append(str(err))
                    print(f"FAILED kill test of {labels[store]}: {err}")
                    continue
                finally:
                    shutil.rmtree(work, ignore_errors=True)
                kills.append({"key": store, "trial": trial, **outcome})
                if not outcome["ok"]:
                    failures.append(f"kill test of {labels[store]}, trial {trial}: {outcome['states']}, {outcome['paragraphs']:,} paragraphs (expected {outcome['expected']:,})")

    ours = {r.extra["size"]: r for r in rows if r.extra["key"] == "dedup_sqlite"}
    for r in rows:
        base = ours.get(r.extra["size"])
        if base is not None:
            r.ratio = r.paragraphs_per_s / base.paragraphs_per_s
    print()
    print_table(
        rows,
        "vs dedup",
        [
            ("indexed before", "indexed_before", ","),
            ("in store %", "store_share", ".0%"),
            ("open s", "open_s", ".3f"),
            ("preload p/s", "preload_rate", ",.0f"),
            ("preload RSS MB", "preload_rss_mb", ",.0f"),
            ("disk MB", "disk_mb", ",.0f"),
            ("dropped", "dropped", ","),
        ],
    )
    print()
    print("vs dedup: stream rate against dedup's own index at the same preload (higher is faster); in store %: share of the")
    print("          stream's time inside the store's methods (the rest is the filter's hashing and verification, the same for all);")
    print("peak RSS MB: the stream's process, the store's touched memory-mapped pages included; preload: Filter from empty, its own process")
    for line in stopped:
        print(line)
    for size in sizes:
        decisions = {r.extra["dropped"] for r in rows if r.extra["size"] == size and not r.extra["preload_stopped"]}
        if len(decisions) > 1:
            failures.append(f"at {size:,} indexed the stores dropped different numbers of paragraphs: {sorted(decisions)}")
    if kills:
        print()
        print(f"kill -9: a writer adds batches of {kill_batch:,} synthetic paragraphs ({params.bands} band keys each) and is killed during one; then the store is reopened")
        for k in kills:
            verdict = "PASSED" if k["ok"] else "FAILED"
            print(
                f"  {labels[k['key']]}, trial {k['trial']}: killed in {k['killed_in']}, {k['committed']} batches seen committed, "
                f"the batch under way {k['in_flight']}, {k['paragraphs']:,} paragraphs after reopening (reopened in {k['reopen_s']:.2f} s): {verdict}"
            )
    for failure in failures:
        print(f"FAILED {failure}")
    if json_path:
        write_json(json_path, "storage", info, rows, threshold=threshold, sizes=list(sizes), preload_batch=preload_batch, kill_batch=kill_batch, kill_tests=kills, failures=failures)
    return 1 if failures else 0


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part.replace("_", "").replace(",", "")) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes must be whole numbers separated by commas, not {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"give sizes of at least 1, not {text!r}")
    return sizes


def _count(text: str) -> int:
    (value,) = _sizes(text)
    return value


def _stores(text: str) -> tuple[str, ...]:
    stores = tuple(part.strip() for part in text.split(",") if part.strip())
    known = [k for k, _ in STORES]
    if not stores or any(s not in known for s in stores):
        raise argparse.ArgumentTypeError(f"stores are {', '.join(known)}, not {text!r}")
    return stores


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """This suite's options, for ``python -m benchmarks storage``."""
    parser.add_argument("--sizes", type=_sizes, default=DEFAULT_SIZES, help="comma-separated paragraph counts preloaded before the stream (default 1000000,10000000)")
    parser.add_argument("--paragraphs", type=_count, default=DEFAULT_PARAGRAPHS, help=f"paragraphs in the measured stream (default {DEFAULT_PARAGRAPHS:,})")
    parser.add_argument("--stores", type=_stores, default=tuple(k for k, _ in STORES), help="comma-separated stores (default all): " + ", ".join(k for k, _ in STORES))
    parser.add_argument("--kill-trials", type=lambda t: _count(t) if t.strip() != "0" else 0, default=3, help="kill -9 trials per store; 0 skips them (default 3)")
    parser.add_argument("--kill-batch", type=_count, default=KILL_BATCH, help=f"synthetic paragraphs per batch of the kill test (default {KILL_BATCH:,})")
    parser.add_argument("--preload-batch", type=_count, default=DEFAULT_PRELOAD_BATCH, help=f"paragraphs per batch (one commit) of the preload, for every store (default {DEFAULT_PRELOAD_BATCH:,}, the filter's)")
    parser.add_argument("--preload-limit", type=float, metavar="SECONDS", help="stop each store's preload after this long and measure it as it is (default: no limit)")
    parser.add_argument("--threshold", type=float, default=0.4, help="the filter's threshold (default 0.4, the product's default)")
    parser.add_argument("--workdir", metavar="DIR", help="where the stores are made (default: the system's temporary directory)")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON to PATH")


def run_args(args: argparse.Namespace) -> int:
    return run(args.sizes, args.paragraphs, args.json, args.seed, args.stores, args.kill_trials, args.kill_batch, args.threshold, args.preload_batch, args.workdir, args.preload_limit)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks storage", description=HELP)
    add_arguments(parser)
    return run_args(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
