"""Filter: a pre-ingest stream of paragraphs, each checked against what is indexed, then added.

Every peer gets the same documents (the paragraphs of a generated corpus) and decides, paragraph
by paragraph in input order, to keep it or drop it: dropped when its exact word-3-gram Jaccard
similarity is at or above the threshold (dedup's default, 0.4) against a paragraph already
indexed; a kept paragraph is then indexed, so "first seen wins". 128 permutations, seed 1, and
dedup's band layout for that threshold (31 bands of 3 rows) for every peer, so all do the same
LSH work.

The timed region is the same for all: **documents in memory in, keep/drop decisions out**.
That is splitting documents into paragraphs, normalizing and shingling, MinHash signatures,
the LSH query, exact verification of every candidate, and the insert of each kept paragraph.
Not timed: starting the process, reading the corpus, warming up the kernels (on a throwaway
index), opening the index and preloading it.

Peers, each in a fresh process:

- ``datasketch MinHashLSH (memory)``: paragraphs split at blank lines, ``dedup.shingles``
  (the reference normalizer), ``MinHash.bulk`` (xxh32) over the whole stream, then per paragraph
  ``lsh.query``, exact Jaccard against each candidate's shingle set (Python ``frozenset``, kept
  in a dict), and ``lsh.insert`` when kept.
- ``datasketch MinHashLSH (Redis)``: the same with
  ``storage_config={'type': 'redis', 'redis': {'host': '127.0.0.1', 'port': P}}`` on a
  ``redis-server`` this suite starts on a free loopback port and stops afterwards. It is very
  slow (a round trip per band per call), so it runs on the first ``--redis-sample`` paragraphs
  and is compared by rate; its shingle sets stay in the client's memory (which favours it).
- ``dedup Filter (SQLite index)``: ``dedup.filter.Filter`` over ``open_index(PATH,
  index_params(0.4))``, the embedded index, default batch size; every batch is committed. Also
  run on one thread (``DEDUP_THREADS=1``); otherwise dedup's kernels use every usable core, the
  datasketch peers one.
- ``dedup Filter (Redis index)``: the same over ``open_index("redis://127.0.0.1:P/0", ...)``,
  the shared index, on a fresh ``redis-server`` of its own.

Settings, each compared only within itself, so that every side holds the same paragraphs:
an **empty** index; an index **preloaded** with the first ``min(--preload,
--datasketch-preload)`` paragraphs of another corpus (seed ``--seed + 1``, no planted copies,
so nearly all are indexed), for every peer; and, when ``--preload`` is larger, dedup's indexes
alone preloaded with all of it (**preloaded-dedup**: no datasketch row to compare with, since
datasketch in memory holds about 13 KB per paragraph in Python objects). dedup's indexes are
preloaded through the same ``Filter``, in a process of their own; the measured process then
opens the index that holds them (for the SQLite index, a directory; for the Redis index, the
same server), as a filter run does after earlier runs. datasketch in memory is preloaded in the
measured process through the same stream (query, verify, insert); datasketch on Redis through
an insertion session (pipelined inserts; a query per paragraph would take hours at its rate).
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks._harness import DEFAULT_THRESHOLD, NUM_PERM, ONE_THREAD, SEED, Row, WorkerFailed, current_rss_mb, machine, print_machine, print_table, run_worker, time_best_cpu, write_json
from benchmarks._redis import RedisServer
from benchmarks.corpus import make_corpus, read_documents, write_corpus

__all__ = ["PEERS", "run", "run_peer", "TARGET_EMBEDDED_RATE", "TARGET_EMBEDDED_RSS_MB", "TARGET_REDIS_RATE", "TARGET_VS_DATASKETCH_REDIS"]

TARGET_EMBEDDED_RATE = 50_000.0
TARGET_EMBEDDED_RSS_MB = 1024.0
TARGET_REDIS_RATE = 10_000.0
TARGET_VS_DATASKETCH_REDIS = 100.0

PEERS = (
    ("datasketch_memory", "datasketch MinHashLSH (memory)"),
    ("datasketch_redis", "datasketch MinHashLSH (Redis)"),
    ("dedup_sqlite", "dedup Filter (SQLite index)"),
    ("dedup_redis", "dedup Filter (Redis index)"),
)
REDIS_PEERS = {"datasketch_redis", "dedup_redis"}
# dedup under an environment of its own, run whenever its peer is: key -> (peer, environment, label).
VARIANTS = {"dedup_sqlite": [("dedup_sqlite_one_thread", ONE_THREAD, "dedup Filter (SQLite index), 1 thread")]}
# What each peer is compared with: its datasketch counterpart on the same kind of storage.
BASELINE_OF = {
    "datasketch_memory": "datasketch_memory",
    "dedup_sqlite": "datasketch_memory",
    "dedup_sqlite_one_thread": "datasketch_memory",
    "datasketch_redis": "datasketch_redis",
    "dedup_redis": "datasketch_redis",
}


# ---------------------------------------------------------------------------------------------
# The peers (worker side).


def _paragraphs(documents: list[tuple[str, str]]) -> list[str]:
    """The datasketch peers' segmentation: split at blank lines (exact for generated text)."""
    return [p for _, text in documents for p in text.strip("\n").split("\n\n")]


def _stream_documents(jsonl: str) -> Iterator[tuple[str, str]]:
    """Documents of a JSON Lines corpus one at a time, so a large preload is never all in memory."""
    import json

    with open(jsonl, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            yield row["id"], row["text"]


def _preload_documents(jsonl: str, limit: int) -> Iterator[tuple[str, str]]:
    """The documents holding the first ``limit`` paragraphs of a corpus, the last one cut to
    its share: what the datasketch peers get from :func:`_preload_paragraphs`, as documents."""
    left = limit
    for name, text in _stream_documents(jsonl):
        if left <= 0:
            return
        paragraphs = text.strip("\n").split("\n\n")[:left]
        left -= len(paragraphs)
        yield name, "\n\n".join(paragraphs) + "\n"


def _preload_paragraphs(jsonl: str, limit: int) -> Iterator[str]:
    count = 0
    for _, text in _stream_documents(jsonl):
        for p in text.strip("\n").split("\n\n"):
            if count >= limit:
                return
            count += 1
            yield p


class _DatasketchStream:
    """datasketch's MinHashLSH as a filter: query, verify exactly, insert what is kept."""

    def __init__(self, storage_config: dict[str, Any] | None, threshold: float) -> None:
        from datasketch import MinHashLSH

        from dedup.lsh import lsh_params

        kwargs: dict[str, Any] = {"threshold": threshold, "num_perm": NUM_PERM, "params": lsh_params(threshold, NUM_PERM)}
        if storage_config is not None:
            kwargs["storage_config"] = storage_config
        self.lsh = MinHashLSH(**kwargs)
        self.threshold = threshold
        self.sets: dict[int, frozenset[str]] = {}
        self.next_key = 0

    def insert_all(self, texts: list[str]) -> None:
        """Index every paragraph of ``texts`` with no query, in one insertion session (pipelined
        on Redis): how a datasketch index is filled in bulk."""
        import xxhash
        from datasketch import MinHash

        from dedup import shingles

        shingle_lists = [shingles(t) for t in texts]
        minhashes = MinHash.bulk(shingle_lists, num_perm=NUM_PERM, seed=SEED, hashfunc=xxhash.xxh32_intdigest)
        with self.lsh.insertion_session() as session:
            for m, s in zip(minhashes, shingle_lists):
                if not s:
                    continue
                session.insert(self.next_key, m, check_duplication=False)
                self.sets[self.next_key] = frozenset(s)
                self.next_key += 1

    def run(self, texts: list[str]) -> int:
        """Decide every paragraph of ``texts`` in order; return how many were dropped."""
        import xxhash
        from datasketch import MinHash

        from dedup import shingles

        shingle_lists = [shingles(t) for t in texts]
        minhashes = MinHash.bulk(shingle_lists, num_perm=NUM_PERM, seed=SEED, hashfunc=xxhash.xxh32_intdigest)
        lsh, sets = self.lsh, self.sets
        dropped = 0
        for m, s in zip(minhashes, shingle_lists):
            if not s:
                continue  # nothing to match: kept, not indexed (as dedup does)
            mine = frozenset(s)
            duplicate = False
            for key in lsh.query(m):
                other = sets[key]
                inter = len(mine & other)
                if inter / (len(mine) + len(other) - inter) >= self.threshold:
                    duplicate = True
                    break
            if duplicate:
                dropped += 1
                continue
            key = self.next_key
            self.next_key += 1
            lsh.insert(key, m, check_duplication=False)
            sets[key] = mine
        return dropped


def _warm_dedup(index_spec: str, params: Any) -> None:
    """Run every kernel of the filter path once before the clock starts, on a throwaway index."""
    from dedup.filter import Filter
    from dedup.index import open_index

    words = "warm up every kernel once before the clock starts so that the timed run measures work not loading".split()
    docs = [(f"w{k}", " ".join(words[k:] + words[:k]) + "\n\nA second paragraph here.\n\n" + " ".join(words[:-1] + [f"compiling{k}"])) for k in range(8)]
    with open_index(index_spec, params) as index:
        for _ in Filter(index, batch_paragraphs=3)(docs):  # several batches: tail runs, filters
            pass
        for _ in Filter(index)(docs):
            pass


def _index_specs(spec: dict[str, Any]) -> tuple[str, str]:
    """Where the throwaway warm-up index and the measured index live."""
    if spec["peer"] == "dedup_redis":
        base = f"redis://127.0.0.1:{spec['port']}/0"
        return base + "?prefix=warm:", base + "?prefix=bench:"
    work = Path(spec["workdir"])
    return str(work / "warm-index"), str(work / "index")


def _preload_dedup(spec: dict[str, Any]) -> dict[str, Any]:
    """Fill dedup's index with the preload corpus through ``Filter``, in a process of its own
    (the index persists: the measured process then opens an index that already holds it, as a
    filter run does after earlier runs)."""
    from dedup.filter import Filter, index_params
    from dedup.index import open_index

    params = index_params(threshold=spec["threshold"])
    _, index_spec = _index_specs(spec)
    start = time.perf_counter()
    with open_index(index_spec, params) as index:
        for _ in Filter(index)(_preload_documents(spec["preload_corpus"], spec["preload"])):
            pass
        indexed = int(index.stats()["paragraphs"])
    return {"preload_s": time.perf_counter() - start, "indexed": indexed}


def _run_dedup(spec: dict[str, Any], documents: list[tuple[str, str]]) -> dict[str, Any]:
    from dedup.filter import Filter, index_params
    from dedup.index import open_index

    params = index_params(threshold=spec["threshold"])
    result: dict[str, Any] = {"bands": params.bands, "rows": params.rows}
    warm_spec, index_spec = _index_specs(spec)
    start = time.perf_counter()
    _warm_dedup(warm_spec, params)
    result["warm_up_s"] = time.perf_counter() - start
    start = time.perf_counter()
    with open_index(index_spec, params) as index:
        result["open_s"] = time.perf_counter() - start
        result["indexed_before"] = int(index.stats()["paragraphs"])
        step = Filter(index)

        def stream() -> int:
            return sum(len(outcome.drops) for outcomes in step.batches(documents) for outcome in outcomes)

        result["seconds"], _, dropped, used = time_best_cpu(stream, 1)
        from dedup._kernel._lib import threads

        result["threads"] = threads()  # its pool starts at the warm-up, before the clock
        result["cpu_s"] = used["cpu_s"]
        result["dropped"] = dropped
        result["paragraphs"] = step.stats.paragraphs
        result["batches"] = step.stats.batches
        result["indexed_after"] = int(index.stats()["paragraphs"])
    return result


def _run_datasketch(spec: dict[str, Any], documents: list[tuple[str, str]]) -> dict[str, Any]:
    from dedup import shingles

    shingles("Build dedup's normalization table before the clock starts.")
    storage = None
    if spec["peer"] == "datasketch_redis":
        storage = {"type": "redis", "basename": b"bench", "redis": {"host": "127.0.0.1", "port": spec["port"]}}
    stream = _DatasketchStream(storage, spec["threshold"])
    result: dict[str, Any] = {}
    preload = spec.get("preload", 0)
    if preload:
        # In memory through the stream itself (query, verify, insert), as dedup's preload goes
        # through its Filter; on Redis in an insertion session, since a query per paragraph
        # would take hours at its rate.
        fill = stream.insert_all if storage is not None else stream.run
        start = time.perf_counter()
        chunk: list[str] = []
        for text in _preload_paragraphs(spec["preload_corpus"], preload):
            chunk.append(text)
            if len(chunk) >= 20_000:
                fill(chunk)
                chunk = []
        if chunk:
            fill(chunk)
        result["preload_s"] = time.perf_counter() - start
        result["preload_rss_mb"] = current_rss_mb()
    result["indexed_before"] = len(stream.sets)
    limit = spec.get("sample")

    def decide() -> tuple[int, int]:
        texts = _paragraphs(documents)
        if limit:
            texts = texts[:limit]
        return stream.run(texts), len(texts)

    result["seconds"], _, (dropped, paragraphs), used = time_best_cpu(decide, 1)
    result["threads"] = max(1, used["threads"] or 1)
    result["cpu_s"] = used["cpu_s"]
    result["dropped"] = dropped
    result["paragraphs"] = paragraphs
    result["indexed_after"] = len(stream.sets)
    return result


def run_peer(spec: dict[str, Any]) -> dict[str, Any]:
    """Worker side: one peer, one setting (or the preload of dedup's index)."""
    if spec.get("phase") == "preload":
        return _preload_dedup(spec)
    documents = read_documents(spec["corpus"])
    if spec.get("sample"):
        # only the documents that hold the sample's paragraphs
        kept, count = [], 0
        for doc in documents:
            if count >= spec["sample"]:
                break
            kept.append(doc)
            count += len(doc[1].strip("\n").split("\n\n"))
        documents = kept
    base = current_rss_mb()
    if spec["peer"].startswith("dedup"):
        result = _run_dedup(spec, documents)
    else:
        result = _run_datasketch(spec, documents)
    result["base_rss_mb"] = base
    return result


# ---------------------------------------------------------------------------------------------
# The suite (parent process).


def run(
    paragraphs: int = 60_000,
    json_path: str | None = None,
    seed: int = 0,
    preload: int = 1_000_000,
    redis_sample: int = 2_000,
    datasketch_preload: int = 100_000,
    threshold: float = DEFAULT_THRESHOLD,
    peers: tuple[str, ...] = tuple(key for key, _ in PEERS),
) -> int:
    """Run the filter suite and print its table; returns the exit status."""
    from dedup.filter import index_params

    info = machine()
    print_machine(info)
    params = index_params(threshold=threshold)
    start = time.perf_counter()
    corpus = make_corpus(paragraphs, seed=seed)
    print(f"corpus   {paragraphs:,} paragraphs in {len(corpus.names):,} documents, {len(corpus.planted):,} planted copies (seed {seed}, made in {time.perf_counter() - start:.1f} s)")
    pre = None
    if preload:
        start = time.perf_counter()
        pre = make_corpus(preload, seed=seed + 1, dup_share=0.0)
        print(f"preload  {preload:,} paragraphs in {len(pre.names):,} documents, no planted copies (seed {seed + 1}, made in {time.perf_counter() - start:.1f} s)")
    print(
        f"task     paragraph stream -> keep/drop at exact Jaccard >= {threshold}, word:3, {NUM_PERM} permutations, "
        f"{params.bands} bands x {params.rows} rows; query then insert of each kept paragraph"
    )
    print("timed    documents in memory -> decisions: paragraphs, normalization, shingles, MinHash, LSH query, exact Jaccard, insert\n")
    redis_binary = shutil.which("redis-server")
    rows: list[Row] = []
    notes: list[str] = []
    failures: list[str] = []
    skipped: dict[str, str] = {}
    # Every side holds the same paragraphs in a setting: datasketch in memory cannot hold more
    # than --datasketch-preload, so beyond it only dedup's indexes are preloaded, and compared
    # with nothing.
    shared = min(preload, datasketch_preload)
    settings = [("empty", 0)] + ([("preloaded", shared)] if shared else []) + ([("preloaded-dedup", preload)] if preload > shared else [])
    runs = [(key, label, key, None) for key, label in PEERS if key in peers]
    runs += [(variant, variant_label, key, env) for key, _ in PEERS if key in peers for variant, env, variant_label in VARIANTS.get(key, [])]
    with tempfile.TemporaryDirectory(prefix="dedup-bench-filter-") as tmp:
        corpus_path = write_corpus(corpus, Path(tmp) / "corpus.jsonl", "jsonl")
        pre_path = write_corpus(pre, Path(tmp) / "preload.jsonl", "jsonl") if pre is not None else None
        del pre
        for setting, count in settings:
            for row_key, label, key, env in runs:
                name = f"{label}, {setting}"
                if setting == "preloaded-dedup" and not key.startswith("dedup"):
                    continue
                if key in REDIS_PEERS and redis_binary is None:
                    skipped[f"{key}:{setting}"] = "redis-server is not installed (apt-get install redis-server)"
                    print(f"skipping {name}: {skipped[f'{key}:{setting}']}")
                    continue
                if key in REDIS_PEERS and importlib.util.find_spec("redis") is None:
                    skipped[f"{key}:{setting}"] = "the redis package is not installed (pip install 'dedup[redis]')"
                    print(f"skipping {name}: {skipped[f'{key}:{setting}']}")
                    continue
                work = Path(tmp) / f"{row_key}-{setting}"
                work.mkdir()
                spec: dict[str, Any] = {
                    "suite": "filter",
                    "peer": key,
                    "corpus": str(corpus_path),
                    "preload_corpus": str(pre_path) if pre_path else None,
                    "preload": count,
                    "threshold": threshold,
                    "workdir": str(work),
                }
                if key == "datasketch_redis":
                    spec["sample"] = redis_sample
                server = RedisServer(work / "redis", binary=redis_binary) if key in REDIS_PEERS else None
                try:
                    if server is not None:
                        server.start()
                        spec["port"] = server.port
                    preloaded = None
                    if key.startswith("dedup") and count:
                        preloaded = run_worker({**spec, "phase": "preload"}, env=env)
                    result = run_worker(spec, env=env)
                    server_rss = server.peak_rss_mb() if server is not None else None
                    if preloaded is not None:
                        result["preload_s"] = preloaded["preload_s"]
                        result["preload_rss_mb"] = preloaded["peak_rss_mb"]
                except (WorkerFailed, RuntimeError) as err:
                    failures.append(str(err))
                    print(f"FAILED {name}: {err}")
                    continue
                finally:
                    if server is not None:
                        server.stop()
                    shutil.rmtree(work, ignore_errors=True)
                extra = {k: result[k] for k in ("base_rss_mb", "warm_up_s", "open_s", "preload_s", "preload_rss_mb", "indexed_before", "indexed_after", "dropped", "batches", "bands", "rows", "process_s", "threads", "cpu_s") if k in result}
                extra.update(key=row_key, setting=setting, preload=count, server_rss_mb=server_rss)
                extra["drop_share"] = result["dropped"] / result["paragraphs"] if result["paragraphs"] else 0.0
                rows.append(Row.of(name, result["paragraphs"], result["seconds"], result["peak_rss_mb"], **extra))
                if "preload_s" in result:
                    where = "in its own process, peak RSS " + f"{result['preload_rss_mb']:,.0f} MB" if key.startswith("dedup") else "in the same process"
                    if key == "datasketch_redis":
                        where += ", in an insertion session"
                    notes.append(f"{name}: preloaded {result['indexed_before']:,} paragraphs in {result['preload_s']:.1f} s ({where}; not timed)")
                if "open_s" in result and count:
                    notes.append(f"{name}: opening the preloaded index took {result['open_s']:.2f} s (not timed)")

    by = {(r.extra["key"], r.extra["setting"]): r for r in rows}
    for r in rows:
        base = by.get((BASELINE_OF[r.extra["key"]], r.extra["setting"]))
        if base is not None:
            r.ratio = r.paragraphs_per_s / base.paragraphs_per_s
            r.extra["baseline"] = base.name
    print_table(
        rows,
        "vs datasketch",
        [
            ("indexed before", "indexed_before", ","),
            ("dropped", "dropped", ","),
            ("server RSS MB", "server_rss_mb", ",.0f"),
            ("process s", "process_s", ".1f"),
        ],
    )
    print()
    print("vs datasketch: rate against datasketch on the same kind of storage (memory for memory and SQLite, Redis for Redis),")
    print("               in the same setting (the same paragraphs indexed); preloaded-dedup has no datasketch row to compare with")
    print("threads: the client's threads (dedup's kernels: every usable core, or DEDUP_THREADS=1); CPU/wall: the client's CPU seconds")
    print("         per wall second of the stream (the redis-server is a process of its own, single-threaded, on the same machine)")
    if preload > shared:
        notes.append(f"preloaded-dedup: only dedup's indexes hold {preload:,} paragraphs; datasketch in memory holds about 13 KB per paragraph, so it is preloaded with at most {datasketch_preload:,} (--datasketch-preload)")
    notes.append("datasketch on Redis runs on a sample (--redis-sample); it is compared by rate")
    notes.append("peak RSS MB: the peer's own process, warm-up and the corpus in memory included (dedup's preload runs in a process of its own,")
    notes.append("             datasketch's in the measured one: it has nowhere else to keep it); server RSS MB: the redis-server's peak")
    for note in notes:
        print(note)
    targets = _targets(rows)
    for line in targets["lines"]:
        print(line)
    if json_path:
        write_json(
            json_path,
            "filter",
            info,
            rows,
            threshold=threshold,
            bands=params.bands,
            rows_per_band=params.rows,
            preload=preload,
            redis_sample=redis_sample,
            datasketch_preload=datasketch_preload,
            skipped=skipped,
            targets=targets["values"],
            failures=failures,
        )
    return 1 if failures else 0


def _targets(rows: list[Row]) -> dict[str, Any]:
    by = {(r.extra["key"], r.extra["setting"]): r for r in rows}
    lines: list[str] = []
    values: dict[str, Any] = {}

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    embedded = by.get(("dedup_sqlite", "preloaded-dedup")) or by.get(("dedup_sqlite", "preloaded"))  # the largest preload
    if embedded is not None:
        indexed = embedded.extra.get("indexed_before", 0)
        ok_rate = embedded.paragraphs_per_s >= TARGET_EMBEDDED_RATE
        ok_rss = embedded.peak_rss_mb < TARGET_EMBEDDED_RSS_MB
        values["embedded_rate_preloaded"] = embedded.paragraphs_per_s
        values["embedded_peak_rss_mb"] = embedded.peak_rss_mb
        lines.append(f"target   {embedded.name} ({indexed:,} indexed): {embedded.paragraphs_per_s:,.0f} paragraphs/s (target >= {TARGET_EMBEDDED_RATE:,.0f}): {verdict(ok_rate)}")
        lines.append(f"target   {embedded.name}: peak RSS {embedded.peak_rss_mb:,.0f} MB (target < {TARGET_EMBEDDED_RSS_MB:,.0f} MB): {verdict(ok_rss)}")
    for setting in ("empty", "preloaded", "preloaded-dedup"):
        ours = by.get(("dedup_redis", setting))
        if ours is None:
            continue
        values[f"redis_rate_{setting}"] = ours.paragraphs_per_s
        lines.append(f"target   {ours.name}: {ours.paragraphs_per_s:,.0f} paragraphs/s (target >= {TARGET_REDIS_RATE:,.0f}): {verdict(ours.paragraphs_per_s >= TARGET_REDIS_RATE)}")
        peer = by.get(("datasketch_redis", setting))
        if peer is not None:
            ratio = ours.paragraphs_per_s / peer.paragraphs_per_s
            values[f"redis_vs_datasketch_redis_{setting}"] = ratio
            lines.append(f"target   {ours.name} vs {peer.name} (by rate): {ratio:,.0f}x (target >= {TARGET_VS_DATASKETCH_REDIS:.0f}x): {verdict(ratio >= TARGET_VS_DATASKETCH_REDIS)}")
    return {"lines": lines, "values": values}
