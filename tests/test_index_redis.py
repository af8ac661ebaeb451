"""The shared Redis index, against a real redis-server (see ``redis_server.py``)."""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

redis = pytest.importorskip("redis")

from redis_server import RedisServer, redis_server, require_redis_server  # noqa: E402, F401 - the session fixture

from click.testing import CliRunner  # noqa: E402

from dedup.cli import main  # noqa: E402
from dedup.index import Fetched, IndexError_, IndexMismatch, IndexParams, Postings, Records, open_index  # noqa: E402
from dedup.index.redis import LockLost, RedisIndex  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PARAMS = IndexParams(num_perm=128, seed=1, shingle="word:3", threshold=0.4, bands=31, rows=3)
BANDS = PARAMS.bands


# ---------------------------------------------------------------------------------------------
# Synthetic paragraphs: band keys and shingle sets made up from a number, so tests can say which
# paragraphs share keys without computing signatures.


def keys_of(*ids: int) -> np.ndarray:
    """Band keys ``(BANDS, len(ids))``: paragraph ``i``'s band ``b`` is ``i * 1000 + b``."""
    return np.array([[i * 1000 + b for i in ids] for b in range(BANDS)], dtype=np.uint64)


def sets_of(*ids: int) -> tuple[np.ndarray, np.ndarray]:
    """Shingle sets: paragraph ``i`` has ``i % 7 + 1`` hashes (none when ``i % 7`` is 0), the
    largest near 2**64."""
    parts = [np.array(sorted({(i * 7919 + k * 104729) % 2**64 for k in range(i % 7)} | ({2**64 - 1 - i} if i % 7 else set())), dtype=np.uint64) for i in ids]
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in parts])]).astype(np.int64)
    return (np.concatenate(parts) if parts else np.empty(0, np.uint64)), offsets


def exact_of(*texts: int) -> np.ndarray:
    """Exact keys: one per text number, spread over all 64 bits."""
    return np.array([(t * 0x9E3779B97F4A7C15 + 1) % 2**64 for t in texts], dtype=np.uint64)


def add(
    index: RedisIndex, doc: str, ids: list[int], at: float = 1_700_000_000.0, first_paragraph: int = 0, texts: list[int] | None = None
) -> np.ndarray:
    """Paragraphs ``ids`` of ``doc``; with ``texts``, each with the exact key of that text."""
    hashes, offsets = sets_of(*ids)
    paragraphs = np.arange(first_paragraph, first_paragraph + len(ids))
    exact = exact_of(*texts) if texts is not None else None
    return index.add(Records([doc] * len(ids), paragraphs, keys_of(*ids), hashes, offsets, at, exact_keys=exact))


def set_k(fetched: Fetched, k: int) -> list[int]:
    return fetched.hashes[fetched.offsets[k] : fetched.offsets[k + 1]].tolist()


# ---------------------------------------------------------------------------------------------


@pytest.fixture
def url(redis_server: RedisServer) -> str:
    """A fresh index location: the session's server, a key prefix of this test's own."""
    return redis_server.url(db=0, prefix=f"t{uuid.uuid4().hex[:8]}:")


@pytest.fixture
def raw(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis(host="127.0.0.1", port=redis_server.port, db=0)
    yield client
    client.close()


@pytest.fixture
def index(url: str) -> Iterator[RedisIndex]:
    with RedisIndex.open(url, PARAMS) as idx:
        yield idx


def prefix_of(url: str) -> bytes:
    return url.split("prefix=")[1].encode()


# ---------------------------------------------------------------------------------------------
# Parameters


def test_params_are_stored_and_other_params_are_refused(url: str, raw: redis.Redis) -> None:
    with RedisIndex.open(url, PARAMS):
        pass
    stored = raw.hgetall(prefix_of(url) + b"params")
    assert stored == {b"num_perm": b"128", b"seed": b"1", b"shingle": b"word:3", b"threshold": b"0.4", b"bands": b"31", b"rows": b"3", b"schema_version": b"2"}
    with RedisIndex.open(url, None) as again:  # maintenance: whatever it was built with
        assert again.params == PARAMS
    other = IndexParams(num_perm=64, seed=1, shingle="word:3", threshold=0.5, bands=13, rows=4)
    with pytest.raises(IndexMismatch) as caught:
        RedisIndex.open(url, other)
    message = str(caught.value)
    assert "127.0.0.1:" in message and "num_perm 128 (asked for 64)" in message and "threshold 0.4 (asked for 0.5)" in message


def test_an_index_of_the_earlier_hashes_is_refused_saying_so(url: str, raw: redis.Redis) -> None:
    with RedisIndex.open(url, PARAMS):
        pass
    raw.hset(prefix_of(url) + b"params", b"schema_version", b"1")  # as an earlier dedup wrote it
    with pytest.raises(IndexMismatch, match="made by an earlier dedup, which hashed shingles differently .*make a new index"):
        RedisIndex.open(url, PARAMS)
    with RedisIndex.open(url, None) as maintenance:  # stats, export, remove and prune still work
        assert maintenance.stats()["paragraphs"] == 0
    raw.hset(prefix_of(url) + b"params", b"schema_version", b"3")
    for params in (PARAMS, None):
        with pytest.raises(IndexMismatch, match="made by a newer dedup .*upgrade dedup"):
            RedisIndex.open(url, params)


def test_missing_index_is_created_only_when_asked(url: str, raw: redis.Redis) -> None:
    raw.set(b"someone-elses-key", b"x")  # other keys in the DB do not matter
    with pytest.raises(IndexError_, match="no dedup index at 127.0.0.1"):
        RedisIndex.open(url, None)
    with pytest.raises(IndexError_, match="no dedup index"):
        RedisIndex.open(url, PARAMS, create=False)
    with RedisIndex.open(url, PARAMS) as idx:
        assert idx.stats()["paragraphs"] == 0
    assert raw.get(b"someone-elses-key") == b"x"
    raw.delete(b"someone-elses-key")


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param({b"num_perm": b"many", b"seed": b"1"}, id="garbled-hash"),
        pytest.param(b"not a hash", id="wrong-type"),
        pytest.param(None, id="data-without-params"),
    ],
)
def test_prefix_with_unreadable_params_is_an_error(url: str, raw: redis.Redis, damage: object) -> None:
    prefix = prefix_of(url)
    if isinstance(damage, dict):
        raw.hset(prefix + b"params", mapping=damage)
    elif isinstance(damage, bytes):
        raw.set(prefix + b"params", damage)
    else:
        raw.set(prefix + b"next", 5)
    with pytest.raises(IndexError_) as caught:
        RedisIndex.open(url, PARAMS)
    assert not isinstance(caught.value, IndexMismatch)
    assert "unreadable" in str(caught.value) or "no parameters" in str(caught.value)


def test_a_unix_socket_url(tmp_path: Path) -> None:
    sock = tmp_path / "redis.sock"
    args = [require_redis_server(), "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no", "--dir", str(tmp_path)]
    server = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        for spec in (f"unix://{sock}", f"unix://{sock}?db=2&prefix=u:"):
            with open_index(spec, PARAMS) as index:
                add(index, "a", [1])
                stats = index.stats()
                assert (stats["location"], stats["paragraphs"]) == (str(sock), 1)
        with redis.Redis(unix_socket_path=str(sock), db=2) as client:
            assert client.exists(b"u:params") == 1
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_server_that_evicts_keys_is_refused(url: str, raw: redis.Redis) -> None:
    raw.config_set("maxmemory-policy", "allkeys-lru")
    try:
        with pytest.raises(IndexError_, match="maxmemory-policy allkeys-lru"):
            RedisIndex.open(url, PARAMS)
    finally:
        raw.config_set("maxmemory-policy", "noeviction")


def test_prefixes_are_separate_indexes(redis_server: RedisServer) -> None:
    with RedisIndex.open(redis_server.url(prefix="one:"), PARAMS) as one, RedisIndex.open(redis_server.url(prefix="two:"), PARAMS) as two:
        add(one, "a", [1])
        assert len(two.query(keys_of(1))[1]) == 0
        assert len(one.query(keys_of(1))[1]) == 1
        one.remove(["a"])


# ---------------------------------------------------------------------------------------------
# Round trip


def test_add_query_fetch_round_trip(index: RedisIndex) -> None:
    pids = add(index, "doc-é", [1, 2, 3], at=1_700_000_123.25, first_paragraph=4)
    assert pids.dtype == np.int64 and len(set(pids.tolist())) == 3

    # Query 0 is paragraph 2 exactly; query 1 shares one band key with paragraph 3 only;
    # query 2 shares nothing.
    queries = np.concatenate([keys_of(2), keys_of(99), keys_of(98)], axis=1)
    queries[7, 1] = keys_of(3)[7, 0]
    qi, found = index.query(queries)
    assert sorted(zip(qi.tolist(), found.tolist())) == [(0, pids[1]), (1, pids[2])]

    order = pids[[2, 0, 1]]
    got = index.fetch(order)
    assert got.pids.tolist() == order.tolist()
    assert got.doc_ids == ["doc-é"] * 3
    assert got.paragraphs.tolist() == [6, 4, 5]
    assert got.ingested_at.tolist() == [1_700_000_123.25] * 3
    expected_hashes, expected_offsets = sets_of(3, 1, 2)
    assert got.hashes.dtype == np.uint64 and got.hashes.tolist() == expected_hashes.tolist()
    assert got.offsets.tolist() == expected_offsets.tolist()
    assert set_k(got, 0)[-1] == 2**64 - 1 - 3  # 64-bit values survive whole


def test_one_band_key_shared_is_enough_and_pairs_are_unique(index: RedisIndex) -> None:
    (pid,) = add(index, "a", [5])
    query = keys_of(5, 5)  # the same paragraph twice: one pair each, not one per band
    qi, found = index.query(query)
    assert qi.tolist() == [0, 1] and found.tolist() == [pid, pid]


def test_document_ids_round_trip_any_unicode(index: RedisIndex) -> None:
    names = ["plain", "with space/and:colon", "\u00e9\u4e2d\U0001f600", "surrogate-\udcff"]
    pids = [int(add(index, name, [10 + k])[0]) for k, name in enumerate(names)]
    assert index.fetch(np.array(pids)).doc_ids == names
    assert index.remove(names) == 4
    assert index.stats()["documents"] == 0


def test_empty_inputs(index: RedisIndex) -> None:
    qi, pids = index.query(np.empty((BANDS, 0), dtype=np.uint64))
    assert len(qi) == 0 and len(pids) == 0
    assert len(index.add(Records([], np.empty(0), np.empty((BANDS, 0), np.uint64), np.empty(0, np.uint64), np.zeros(1), 0.0))) == 0
    assert index.fetch(np.empty(0, dtype=np.int64)).offsets.tolist() == [0]
    with pytest.raises(ValueError, match="band_keys must have shape"):
        index.query(np.zeros((3, 1), dtype=np.uint64))


# ---------------------------------------------------------------------------------------------
# Exact keys


def exact_pairs(index: RedisIndex, *texts: int) -> list[tuple[int, int]]:
    query_index, pids = index.query_exact(exact_of(*texts))
    return list(zip(query_index.tolist(), pids.tolist()))


def test_query_exact_finds_the_earliest_live_paragraph_with_the_text(index: RedisIndex) -> None:
    a = add(index, "a", [1, 2], texts=[10, 20])
    b = add(index, "b", [3, 4], texts=[20, 30])  # text 20 again
    add(index, "c", [5])  # no exact key: found through its band keys only
    assert exact_pairs(index, 30, 99, 20, 10) == [(0, b[1]), (2, a[1]), (3, a[0])]
    got = index.fetch(a)
    assert got.doc_ids == ["a", "a"] and set_k(got, 1) == sets_of(2)[0].tolist()  # records read whole
    assert index.remove(["a"]) == 2
    assert exact_pairs(index, 30, 99, 20, 10) == [(0, b[1]), (2, b[0])]  # the next earliest takes over
    assert index.prune(float("inf")) == 3
    assert exact_pairs(index, 30, 20, 10) == []


def test_removing_every_copy_of_a_text_leaves_no_key_behind(url: str, index: RedisIndex, raw: redis.Redis) -> None:
    add(index, "a", [1, 2], texts=[7, 7])
    add(index, "b", [3, 4], texts=[7, 8])
    add(index, "c", [5], texts=[7])
    assert index.remove(["b"]) == 2  # a later copy and another text
    ((_, first),) = exact_pairs(index, 7, 8)
    assert index.fetch(np.array([first])).paragraphs.tolist() == [0] and index.fetch(np.array([first])).doc_ids == ["a"]
    assert index.remove(["a"]) == 2
    (only,) = exact_pairs(index, 7)
    assert index.fetch(np.array([only[1]])).doc_ids == ["c"]
    assert index.remove(["c"]) == 1
    assert key_names(raw, url) == {b"params", b"next", b"postings_from"}


def test_query_exact_is_not_hidden_by_crowded_buckets(url: str) -> None:
    with RedisIndex.open(url, PARAMS, bucket_cap=4) as index:
        crowd = list(range(1, 201))
        keys = np.repeat(keys_of(1), len(crowd), axis=1)  # every band: one bucket shared by all
        hashes, offsets = sets_of(*crowd)
        index.add(Records(["crowd"] * 200, np.arange(200), keys, hashes, offsets, 1.0, exact_keys=exact_of(*crowd)))
        (target,) = index.add(Records(["t"], np.zeros(1), keys_of(1), *sets_of(999), 2.0, exact_keys=exact_of(999)))
        query_index, found = index.query(keys_of(1))
        assert len(found) <= BANDS * 4  # the buckets are crowded: a query takes a sample
        assert exact_pairs(index, 999) == [(0, int(target))]


def test_query_exact_sees_this_batch_and_others_only_after_commit(url: str, index: RedisIndex) -> None:
    (stored,) = add(index, "old", [1], texts=[5])
    with RedisIndex.open(url, PARAMS) as other:
        with index.batch():
            mine = add(index, "new", [2, 3, 4], texts=[6, 5, 6])
            # Inside: its own text 6 (the earliest copy of it), and text 5 from the index.
            assert exact_pairs(index, 6, 5, 7) == [(0, mine[0]), (1, stored)]
            assert exact_pairs(other, 6, 5) == [(1, stored)]
        assert exact_pairs(other, 6, 5) == [(0, mine[0]), (1, stored)]
    with pytest.raises(RuntimeError):
        with index.batch():
            add(index, "gone", [9], texts=[9])
            assert exact_pairs(index, 9) != []
            raise RuntimeError("decide failed")
    assert exact_pairs(index, 9) == []


def test_query_exact_many_keys(index: RedisIndex) -> None:
    ids = list(range(1, 25_001))  # more keys than one lookup command takes
    hashes, offsets = sets_of(*ids)
    pids = index.add(Records(["bulk"] * len(ids), np.arange(len(ids)), keys_of(*ids), hashes, offsets, 1.0, exact_keys=exact_of(*ids)))
    queries = exact_of(*ids[::-1], 0)
    query_index, found = index.query_exact(queries)
    assert query_index.tolist() == list(range(len(ids)))
    assert found.tolist() == pids[::-1].tolist()
    with pytest.raises(ValueError, match="exact_keys"):
        index.add(Records(["x"], np.zeros(1), keys_of(1), *sets_of(1), 1.0, exact_keys=exact_of(1, 2)))


EXACT_WORKER = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from dedup.index import IndexParams, Records
    from dedup.index.redis import RedisIndex

    url, bands = sys.argv[1], int(sys.argv[2])
    params = IndexParams(num_perm=128, seed=1, shingle="word:3", threshold=0.4, bands=bands, rows=3)
    keys = np.arange(bands * 3, dtype=np.uint64).reshape(bands, 3) + 77
    exact = np.array([11, 12, 13], dtype=np.uint64)
    index = RedisIndex.open(url, params, lock_ttl=0.5)
    with index.batch():
        index.add(Records(["killed"] * 3, np.arange(3), keys, np.arange(3, dtype=np.uint64), np.arange(4), time.time(), exact_keys=exact))
        print("added", flush=True)
        time.sleep(60)
    """
)


def test_a_worker_killed_mid_batch_leaves_no_exact_key(url: str, raw: redis.Redis) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    worker = subprocess.Popen([sys.executable, "-c", EXACT_WORKER, url, str(BANDS)], stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert worker.stdout is not None and worker.stdout.readline() == "added\n"
        with RedisIndex.open(url, PARAMS, lock_wait=0.2) as other:
            assert len(other.query_exact(np.array([11, 12, 13], dtype=np.uint64))[0]) == 0
    finally:
        worker.kill()
        worker.wait(timeout=10)
        if worker.stdout is not None:
            worker.stdout.close()
    with RedisIndex.open(url, PARAMS, lock_wait=10) as index:
        with index.batch():  # the dead worker's lock expires
            assert len(index.query_exact(np.array([11, 12, 13], dtype=np.uint64))[0]) == 0
        assert index.stats()["paragraphs"] == 0
    assert raw.hlen(prefix_of(url) + b"exact") == 0


# ---------------------------------------------------------------------------------------------
# Batches and the lock


def test_batch_sees_its_own_adds_and_publishes_them_only_on_exit(url: str, index: RedisIndex) -> None:
    with RedisIndex.open(url, PARAMS) as other:
        with index.batch():
            (pid,) = add(index, "a", [7])
            qi, found = index.query(keys_of(8, 7))
            assert qi.tolist() == [1] and found.tolist() == [pid]
            assert index.fetch(np.array([pid])).doc_ids == ["a"]
            assert len(other.query(keys_of(7))[1]) == 0  # not visible to others yet
        assert other.query(keys_of(7))[1].tolist() == [pid]


def test_failed_batch_writes_nothing_and_releases_the_lock(url: str, index: RedisIndex) -> None:
    with pytest.raises(RuntimeError, match="decide failed"):
        with index.batch():
            add(index, "a", [7])
            raise RuntimeError("decide failed")
    with RedisIndex.open(url, PARAMS, lock_wait=0.5) as other:
        with other.batch():  # the lock is free at once
            assert len(other.query(keys_of(7))[1]) == 0
    assert index.stats()["paragraphs"] == 0


def test_closing_inside_a_batch_writes_nothing_and_says_so(url: str) -> None:
    idx = RedisIndex.open(url, PARAMS)
    with pytest.raises(IndexError_, match="closed inside a batch; nothing of it was written"):
        with idx.batch():
            add(idx, "a", [1])
            idx.close()
    with RedisIndex.open(url, PARAMS, lock_wait=0.5) as other:
        assert other.stats()["paragraphs"] == 0
        with other.batch():  # and the lock was released
            pass


def test_batch_excludes_other_workers(url: str, index: RedisIndex) -> None:
    with RedisIndex.open(url, PARAMS, lock_wait=0.3) as other:
        with index.batch():
            started = time.monotonic()
            with pytest.raises(IndexError_, match=r"waited 0.3 s for the index lock .*held by"):
                with other.batch():
                    pass
            assert time.monotonic() - started >= 0.3
        with other.batch():
            pass


def test_a_lost_reply_to_taking_the_lock_does_not_make_a_worker_wait_for_itself(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The server takes the lock for this worker, and the reply is lost (a connection reset):
    # redis-py's retry runs the same request again.
    with RedisIndex.open(url, PARAMS, lock_ttl=3.0) as index:
        acquire, losing = index._lock._acquire, [False]

        def acquire_losing_its_reply(**kwargs: Any) -> Any:
            losing[0] = True
            try:
                return acquire(**kwargs)
            finally:
                losing[0] = False

        read = redis.connection.AbstractConnection.read_response

        def read_response(self: Any, *args: Any, **kwargs: Any) -> Any:
            reply = read(self, *args, **kwargs)
            if losing[0] and isinstance(reply, int):  # the script's reply (not the loading of it)
                losing[0] = False
                raise redis.exceptions.ConnectionError("connection reset by peer")
            return reply

        monkeypatch.setattr(redis.connection.AbstractConnection, "read_response", read_response)
        index._lock._acquire = acquire_losing_its_reply
        started = time.monotonic()
        with index.batch():
            waited = time.monotonic() - started
            add(index, "a", [1])
        assert waited < 1.0, f"waited {waited:.1f} s for its own lock"
        monkeypatch.undo()
        assert index.stats()["paragraphs"] == 1


def test_waiters_take_the_lock_in_the_order_they_asked(url: str, index: RedisIndex) -> None:
    order: list[str] = []

    def wait_then_hold(name: str) -> None:
        with RedisIndex.open(url, PARAMS) as mine:
            with mine.batch():
                order.append(name)

    with index.batch():
        threads = []
        for name in "BCDE":
            threads.append(threading.Thread(target=wait_then_hold, args=(name,)))
            threads[-1].start()
            time.sleep(0.15)  # each has asked before the next starts
    for thread in threads:
        thread.join(timeout=30)
    assert order == list("BCDE")


def test_a_busy_worker_does_not_starve_the_others(url: str) -> None:
    stop, batches = threading.Event(), [0]

    def busy() -> None:
        with RedisIndex.open(url, PARAMS) as mine:
            while not stop.is_set():
                with mine.batch():  # released and asked for again at once
                    batches[0] += 1
                    time.sleep(0.01)

    thread = threading.Thread(target=busy)
    thread.start()
    try:
        time.sleep(0.2)
        with RedisIndex.open(url, PARAMS, lock_wait=5) as other:
            for _ in range(5):
                started = time.monotonic()
                with other.batch():
                    assert time.monotonic() - started < 1.0  # one of the busy worker's batches, not more
    finally:
        stop.set()
        thread.join(timeout=30)
    assert batches[0] > 5


HOLDER = textwrap.dedent(
    """
    import sys, time
    from dedup.index import IndexParams, Records
    from dedup.index.redis import RedisIndex

    params = IndexParams(num_perm=128, seed=1, shingle="word:3", threshold=0.4, bands=int(sys.argv[2]), rows=3)
    with RedisIndex.open(sys.argv[1], params, lock_ttl=1.0) as index:
        print("asking", flush=True)
        with index.batch():
            print("holding", flush=True)
            time.sleep(60)
    """
)


@pytest.mark.parametrize("dies", ["holding", "waiting"])
def test_a_worker_that_dies_holds_the_others_up_briefly(url: str, dies: str) -> None:
    """Dead while holding the lock: the others wait at most its lifetime (1 s here). Dead while
    first in the queue: at most STALE_MS (3 s) after it last asked."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with RedisIndex.open(url, PARAMS, lock_wait=20) as index:
        worker = subprocess.Popen([sys.executable, "-c", HOLDER, url, str(BANDS)], stdout=subprocess.PIPE, env=env, text=True)
        try:
            assert worker.stdout is not None
            if dies == "holding":
                assert worker.stdout.readline() == "asking\n" and worker.stdout.readline() == "holding\n"
                worker.kill()
                worker.wait(timeout=10)
                bound = 1.0
            else:
                with index.batch():
                    assert worker.stdout.readline() == "asking\n"
                    time.sleep(0.3)  # it is first in the queue
                    worker.kill()
                    worker.wait(timeout=10)
                bound = 3.0
            started = time.monotonic()
            with RedisIndex.open(url, PARAMS, lock_wait=20) as other, other.batch():
                waited = time.monotonic() - started
        finally:
            worker.kill()
            worker.wait(timeout=10)
            if worker.stdout is not None:
                worker.stdout.close()
    assert waited < bound + 0.5


def _queued(raw: redis.Redis, url: str, count: int) -> None:
    """Wait until ``count`` workers stand in the lock's queue."""
    deadline = time.monotonic() + 10
    while raw.zcard(prefix_of(url) + b"lockq") < count:
        assert time.monotonic() < deadline, "the waiters never queued"
        time.sleep(0.01)


def test_the_lock_is_first_come_first_served(url: str, raw: redis.Redis) -> None:
    """Waiters get the lock in the order they asked for it, and a holder that releases and at
    once asks again goes to the back of the queue: one busy worker cannot starve the others.
    (A plain SET NX lock fails this: whoever polls first after a release wins, most often the
    releaser itself.)"""
    order: list[str] = []
    with RedisIndex.open(url, PARAMS, lock_wait=30) as holder:
        waiters = [RedisIndex.open(url, PARAMS, lock_wait=30) for _ in range(4)]
        threads = []

        def take(name: str, index: RedisIndex) -> None:
            with index.batch():
                order.append(name)
                time.sleep(0.05)

        try:
            with holder.batch():
                for k, waiter in enumerate(waiters):
                    threads.append(threading.Thread(target=take, args=(f"w{k}", waiter)))
                    threads[-1].start()
                    _queued(raw, url, k + 1)  # each asks only once the one before it is queued
            take("holder again", holder)  # released above, and asks again at once
            for thread in threads:
                thread.join(timeout=30)
        finally:
            for waiter in waiters:
                waiter.close()
    assert order == ["w0", "w1", "w2", "w3", "holder again"]


def test_two_workers_taking_turns_as_fast_as_they_can_both_get_turns(url: str) -> None:
    """Two workers in a loop of short batches share the lock: neither runs many batches while
    the other waits."""
    turns: list[int] = []
    stop = time.monotonic() + 2.0

    def work(who: int) -> None:
        with RedisIndex.open(url, PARAMS, lock_wait=30) as index:
            while time.monotonic() < stop:
                with index.batch():
                    turns.append(who)

    threads = [threading.Thread(target=work, args=(who,)) for who in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert turns.count(0) > 20 and turns.count(1) > 20, (turns.count(0), turns.count(1))
    # Nearly every batch goes to the other worker, who was waiting. (Not every one: a waiter
    # that a loaded machine leaves silent for STALE_MS is taken for dead and leaves the queue.)
    switches = sum(a != b for a, b in itertools.pairwise(turns)) / (len(turns) - 1)
    assert switches >= 0.8, f"only {switches:.0%} of the batches went to the worker that was waiting"


def test_a_long_wait_for_the_lock_says_for_whom(url: str, index: RedisIndex) -> None:
    said: list[str] = []
    with RedisIndex.open(url, PARAMS, lock_wait=20) as other:
        other.on_wait = said.append
        with index.batch():
            waiter = threading.Thread(target=lambda: other.add(Records(["b"], np.zeros(1), keys_of(2), *sets_of(2), 1.0)))
            waiter.start()
            time.sleep(2.5)  # past the notice
            assert said == [f"{other.where}: waiting for the index lock, held by process {os.getpid()} on {socket.gethostname()}"]
        waiter.join(timeout=20)
    assert said[1:] == [f"{other.where}: got the index lock; going on"]
    assert index.stats()["paragraphs"] == 1


def test_lock_is_renewed_while_held(url: str, raw: redis.Redis) -> None:
    with RedisIndex.open(url, PARAMS, lock_ttl=0.3) as idx:
        with idx.batch():
            add(idx, "a", [1])
            time.sleep(1.0)  # more than three lock lifetimes
            assert raw.pttl(prefix_of(url) + b"lock") > 0
        assert idx.stats()["paragraphs"] == 1
        assert raw.exists(prefix_of(url) + b"lock") == 0  # released


def test_lock_lost_before_commit_raises_and_writes_nothing(url: str, index: RedisIndex, raw: redis.Redis) -> None:
    lock = prefix_of(url) + b"lock"
    with pytest.raises(LockLost, match="nothing of this batch was written"):
        with index.batch():
            add(index, "a", [1, 2])
            raw.set(lock, b"another-worker")  # as if ours expired and someone took it
    assert raw.get(lock) == b"another-worker"  # not released by the loser
    raw.delete(lock)
    assert index.stats()["paragraphs"] == 0
    assert len(index.query(keys_of(1, 2))[1]) == 0


def test_lock_expiry_noticed_by_the_renewer_fails_fast(url: str, raw: redis.Redis) -> None:
    lock = prefix_of(url) + b"lock"
    with RedisIndex.open(url, PARAMS, lock_ttl=0.2) as idx:
        with pytest.raises(LockLost, match="lost the index lock"):
            with idx.batch():
                raw.delete(lock)
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:  # the renewer finds it gone within ttl / 3
                    idx.query(keys_of(1))
                    time.sleep(0.02)
        assert idx.stats()["paragraphs"] == 0


# ---------------------------------------------------------------------------------------------
# Remove, prune, stats, export


def key_names(raw: redis.Redis, url: str) -> set[bytes]:
    prefix = prefix_of(url)
    return {name[len(prefix) :] for name in raw.scan_iter(match=prefix + b"*", count=1000)}


def test_remove_forgets_documents_entirely(url: str, index: RedisIndex, raw: redis.Redis) -> None:
    a = add(index, "a", [1, 2])
    b = add(index, "b", [3])
    assert index.remove(["a", "missing"]) == 2
    qi, found = index.query(keys_of(1, 2, 3))
    assert qi.tolist() == [2] and found.tolist() == b.tolist()
    with pytest.raises(IndexError_, match=f"{a[0]}, {a[1]} not in the index"):
        index.fetch(a)
    stats = index.stats()
    assert (stats["paragraphs"], stats["documents"]) == (1, 1)
    assert index.remove(["b"]) == 1
    assert key_names(raw, url) == {b"params", b"next", b"postings_from"}  # no bucket, set or record left behind


def test_prune_forgets_paragraphs_ingested_before(url: str, index: RedisIndex, raw: redis.Redis) -> None:
    old = add(index, "a", [1, 2], at=1000.0)
    add(index, "b", [3], at=1000.0)
    new = add(index, "a", [4], at=2000.0, first_paragraph=2)
    assert index.prune(1000.0) == 0  # strictly before
    assert index.prune(1500.0) == 3
    qi, found = index.query(keys_of(1, 2, 3, 4))
    assert qi.tolist() == [3] and found.tolist() == new.tolist()
    with pytest.raises(IndexError_):
        index.fetch(old[:1])
    stats = index.stats()
    assert (stats["paragraphs"], stats["documents"], stats["oldest"]) == (1, 1, 2000.0)
    assert index.prune(float("inf")) == 1
    assert key_names(raw, url) == {b"params", b"next", b"postings_from"}


def test_remove_and_prune_many_in_chunks(index: RedisIndex) -> None:
    add(index, "bulk", list(range(2500)), at=10.0)  # one document larger than a chunk
    add(index, "keep", [9999], at=20.0)
    small = list(range(10_000, 11_200))  # and more documents than a chunk
    index.add(Records([f"small{i - 10_000}" for i in small], np.zeros(1200), keys_of(*small), *sets_of(*small), 10.0))
    assert index.remove(["bulk", *(f"small{k}" for k in range(0, 1200, 2))]) == 2500 + 600
    assert index.stats()["documents"] == 1 + 600
    assert index.prune(15.0) == 600
    assert index.stats()["paragraphs"] == 1


def test_stats(url: str, index: RedisIndex) -> None:
    add(index, "a", [1, 2], at=100.0)
    add(index, "b", [3], at=300.0)
    stats = index.stats()
    assert stats["backend"] == "redis" and stats["location"].startswith("127.0.0.1:")
    assert (stats["paragraphs"], stats["documents"], stats["oldest"], stats["newest"]) == (3, 2, 100.0, 300.0)
    assert stats["params"] == PARAMS.as_dict()
    json.dumps(stats)


def test_export_rows(index: RedisIndex) -> None:
    # More than one chunk, with many paragraphs at one ingest time across the chunk border.
    late = add(index, "late", [1], at=50.0)
    bulk = add(index, "bulk", list(range(100, 2600)), at=10.0)
    rows = list(index.export())
    assert len(rows) == 2501
    assert sorted(row["pid"] for row in rows) == sorted([*late.tolist(), *bulk.tolist()])
    assert [row["ingested_at"] for row in rows] == sorted(row["ingested_at"] for row in rows)
    assert rows[-1] == {"pid": int(late[0]), "doc": "late", "paragraph": 0, "ingested_at": 50.0, "shingles": 1 % 7 + 1}
    json.dumps(rows)


# ---------------------------------------------------------------------------------------------
# Several workers at once

WORKER = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    from dedup.index import IndexParams, Records
    from dedup.index.redis import RedisIndex

    url, params, ids = sys.argv[1], IndexParams(**json.loads(sys.argv[2])), json.loads(sys.argv[3])
    bands = params.bands

    def keys_of(i):
        # Band 0 is shared by pairs of paragraphs, so queries also find paragraphs that are not
        # duplicates and the decision must look at the stored set.
        return np.array([[i // 2 if b == 0 else i * 1000 + b] for b in range(bands)], dtype=np.uint64)

    kept = []
    with RedisIndex.open(url, params) as index:
        deadline = time.monotonic() + 20
        while not index._r.exists(index.prefix + "go") and time.monotonic() < deadline:
            time.sleep(0.005)
        for lo in range(0, len(ids), 20):
            with index.batch():
                for i in ids[lo : lo + 20]:
                    keys = keys_of(i)
                    mine = np.sort(keys[:, 0])
                    _, pids = index.query(keys)
                    seen = False
                    if len(pids):
                        got = index.fetch(pids)
                        seen = any(
                            np.array_equal(got.hashes[got.offsets[k] : got.offsets[k + 1]], mine)
                            for k in range(len(pids))
                        )
                    if not seen:
                        (pid,) = index.add(Records([f"doc{i}"], np.array([i]), keys, mine, np.array([0, bands]), time.time()))
                        kept.append([i, int(pid)])
    print(json.dumps(kept))
    """
)


def test_concurrent_workers_keep_each_paragraph_once(url: str, index: RedisIndex, raw: redis.Redis) -> None:
    rng = np.random.default_rng(7)
    first, second = rng.permutation(np.arange(0, 400)).tolist(), rng.permutation(np.arange(200, 600)).tolist()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, json.dumps(PARAMS.as_dict()), json.dumps(ids)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        for ids in (first, second)
    ]
    try:
        time.sleep(0.2)
        raw.set(prefix_of(url) + b"go", b"1")
        outputs = [worker.communicate(timeout=60) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    for worker, (_, err) in zip(workers, outputs):
        assert worker.returncode == 0, err
    kept = [json.loads(out) for out, _ in outputs]
    ids = [i for part in kept for i, _ in part]
    pids = [pid for part in kept for _, pid in part]
    assert sorted(ids) == list(range(600))  # each distinct paragraph kept exactly once
    assert len(set(pids)) == 600  # pids unique across workers
    # They really ran at once: their pids interleave rather than forming two blocks.
    a, b = ([pid for _, pid in part] for part in kept)
    assert max(min(a), min(b)) < min(max(a), max(b))
    # And nothing was lost: the index holds exactly those paragraphs.
    rows = {row["pid"]: row["doc"] for row in index.export()}
    assert rows == {pid: f"doc{i}" for part in kept for i, pid in part}


def test_threads_with_their_own_indexes_share_one_lock(url: str) -> None:
    errors: list[BaseException] = []
    inside = [0]
    most = [0]

    def work() -> None:
        try:
            with RedisIndex.open(url, PARAMS) as idx:
                for _ in range(10):
                    with idx.batch():
                        inside[0] += 1
                        most[0] = max(most[0], inside[0])
                        time.sleep(0.002)
                        inside[0] -= 1
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert not errors and most[0] == 1


# ---------------------------------------------------------------------------------------------
# The server going away


def test_server_killed_mid_run_gives_clear_errors(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis", persist=True, binary=require_redis_server()).start()
    port = server.port
    try:
        idx = RedisIndex.open(server.url(), PARAMS)
        try:
            done = add(idx, "a", [1, 2])
            with pytest.raises(IndexError_) as caught:
                with idx.batch():
                    add(idx, "b", [3])
                    server.kill()
            assert_clear(caught.value, port)
            for call in (lambda: idx.query(keys_of(1)), lambda: idx.fetch(done), lambda: add(idx, "c", [4]), idx.stats, lambda: idx.prune(5.0)):
                with pytest.raises(IndexError_) as caught:
                    call()
                assert_clear(caught.value, port)
        finally:
            idx.close()
        with pytest.raises(IndexError_, match=f"cannot connect to Redis at 127.0.0.1:{port}"):
            RedisIndex.open(server.url(), PARAMS)

        # Back up on its append-only file: the committed batch is there, the other is not.
        server.start(port=port)
        with RedisIndex.open(server.url(), PARAMS) as again:
            assert again.stats()["paragraphs"] == 2
            assert again.query(keys_of(1, 2, 3))[1].tolist() == done.tolist()
    finally:
        server.stop()


@contextmanager
def silent_server(reply: bytes = b"") -> Iterator[int]:
    """A port on 127.0.0.1 that accepts connections and never says a word, or says ``reply``
    to whatever it is sent."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.05)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn = listener.accept()[0]
            except OSError:
                continue
            accepted.append(conn)
            if reply:
                conn.sendall(reply)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()


def within(seconds: float, call: Any) -> tuple[float, BaseException | None]:
    """Run ``call`` in a thread; its error and how long it took, or a failed test if it is still
    running after ``seconds``."""
    outcome: list[tuple[float, BaseException | None]] = []

    def run() -> None:
        started = time.monotonic()
        try:
            call()
            outcome.append((time.monotonic() - started, None))
        except BaseException as err:  # noqa: BLE001 - handed to the test
            outcome.append((time.monotonic() - started, err))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=seconds)
    if thread.is_alive():
        pytest.fail(f"still waiting after {seconds:g} s")
    return outcome[0]


def test_a_server_that_never_answers_is_an_error_within_seconds() -> None:
    with silent_server() as port:
        elapsed, error = within(15, lambda: RedisIndex.open(f"redis://127.0.0.1:{port}/0", PARAMS))
    assert isinstance(error, IndexError_), error
    assert str(error).startswith(f"cannot connect to Redis at 127.0.0.1:{port}: ")
    assert "no reply within" in str(error) and error.__cause__ is None and error.__suppress_context__
    assert elapsed < 10


def test_a_server_that_is_not_redis_is_an_error() -> None:
    with silent_server(b"HTTP/1.1 400 Bad Request\r\n\r\n") as port:
        elapsed, error = within(15, lambda: RedisIndex.open(f"redis://127.0.0.1:{port}/0", PARAMS))
    assert isinstance(error, IndexError_), error
    assert str(error).startswith(f"cannot connect to Redis at 127.0.0.1:{port}: the reply is not Redis's protocol")
    assert elapsed < 10


# URLs that cannot be used, each with a password that no message may show.
SECRET_URLS = [
    pytest.param("redis://:secret@127.0.0.1:1/0", id="refused"),
    pytest.param("redis://user:secret@127.0.0.1:notaport/0", id="port-not-a-number"),
    pytest.param("redis://:secret@127.0.0.1:99999/0", id="port-out-of-range"),
    pytest.param("redis://:secret@127.0.0.1:1/0?prefix=", id="empty-prefix"),
    pytest.param("redis://:secret@[::1/0", id="broken-ipv6"),
    pytest.param("redis://:secret@127.0.0.1:1/0?socket_timeout=abc", id="bad-option"),
    pytest.param("redis://:s%65cret@127.0.0.1:x/0", id="percent-encoded"),
    pytest.param("redis://secret@127.0.0.1:x/0", id="password-as-user-name"),
    pytest.param("redis://:a/secret@127.0.0.1:1/0", id="slash-in-password"),
    pytest.param("unix://:secret@/nonexistent/redis.sock", id="unix-socket"),
    pytest.param("unix:///nonexistent/redis.sock?password=secret&db=x", id="password-in-query"),
]
SHOWN_SECRETS = ("secret", "s%65cret", "a/secret")


@pytest.mark.parametrize("spec", SECRET_URLS)
def test_no_error_shows_the_password(spec: str) -> None:
    with pytest.raises(IndexError_) as caught:
        open_index(spec, PARAMS)
    message = str(caught.value)
    assert not any(shown in message for shown in SHOWN_SECRETS), message
    error = caught.value  # and no chained exception that would show the URL in a traceback
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    if "usable" in message:
        assert "***" in message  # the URL is shown, without its password


@pytest.mark.parametrize("spec", [SECRET_URLS[i] for i in (0, 1, 3, 4, 10)])
@pytest.mark.parametrize("command", [["filter", "--index", "{spec}", "-"], ["index", "stats", "{spec}"], ["index", "prune", "{spec}", "--before", "2020-01-01"]], ids=["filter", "stats", "prune"])
def test_no_command_shows_the_password(spec: str, command: list[str]) -> None:
    result = CliRunner().invoke(main, [arg.format(spec=spec) for arg in command], input='{"id": "a", "text": "Some text to filter."}\n')
    assert result.exit_code == 2, result.output
    shown = result.output + result.stderr
    assert not any(secret in shown for secret in SHOWN_SECRETS), shown
    assert result.stderr.startswith("dedup: error: ") and result.stderr.count("\n") == 1, result.stderr


def assert_clear(error: IndexError_, port: int) -> None:
    assert type(error) is IndexError_
    assert str(error).startswith(f"lost connection to Redis at 127.0.0.1:{port}: ")
    assert error.__cause__ is None and error.__suppress_context__  # no redis-py traceback


def test_a_crowded_bucket_gives_at_most_the_cap(url: str) -> None:
    with RedisIndex.open(url, PARAMS, bucket_cap=16) as index:
        ids = list(range(1, 201))
        keys = keys_of(*ids)
        keys[0, :] = 999_999  # band 0: one bucket for all 200
        hashes, offsets = sets_of(*ids)
        with index.batch():
            pids = index.add(Records(["doc"] * 200, np.arange(200), keys, hashes, offsets, 1.0))
        query = keys_of(5_000)
        query[0, 0] = 999_999
        query[3, 0] = keys_of(150)[3, 0]  # and one other band shared with paragraph 150
        query_index, found = index.query(query)
        got = set(found.tolist())
        assert len(got) == len(found) and set(query_index.tolist()) == {0}
        assert int(pids[149]) in got
        assert len(got - {int(pids[149])}) in (15, 16) and got <= set(pids.tolist())
        # a query that touches no crowded bucket is not capped
        query_index, found = index.query(keys_of(7, 8))
        assert sorted(found.tolist()) == [int(pids[6]), int(pids[7])]
    with RedisIndex.open(url, PARAMS) as index:
        assert index.bucket_cap == 64
        query = keys_of(5_000)
        query[0, 0] = 999_999
        assert len(index.query(query)[1]) == 64


# ---------------------------------------------------------------------------------------------
# Bounded work per command: a huge batch never blocks the server for long


# Every script call does a bounded amount of work (see the module's doc): at most 80 ms, 6.5 ms
# on average, on the 2-core test machine under load. The bound leaves room for a busier machine,
# and is short enough that the lock below (a lifetime of 1 s, renewed every third of it) is
# always renewed in time. One script per batch took seconds here.
SCRIPT_BOUND_MS = 500


def test_a_huge_batch_is_looked_up_and_committed_in_bounded_steps(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis", binary=require_redis_server()).start()
    client = redis.Redis(host="127.0.0.1", port=server.port)
    try:
        client.config_set("slowlog-log-slower-than", 0)  # every command, with its duration
        client.config_set("slowlog-max-len", 100_000)
        rng = np.random.default_rng(3)
        queries = rng.integers(0, 2**64, size=(BANDS, 200_000), dtype=np.uint64)
        added = 30_000
        keys = queries[:, :added]  # the batch adds paragraphs it has just looked up
        hashes = np.arange(4 * added, dtype=np.uint64)
        offsets = np.arange(0, 4 * added + 1, 4)
        with RedisIndex.open(server.url(), PARAMS, lock_ttl=1.0) as index:
            client.slowlog_reset()
            with index.batch():
                query_index, pids = index.query(queries)
                assert len(pids) == 0
                new = index.add(Records(["big"] * added, np.arange(added), keys, hashes, offsets, 5.0, exact_keys=np.arange(added, dtype=np.uint64)))
            slowest = max(entry["duration"] for entry in client.slowlog_get(100_000)) / 1000
            assert index.stats()["paragraphs"] == added
            query_index, pids = index.query(keys[:, ::1000])
            assert pids.tolist() == new[::1000].tolist()
        assert slowest < SCRIPT_BOUND_MS, f"a single command took {slowest:.0f} ms"
    finally:
        client.close()
        server.stop()


# A worker that dies at a chosen step of its commit: after ``limit`` calls of the write script in
# ``mode`` ('stage': before the commit point; 'apply': after it, while writing the batch out).
CRASH_WORKER = textwrap.dedent(
    """
    import os, sys, time
    import numpy as np
    import dedup.index.redis.backend as module
    from dedup.index import IndexParams, Postings, Records
    from dedup.index.redis import RedisIndex

    url, bands, mode, limit = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    module.SCRIPT_KEYS = bands * 10  # ten paragraphs a chunk
    params = IndexParams(num_perm=128, seed=1, shingle="word:3", threshold=0.4, bands=bands, rows=3)
    n = 100
    keys = (np.arange(bands * n, dtype=np.uint64).reshape(bands, n) + 1000)
    index = RedisIndex.open(url, params, lock_ttl=0.5)
    write, calls = index._write, [0]

    def crashing(*args, **kwargs):
        if kwargs["args"][3] == mode:
            calls[0] += 1
            if calls[0] > limit:
                os._exit(9)
        return write(*args, **kwargs)

    index._write = crashing
    grams = Postings(np.arange(n + 1) * 5, (np.arange(5 * n, dtype=np.uint64) + 1) * np.uint64(0x9E3779B97F4A7C15), np.arange(5 * n))
    with index.batch():
        index.add(Records(["crash"] * n, np.arange(n), keys, np.arange(n, dtype=np.uint64), np.arange(n + 1), time.time(), exact_keys=np.arange(n, dtype=np.uint64) + 5, postings=grams))
    """
)
# The crash worker's 500 postings (two chunks after its ten of paragraphs).
CRASH_GRAMS = (np.arange(500, dtype=np.uint64) + 1) * np.uint64(0x9E3779B97F4A7C15)
CRASH_KEYS = np.arange(BANDS * 100, dtype=np.uint64).reshape(BANDS, 100) + 1000


def crash_worker(url: str, mode: str, limit: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", CRASH_WORKER, url, str(BANDS), mode, str(limit)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 9, done.stderr


def test_a_worker_dead_before_its_commit_point_leaves_nothing_visible(url: str, raw: redis.Redis) -> None:
    crash_worker(url, "stage", 3)  # three of its ten chunks staged
    prefix = prefix_of(url)
    assert raw.hlen(prefix + b"stage") == 4  # the owner and three chunks, where nobody reads
    with RedisIndex.open(url, PARAMS, lock_wait=10) as other:
        assert len(other.query(CRASH_KEYS)[1]) == 0  # no lock needed, nothing to see
        assert len(other.query_exact(np.arange(100, dtype=np.uint64) + 5)[1]) == 0
        assert len(other.query_postings(CRASH_GRAMS)[0]) == 0
        assert other.stats()["paragraphs"] == 0
        with other.batch():  # once the dead worker's lock expires
            assert len(other.query(CRASH_KEYS)[1]) == 0
            assert len(other.query_postings(CRASH_GRAMS)[0]) == 0
        assert raw.exists(prefix + b"stage") == 0  # its leftovers are gone
    assert key_names(raw, url) == {b"params", b"next", b"postings_from"}


@pytest.mark.parametrize("first", ["query", "query_exact"])
def test_a_worker_dead_after_its_commit_point_has_its_batch_finished(url: str, raw: redis.Redis, first: str) -> None:
    crash_worker(url, "apply", 2)  # committed, two of its ten chunks written out
    prefix = prefix_of(url)
    assert raw.hget(prefix + b"journal", b"next") == b"2"
    assert raw.zcard(prefix + b"time") == 20
    with RedisIndex.open(url, PARAMS, lock_wait=10) as other:
        # A lookup that meets the batch half written waits for the lock, and the batch is
        # finished first: it sees all of it, never a part.
        if first == "query_exact":
            assert len(other.query_exact(np.arange(100, dtype=np.uint64) + 5)[1]) == 100
        query_index, pids = other.query(CRASH_KEYS)
        assert query_index.tolist() == list(range(100)) and len(set(pids.tolist())) == 100
        assert raw.exists(prefix + b"journal") == 0
        assert len(other.query_exact(np.arange(100, dtype=np.uint64) + 5)[1]) == 100
        q, grams_pids, words = other.query_postings(CRASH_GRAMS)
        assert q.tolist() == words.tolist() == list(range(500)) and grams_pids.tolist() == np.repeat(pids[np.argsort(query_index)], 5).tolist()
        assert other.stats()["paragraphs"] == 100 and other.stats()["postings"] == 500
        assert other.remove(["crash"]) == 100
        assert len(other.query_postings(CRASH_GRAMS)[0]) == 0
    # Postings stay in their hashes after a removal (lookups skip them).
    assert {name for name in key_names(raw, url) if not name.startswith(b"g")} == {b"params", b"next", b"postings_from", b"postings"}


# ---------------------------------------------------------------------------------------------
# Damage: stored data that dedup did not write is a clear IndexError, never an internal error


def each_bucket(raw: redis.Redis, prefix: bytes) -> list[bytes]:
    return [key for key in raw.scan_iter(match=prefix + b"k*", count=1000) if len(key) == len(prefix) + 11]


def retype(raw: redis.Redis, key: bytes) -> None:
    """Make ``key`` a hash, whatever it was."""
    raw.delete(key)
    raw.hset(key, "f", "v")


# (what is damaged, how, the call that meets it, words the message must have)
DAMAGE = [
    pytest.param(lambda raw, p: [raw.sadd(k, "abc") for k in each_bucket(raw, p)], lambda i: i.query(keys_of(1)), "band bucket of band", id="bucket-member"),
    pytest.param(lambda raw, p: retype(raw, each_bucket(raw, p)[0]), lambda i: i.query(keys_of(1, 2)), "is a hash, not a set", id="bucket-type"),
    pytest.param(lambda raw, p: raw.set(p + b"p:1", b"garbage"), lambda i: i.fetch(np.array([1, 2])), "record of paragraph 1", id="record-fetch"),
    pytest.param(lambda raw, p: raw.set(p + b"p:1", b"garbage"), lambda i: list(i.export()), "record of paragraph 1", id="record-export"),
    pytest.param(lambda raw, p: raw.set(p + b"p:1", b"garbage"), lambda i: i.remove(["a"]), "record of paragraph 1", id="record-remove"),
    pytest.param(lambda raw, p: raw.set(p + b"p:1", b"\0" * 300), lambda i: i.prune(float("inf")), "record of paragraph 1", id="record-prune"),
    pytest.param(lambda raw, p: retype(raw, p + b"p:1"), lambda i: i.fetch(np.array([1])), "record of paragraph 1", id="record-type"),
    pytest.param(lambda raw, p: raw.set(p + b"next", "abc"), lambda i: add(i, "b", [3]), "pid counter", id="next-add"),
    pytest.param(lambda raw, p: raw.set(p + b"next", "abc"), lambda i: i.stats(), "pid counter", id="next-stats"),
    pytest.param(lambda raw, p: retype(raw, p + b"time"), lambda i: i.stats(), "ingest-time index", id="time-stats"),
    pytest.param(lambda raw, p: retype(raw, p + b"time"), lambda i: i.prune(5.0), "ingest-time index", id="time-prune"),
    pytest.param(lambda raw, p: retype(raw, p + b"time"), lambda i: add(i, "b", [3]), "ingest-time index", id="time-add"),
    pytest.param(lambda raw, p: retype(raw, p + b"docs"), lambda i: add(i, "b", [3]), "document list", id="docs-add"),
    pytest.param(lambda raw, p: retype(raw, p + b"d:a"), lambda i: i.remove(["a"]), "paragraph list of document 'a'", id="document-remove"),
    pytest.param(lambda raw, p: raw.hset(p + b"exact", exact_of(1).astype("<u8").tobytes(), "abc"), lambda i: i.query_exact(exact_of(1)), "exact-text index", id="exact-value"),
    pytest.param(lambda raw, p: raw.set(p + b"exact", "x"), lambda i: i.query_exact(exact_of(1)), "exact-text index", id="exact-type"),
    pytest.param(lambda raw, p: raw.set(p + b"exact", "x"), lambda i: add(i, "b", [3], texts=[3]), "exact-text index", id="exact-add"),
    pytest.param(lambda raw, p: raw.hset(p + b"journal", mapping={"next": 0, "count": 1, "0": b"garbage"}), lambda i: add(i, "b", [3]), "batch being written out", id="journal"),
    pytest.param(lambda raw, p: retype(raw, p + b"lock"), lambda i: add(i, "b", [3]), "lock", id="lock"),
]


@pytest.mark.parametrize(("damage", "call", "where"), DAMAGE)
def test_damage_is_a_clear_error(url: str, raw: redis.Redis, damage: Any, call: Any, where: str) -> None:
    with RedisIndex.open(url, PARAMS, lock_wait=2) as index:
        assert add(index, "a", [1, 2], texts=[1, 2]).tolist() == [1, 2]
        damage(raw, prefix_of(url))
        with pytest.raises(IndexError_) as caught:
            call(index)
    message = str(caught.value)
    assert message.startswith(f"the index at 127.0.0.1:") and " is damaged: " in message, message
    assert where in message and "\n" not in message, message
    assert caught.value.__cause__ is None and (caught.value.__context__ is None or caught.value.__suppress_context__)


def test_parameters_missing_a_field_are_damage(url: str, raw: redis.Redis) -> None:
    RedisIndex.open(url, PARAMS).close()
    raw.hdel(prefix_of(url) + b"params", "bands")
    with pytest.raises(IndexError_, match=r"is damaged: its parameters record .*params.* is unreadable"):
        RedisIndex.open(url, None)


DOCUMENT = json.dumps({"id": "a", "text": "The first paragraph of the document, long enough to have shingles.\n\nAnd a second one, with words of its own."}) + "\n"
CLI_DAMAGE = [
    pytest.param(lambda raw, p: [raw.sadd(k, "abc") for k in each_bucket(raw, p)], ["filter", "--index", "{url}", "-"], id="bucket-filter"),
    pytest.param(lambda raw, p: raw.set(p + b"p:1", b"garbage"), ["filter", "--index", "{url}", "-"], id="record-filter"),
    pytest.param(lambda raw, p: raw.set(p + b"p:1", b"garbage"), ["index", "export", "{url}"], id="record-export"),
    pytest.param(lambda raw, p: raw.set(p + b"p:1", b"garbage"), ["index", "remove", "{url}", "a"], id="record-remove"),
    pytest.param(lambda raw, p: raw.set(p + b"next", "abc"), ["index", "stats", "{url}"], id="next-stats"),
    pytest.param(lambda raw, p: retype(raw, p + b"time"), ["index", "prune", "{url}", "--before", "2100-01-01"], id="time-prune"),
    pytest.param(lambda raw, p: raw.hset(p + b"journal", mapping={"next": 0, "count": 1, "0": b"garbage"}), ["filter", "--index", "{url}", "-"], id="journal-filter"),
    pytest.param(lambda raw, p: raw.hdel(p + b"params", "seed"), ["index", "stats", "{url}"], id="params-stats"),
]


@pytest.mark.parametrize(("damage", "command"), CLI_DAMAGE)
def test_damage_is_one_line_and_exit_2_in_the_cli(url: str, raw: redis.Redis, damage: Any, command: list[str]) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["filter", "--index", url, "-"], input=DOCUMENT)
    assert first.exit_code == 0, first.output
    damage(raw, prefix_of(url))
    result = runner.invoke(main, [arg.format(url=url) for arg in command], input=DOCUMENT)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("dedup: error: the index at 127.0.0.1:") and " is damaged: " in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


# ---------------------------------------------------------------------------------------------
# N-gram postings


def grams_of(*ids: int, words: int = 6, shared: int | None = None) -> Postings:
    """Postings of paragraphs ``ids``: ``words`` n-grams each, hashes spread over 64 bits (the
    first two from ``shared`` when given), word numbers from 10 * id."""
    hashes, numbers = [], []
    for i in ids:
        for w in range(words):
            base = shared if shared is not None and w < 2 else i
            hashes.append(((10**6 + base * 100 + w) * 0x9E3779B97F4A7C15) % 2**64)
            numbers.append(10 * i + w)
    return Postings(np.arange(len(ids) + 1) * words, np.array(hashes, dtype=np.uint64), np.array(numbers))


def add_with_grams(index: RedisIndex, doc: str, ids: list[int], **kwargs: int) -> np.ndarray:
    hashes, offsets = sets_of(*ids)
    with index.batch():
        return index.add(Records([doc] * len(ids), np.arange(1, len(ids) + 1), keys_of(*ids), hashes, offsets, 1_700_000_000.0, postings=grams_of(*ids, **kwargs)))


def posting_set(index: RedisIndex, grams: Postings) -> set[tuple[int, int, int]]:
    q, pids, words = index.query_postings(grams.hashes)
    return set(zip(q.tolist(), pids.tolist(), words.tolist()))


def test_postings_round_trip_with_pid_and_word(url: str, index: RedisIndex) -> None:
    pids = [int(add_with_grams(index, f"d{i}", [i])[0]) for i in range(5)]
    want = {(6 * k + w, pids[k], 10 * k + w) for k in range(5) for w in range(6)}
    assert posting_set(index, grams_of(*range(5))) == want
    assert index.stats()["postings"] == 30 and index.postings_status() is None
    with RedisIndex.open(url, PARAMS) as other:
        assert posting_set(other, grams_of(*range(5))) == want


def test_postings_beyond_the_cap_are_a_stock_phrase(url: str) -> None:
    with RedisIndex.open(url, PARAMS, posting_cap=3) as index:
        for i in range(3):
            add_with_grams(index, f"d{i}", [i], shared=99)
        assert len(posting_set(index, grams_of(50, shared=99))) == 2 * 3
        add_with_grams(index, "d3", [3], shared=99)
        assert posting_set(index, grams_of(50, shared=99)) == set()
        before = index.stats()["postings"]
        add_with_grams(index, "d4", [4], shared=99)
        assert index.stats()["postings"] == before + 4  # not the two stock n-grams


def test_postings_of_a_failed_or_lost_batch_are_not_stored(index: RedisIndex) -> None:
    hashes, offsets = sets_of(1)
    with pytest.raises(RuntimeError):
        with index.batch():
            index.add(Records(["d"], np.array([1]), keys_of(1), hashes, offsets, 0.0, postings=grams_of(1)))
            raise RuntimeError("the consumer failed")
    assert posting_set(index, grams_of(1)) == set() and index.stats()["postings"] == 0


def test_postings_of_removed_paragraphs_are_not_returned(index: RedisIndex) -> None:
    for i in range(3):
        add_with_grams(index, f"d{i}", [i])
    assert index.remove(["d1"]) == 1
    assert {pid for _, pid, _ in posting_set(index, grams_of(0, 1, 2))} == {1, 3}


def test_paragraphs_without_postings_and_an_index_made_before_them_say_so(url: str, index: RedisIndex, raw: redis.Redis) -> None:
    add(index, "bare", [1])
    status = index.postings_status()
    assert status is not None and "without n-gram postings" in status
    index.remove(["bare"])
    assert index.postings_status() is None
    raw.delete(prefix_of(url) + b"postings_from")  # as an index made before postings
    assert "keeps no n-gram postings" in (index.postings_status() or "")
    with RedisIndex.open(url, PARAMS) as writer:  # a writer notes where they start
        assert writer.postings_status() is None


def test_containment_decides_as_the_embedded_index_does(url: str, tmp_path: Path) -> None:
    from dedup.filter import Filter, index_params

    seeds = sorted(ROOT.glob("seeds/*.txt"))
    docs = [(p.name, p.read_text(encoding="utf-8")) for p in seeds]
    three = docs[3][1].split("\n\n")
    docs.append(("merged", "Kept as it is, a line of its own.\n\n" + three[5].strip() + " " + three[7].strip()))
    params = index_params(threshold=0.9)
    results = []
    for spec in (url, str(tmp_path / "idx")):
        with open_index(spec, params) as index:
            list(Filter(index)(docs[:4]))
            outcomes = [o for batch in Filter(index, containment=0.5, batch_paragraphs=7).batches(docs[4:]) for o in batch]
        results.append([(d.paragraph.doc, d.paragraph.number, d.reason, d.coverage, [(s.doc, s.paragraphs, s.spans) for s in d.sources]) for o in outcomes for d in o.drops])
    assert results[0] == results[1]
    assert [r for r in results[0] if r[2] == "reuse"]
