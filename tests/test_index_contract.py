"""The index contract (dedup.index.Index), one suite run against every backend: the embedded
index in a directory and the shared one in a real redis-server (on 127.0.0.1).

What ``dedup filter`` relies on, whichever index it is given: add, query, query_exact,
query_postings, fetch, remove, prune, reopening, refusing other settings, all-or-nothing
batches, and two writers deciding "first seen" one batch at a time. A random sequence of those
operations is checked against a model in plain Python, on both backends. Backend-specific
behaviour (segments and merges, Lua scripts and the lock's queue, damage) has its own suites,
tests/test_index_sqlite.py and tests/test_index_redis.py. The package's import graph is checked
here too.
"""

from __future__ import annotations

import ast
import json
import random
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from dedup.index import Index, IndexError_, IndexMismatch, IndexParams, Postings, Records, open_index
from dedup.index.sqlite import SQLiteIndex
from redis_server import RedisServer, redis_server  # noqa: F401 - the session fixture

PARAMS = IndexParams(num_perm=128, seed=1, shingle="word:3", threshold=0.4, bands=31, rows=3)
BANDS = PARAMS.bands
ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------------------------
# Paragraphs made up from a number: paragraph ``i`` has band keys, a shingle set, an exact key
# and n-grams of its own, so a test says which paragraphs match without computing signatures.


def _mix(x: int) -> int:
    x = (x * 0x9E3779B97F4A7C15) % 2**64
    return x ^ (x >> 31)


def keys_of(*ids: int) -> np.ndarray:
    return np.array([[_mix(i * 1000 + b) for i in ids] for b in range(BANDS)], dtype=np.uint64).reshape(BANDS, len(ids))


def records(doc: str, ids: list[int], at: float = 1_700_000_000.0, texts: list[int] | None = None, grams: bool = True) -> Records:
    """Paragraphs ``ids`` of ``doc`` (numbered from 1), with exact keys of ``texts`` (default:
    their ids) and, with ``grams``, three n-gram postings each (words 10 * id on)."""
    sets = [np.array(sorted({_mix(i * 7 + k) for k in range(i % 5 + 1)}), dtype=np.uint64) for i in ids]
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in sets])]).astype(np.int64)
    hashes = np.concatenate(sets) if sets else np.empty(0, np.uint64)
    exact = np.array([_mix(10**9 + t) for t in (texts if texts is not None else ids)], dtype=np.uint64)
    postings = None
    if grams:
        postings = Postings(
            np.arange(len(ids) + 1) * 3,
            np.array([gram_of(i, w) for i in ids for w in range(3)], dtype=np.uint64),
            np.array([10 * i + w for i in ids for w in range(3)], dtype=np.int64),
        )
    return Records([doc] * len(ids), np.arange(1, len(ids) + 1), keys_of(*ids), hashes, offsets, at, exact_keys=exact, postings=postings)


def gram_of(i: int, w: int) -> int:
    return _mix(10**7 + i * 100 + w)


def pairs(found: tuple[np.ndarray, ...]) -> set[tuple[int, ...]]:
    return set(zip(*(a.tolist() for a in found)))


# ---------------------------------------------------------------------------------------------
# The backends: each gives a fresh location (a path or a redis:// URL) and opens it.


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return str(request.param)


@pytest.fixture
def location(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return str(tmp_path / "index")
    server: RedisServer = request.getfixturevalue("redis_server")
    return server.url(db=0, prefix=f"c{uuid.uuid4().hex[:8]}:")


@pytest.fixture
def index(location: str) -> Iterator[Index]:
    with open_index(location, PARAMS) as idx:
        yield idx


def add(index: Index, rec: Records) -> list[int]:
    with index.batch():
        return index.add(rec).tolist()


# ---------------------------------------------------------------------------------------------
# add, query, fetch


def test_an_added_paragraph_is_found_by_a_shared_band_key_and_fetched_as_stored(index: Index) -> None:
    pids = add(index, records("a", [1, 2, 3], at=1_700_000_123.5))
    assert len(set(pids)) == 3 and pids == sorted(pids)
    query = keys_of(9, 2, 8)
    query[5, 2] = keys_of(3)[5, 0]  # query 2 shares one band key, of one band, with paragraph 3
    assert pairs(index.query(query)) == {(1, pids[1]), (2, pids[2])}
    got = index.fetch(np.array([pids[2], pids[0], pids[2]]))
    assert got.pids.tolist() == [pids[2], pids[0], pids[2]]
    assert got.doc_ids == ["a", "a", "a"] and got.paragraphs.tolist() == [3, 1, 3]
    assert got.ingested_at.tolist() == [1_700_000_123.5] * 3
    stored = records("a", [1, 2, 3])
    for k, i in enumerate([2, 0, 2]):
        mine = stored.hashes[stored.offsets[i] : stored.offsets[i + 1]]
        assert got.hashes[got.offsets[k] : got.offsets[k + 1]].tolist() == mine.tolist()


def test_exact_keys_find_the_earliest_live_copy(index: Index) -> None:
    first = add(index, records("a", [1], texts=[42]))[0]
    second = add(index, records("b", [2], texts=[42]))[0]
    query = np.array([_mix(10**9 + 7), _mix(10**9 + 42)], dtype=np.uint64)
    found = pairs(index.query_exact(query))
    assert (1, first) in found and {q for q, _ in found} == {1} and {p for _, p in found} <= {first, second}
    assert index.remove(["a"]) == 1
    assert pairs(index.query_exact(query)) == {(1, second)}


def test_postings_are_found_with_their_word_numbers(index: Index) -> None:
    assert index.keeps_postings and index.postings_status() is None
    pids = add(index, records("a", [1, 2]))
    found = pairs(index.query_postings(np.array([gram_of(2, 1), 12345, gram_of(1, 0)], dtype=np.uint64)))
    assert found == {(0, pids[1], 21), (2, pids[0], 10)}


def test_an_ngram_asked_for_from_several_places_is_answered_at_each(index: Index) -> None:
    (pid,) = add(index, records("a", [1]))
    asked = np.array([gram_of(1, 0), 5, gram_of(1, 0), gram_of(1, 0)], dtype=np.uint64)
    assert pairs(index.query_postings(asked)) == {(0, pid, 10), (2, pid, 10), (3, pid, 10)}


def test_an_ngram_held_by_more_paragraphs_than_the_cap_is_a_stock_phrase(backend: str, location: str) -> None:
    if backend == "sqlite":
        opened: Index = SQLiteIndex.open(location, PARAMS, posting_cap=3)
    else:
        from dedup.index.redis import RedisIndex

        opened = RedisIndex.open(location, PARAMS, posting_cap=3)
    with opened as index:
        stock = Postings(np.array([0, 1]), np.array([777], dtype=np.uint64), np.array([0]))
        for k in range(3):
            rec = records(f"d{k}", [k + 1], grams=False)
            add(index, Records(rec.doc_ids, rec.paragraphs, rec.band_keys, rec.hashes, rec.offsets, rec.ingested_at, postings=stock))
        assert len(index.query_postings(np.array([777], dtype=np.uint64))[1]) == 3
        rec = records("d3", [4], grams=False)
        add(index, Records(rec.doc_ids, rec.paragraphs, rec.band_keys, rec.hashes, rec.offsets, rec.ingested_at, postings=stock))
        assert len(index.query_postings(np.array([777], dtype=np.uint64))[1]) == 0


# ---------------------------------------------------------------------------------------------
# remove, prune


def test_remove_forgets_every_paragraph_of_the_documents_and_nothing_else(index: Index) -> None:
    a = add(index, records("a", [1, 2]))
    b = add(index, records("b", [3]))
    c = add(index, records("c", [4]))
    assert index.remove(["a", "c", "never stored"]) == 3
    assert pairs(index.query(keys_of(1, 2, 3, 4))) == {(2, b[0])}
    assert pairs(index.query_exact(np.array([_mix(10**9 + i) for i in (1, 3, 4)], dtype=np.uint64))) == {(1, b[0])}
    assert pairs(index.query_postings(np.array([gram_of(1, 0), gram_of(3, 0)], dtype=np.uint64))) == {(1, b[0], 30)}
    assert index.stats()["paragraphs"] == 1 and index.stats()["documents"] == 1
    assert index.remove(["a"]) == 0
    assert set(a + c).isdisjoint(index.query(keys_of(1, 2, 4))[1].tolist())


def test_prune_forgets_what_was_ingested_before_the_time(index: Index) -> None:
    add(index, records("old", [1], at=100.0))
    kept = add(index, records("new", [2], at=200.0))
    assert index.prune(200.0) == 1  # strictly before
    assert pairs(index.query(keys_of(1, 2))) == {(1, kept[0])}
    assert index.prune(150.0) == 0
    rows = list(index.export())
    assert [(r["doc"], r["paragraph"], r["ingested_at"]) for r in rows] == [("new", 1, 200.0)]


# ---------------------------------------------------------------------------------------------
# batches, reopening, settings


def test_a_batch_that_fails_stores_nothing(index: Index) -> None:
    with pytest.raises(RuntimeError), index.batch():
        index.add(records("lost", [1]))
        raise RuntimeError("the caller failed after adding")
    assert pairs(index.query(keys_of(1))) == set() and index.stats()["paragraphs"] == 0
    assert pairs(index.query_postings(np.array([gram_of(1, 0)], dtype=np.uint64))) == set()
    assert add(index, records("kept", [1]))  # and the index goes on


def test_a_batch_sees_its_own_additions(index: Index) -> None:
    with index.batch():
        (pid,) = index.add(records("a", [1])).tolist()
        assert pairs(index.query(keys_of(1))) == {(0, pid)}
        assert index.fetch(np.array([pid])).doc_ids == ["a"]


def test_what_was_stored_is_there_after_reopening(location: str) -> None:
    with open_index(location, PARAMS) as index:
        pids = add(index, records("a\udcff", [1, 2]))  # an id from an undecodable file name round-trips
    with open_index(location, PARAMS) as index:
        assert pairs(index.query(keys_of(2))) == {(0, pids[1])}
        assert index.fetch(np.array(pids)).doc_ids == ["a\udcff", "a\udcff"]
        more = add(index, records("b", [3]))
        assert more[0] > max(pids)
    with open_index(location) as index:  # maintenance: the settings it stores
        assert index.params == PARAMS and index.stats()["paragraphs"] == 3


@pytest.mark.parametrize(
    ("change", "named"),
    [({"threshold": 0.6, "bands": 14, "rows": 9}, "threshold"), ({"num_perm": 64, "bands": 20, "rows": 3}, "num_perm"), ({"shingle": "char:5"}, "shingle")],
)
def test_other_settings_are_refused_naming_them(location: str, change: dict[str, object], named: str) -> None:
    with open_index(location, PARAMS) as index:
        add(index, records("a", [1]))
    other = IndexParams(**{**PARAMS.as_dict(), **change})  # type: ignore[arg-type]
    with pytest.raises(IndexMismatch, match=rf"built with other settings: {named} "):
        open_index(location, other)
    with open_index(location, PARAMS) as index:  # and nothing was changed by the refusal
        assert index.stats()["paragraphs"] == 1


def test_a_missing_index_is_not_made_without_settings(location: str) -> None:
    with pytest.raises(IndexError_, match="no .*index"):
        open_index(location)


def test_records_of_the_wrong_shape_are_refused_before_anything_is_stored(index: Index) -> None:
    good = records("a", [1])
    with pytest.raises(ValueError, match="band_keys must have shape"):
        index.add(Records(good.doc_ids, good.paragraphs, good.band_keys[:5], good.hashes, good.offsets, 0.0))
    with pytest.raises(ValueError, match="same paragraphs"):
        Records(["a", "b"], [1, 2], keys_of(1), good.hashes, good.offsets, 0.0)
    with pytest.raises(ValueError, match="end at the number of hashes"):
        Records(["a"], [1], keys_of(1), good.hashes, np.array([0, 99]), 0.0)
    with pytest.raises(ValueError, match="finite"):
        Records(["a"], [1], keys_of(1), good.hashes, good.offsets, float("nan"))
    with pytest.raises(ValueError, match="one key per paragraph"):
        Records(["a"], [1], keys_of(1), good.hashes, good.offsets, 0.0, exact_keys=np.zeros(2, np.uint64))
    assert index.stats()["paragraphs"] == 0


# ---------------------------------------------------------------------------------------------
# Two writers


WRITER = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    sys.path.insert(0, sys.argv[3])
    from test_index_contract import PARAMS, records, _mix
    from dedup.index import open_index

    location, name = sys.argv[1], sys.argv[2]
    kept = []
    with open_index(location, PARAMS) as index:
        for i in range(1, 121):
            with index.batch():  # query, decide, insert: one batch at a time across processes
                key = np.array([_mix(10**9 + i)], dtype=np.uint64)
                if not len(index.query_exact(key)[1]):
                    index.add(records(f"{name}-{i}", [i]))
                    kept.append(i)
    print(json.dumps(kept))
    """
)


def test_two_writers_keep_each_paragraph_once(location: str) -> None:
    """Two processes offer the same 120 paragraphs at once, each keeping those the index does
    not hold yet: every paragraph is kept exactly once, by one of them."""
    with open_index(location, PARAMS):
        pass  # made before the writers race to create it
    here = str(Path(__file__).parent)
    workers = [
        subprocess.Popen([sys.executable, "-c", WRITER, location, name, here], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        for name in ("one", "two")
    ]
    kept = []
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
        kept.append(json.loads(out))
    assert sorted(kept[0] + kept[1]) == list(range(1, 121))
    with open_index(location, PARAMS) as index:
        assert index.stats()["paragraphs"] == 120
        found = index.query_exact(np.array([_mix(10**9 + i) for i in range(1, 121)], dtype=np.uint64))[0]
        assert np.bincount(found, minlength=120).tolist() == [1] * 120


# ---------------------------------------------------------------------------------------------
# A random sequence of operations, against a model


class Model:
    """What the contract says an index holds: paragraph ``i`` (a made-up id) stored as pid
    ``pid`` in document ``doc`` at time ``at``."""

    def __init__(self) -> None:
        self.live: dict[int, tuple[int, str, float]] = {}  # pid -> (id, doc, at)

    def pids_with(self, ident: int) -> list[int]:
        return sorted(p for p, (i, _, _) in self.live.items() if i == ident)


def test_a_random_sequence_of_operations_agrees_with_the_model(location: str) -> None:
    rng = random.Random(7)
    model = Model()
    ops: list[Callable[[Index], None]] = []

    def check(index: Index) -> None:
        ids = sorted({i for i, _, _ in model.live.values()} | {rng.randrange(1, 40) for _ in range(5)})
        # Band keys and n-grams: every live copy of an id, and nothing else.
        want = {(q, p) for q, i in enumerate(ids) for p in model.pids_with(i)}
        assert pairs(index.query(keys_of(*ids))) == want
        grams = np.array([gram_of(i, 2) for i in ids], dtype=np.uint64)
        assert pairs(index.query_postings(grams)) == {(q, p, 10 * i + 2) for q, i in enumerate(ids) for p in model.pids_with(i)}
        # Exact keys: the earliest live copy at least, and only live copies.
        found = pairs(index.query_exact(np.array([_mix(10**9 + i) for i in ids], dtype=np.uint64)))
        for q, i in enumerate(ids):
            live = model.pids_with(i)
            mine = {p for qq, p in found if qq == q}
            assert mine <= set(live) and (not live or live[0] in mine)
        stats = index.stats()
        assert stats["paragraphs"] == len(model.live)
        assert stats["documents"] == len({doc for _, doc, _ in model.live.values()})
        if model.live:
            pids = sorted(model.live)
            got = index.fetch(np.array(pids))
            assert got.doc_ids == [model.live[p][1] for p in pids]
            assert got.ingested_at.tolist() == [model.live[p][2] for p in pids]

    with open_index(location, PARAMS) as index:
        clock = 1000.0
        for step in range(60):
            kind = rng.choice(["add", "add", "add", "remove", "prune", "fail"])
            if kind in ("add", "fail"):
                doc = f"doc{rng.randrange(8)}"
                ids = sorted(rng.sample(range(1, 40), rng.randrange(1, 5)))
                clock += rng.choice([0.0, 1.0, 5.0])
                if kind == "fail":
                    with pytest.raises(RuntimeError), index.batch():
                        index.add(records(doc, ids, at=clock))
                        raise RuntimeError
                    continue
                pids = add(index, records(doc, ids, at=clock))
                for pid, i in zip(pids, ids):
                    assert pid not in model.live
                    model.live[pid] = (i, doc, clock)
            elif kind == "remove":
                docs = [f"doc{rng.randrange(8)}" for _ in range(2)]
                gone = [p for p, (_, d, _) in model.live.items() if d in docs]
                assert index.remove(docs) == len(gone)
                for p in gone:
                    del model.live[p]
            else:
                before = clock - rng.choice([0.0, 3.0, 10.0])
                gone = [p for p, (_, _, at) in model.live.items() if at < before]
                assert index.prune(before) == len(gone)
                for p in gone:
                    del model.live[p]
            if step % 6 == 5:
                check(index)
        check(index)
    with open_index(location, PARAMS) as index:  # and the same after reopening
        check(index)


# ---------------------------------------------------------------------------------------------
# The package's imports


def _import_graph(package: Path) -> dict[str, set[str]]:
    """Modules of ``package`` (compiled ones included) and the modules of it each imports,
    at the top or inside a function: ``from pkg import name`` counts as importing
    ``pkg.name`` when that is a module, else ``pkg`` itself."""
    modules: dict[str, Path] = {}
    for path in package.rglob("*"):
        if path.suffix not in (".py", ".so", ".pyi") or "__pycache__" in path.parts:
            continue
        parts = path.relative_to(package.parent).with_suffix("").parts
        name = ".".join(parts).split(".abi3")[0].split(".cpython")[0]
        modules[name.removesuffix(".__init__")] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        if path.suffix != ".py":
            graph.setdefault(name, set())
            continue
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                deps.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                subs = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules]
                deps.update(subs)
                if len(subs) < len(node.names):
                    deps.add(base)
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                found.append(stack[stack.index(dep) :] + [dep])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_the_index_package_has_no_import_cycle_and_its_backends_import_only_the_interface() -> None:
    graph = _import_graph(ROOT / "dedup")
    assert _cycles(graph) == []
    for name, deps in graph.items():
        if name.startswith(("dedup.index.sqlite", "dedup.index.redis")):
            assert "dedup.index" not in deps, f"{name} imports dedup.index, which imports the backends"
            other = "dedup.index.redis" if name.startswith("dedup.index.sqlite") else "dedup.index.sqlite"
            assert not any(d.startswith(other) for d in deps), f"{name} imports the other backend"
    assert graph["dedup.index.interface"] <= {"dedup"} | {d for d in graph if not d.startswith("dedup.index")}


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c", "a"]]
