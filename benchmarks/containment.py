"""Containment: ``dedup filter --containment`` against a preloaded embedded index, beside the
same filter without it, and what the n-gram postings cost the index in bytes.

The stream is a generated corpus (:func:`benchmarks.corpus.make_corpus`, ``--paragraphs``,
with its planted near-copies) with *reused* paragraphs added: every ``--reuse-every``-th
document gets a paragraph made of two paragraphs of the preload corpus, each trimmed by a few
words at its ends, which no single stored paragraph is near as a whole (what containment is
for). The index is preloaded with ``--preload`` paragraphs of another corpus (seed + 1, no
planted copies) through ``Filter``, in a process of its own, once; each measured peer then
works on a copy of that index directory, in a fresh process, so both start from the same
state:

- ``dedup Filter, Jaccard only, no postings``: ``Filter(index, postings=False)`` on an index
  preloaded the same way without postings: what the filter costs when nothing is kept for
  containment;
- ``dedup Filter, Jaccard only``: ``Filter(index)``, the default batch size; it still stores
  the kept paragraphs' postings (that is the default whenever the index keeps them);
- ``dedup Filter, --containment 0.5``: ``Filter(index, containment=0.5)``.

The timed region is the filter suite's: documents in memory in, decisions out (every batch
committed). The two take turns ``--repeat`` times (default 2), each keeping its fastest run. Not timed: preloading, copying the index, warming up the kernels (on a throwaway
index), opening the index. Timed, as in any run that adds this many: writing the index's tail
out as a segment once it passes the index's ``segment_rows`` paragraphs (sorting and writing
each of its entries, postings included); the suite prints how much each peer's run wrote.

Bytes per paragraph: the same ``--bytes-sample`` paragraphs of the preload corpus filtered into
a fresh embedded index with postings and without (``Filter(..., postings=False)``): its
directory's size on disk (``dedup index stats``'s ``bytes``) over its paragraphs; and, when
``redis-server`` is installed, the same for a fresh Redis index, its server's ``used_memory``
growth over its paragraphs. The preloaded index's own bytes per paragraph are printed too.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from dedup.config import DEFAULT_THRESHOLD  # the product's default, as every suite uses
from benchmarks._harness import Row, WorkerFailed, current_rss_mb, machine, print_machine, print_table, run_worker, write_json
from benchmarks._redis import RedisServer
from benchmarks.corpus import make_corpus, read_documents, write_corpus

__all__ = ["run", "run_args", "run_peer", "add_arguments", "HELP", "TARGET_RATE", "TARGET_RSS_MB", "CONTAINMENT"]

HELP = "dedup filter --containment against a preloaded embedded index, beside Jaccard only; the index's bytes per paragraph"

TARGET_RATE = 30_000.0
TARGET_RSS_MB = 1536.0
CONTAINMENT = 0.5

PEERS = (
    ("bare", "dedup Filter, Jaccard only, no postings"),
    ("jaccard", "dedup Filter, Jaccard only"),
    ("containment", f"dedup Filter, --containment {CONTAINMENT}"),
)


def _with_reuse(stream: list[tuple[str, str]], preload: list[tuple[str, str]], every: int, seed: int) -> tuple[list[tuple[str, str]], int]:
    """``stream`` with a paragraph merged from two trimmed preload paragraphs added to every
    ``every``-th document; and how many were added."""
    rng = random.Random(seed)
    pool = [p for _, text in preload for p in text.strip("\n").split("\n\n") if len(p.split()) >= 20]
    if not pool or not every:
        return stream, 0
    out = []
    added = 0
    for k, (name, text) in enumerate(stream):
        if k % every == 0:
            a, b = rng.choice(pool).split(), rng.choice(pool).split()
            merged = " ".join(a[rng.randint(0, 3) : len(a) - rng.randint(0, 3)] + b[rng.randint(0, 3) : len(b) - rng.randint(0, 3)])
            text = text.rstrip("\n") + "\n\n" + merged
            added += 1
        out.append((name, text))
    return out, added


# ---------------------------------------------------------------------------------------------
# Worker side.


def _warm(spec: str, params: Any, containment: float | None, postings: bool | None = None) -> None:
    from dedup.filter import Filter
    from dedup.index import open_index

    words = "warm up every kernel once before the clock starts so that the timed run measures work not loading".split()
    docs = [(f"w{k}", " ".join(words[k:] + words[:k]) + "\n\nA second paragraph here.\n\n" + " ".join(words[:-1] + [f"compiling{k}"])) for k in range(8)]
    with open_index(spec, params) as index:
        for _ in Filter(index, batch_paragraphs=3, containment=containment, postings=postings)(docs):
            pass


def _fill(spec: dict[str, Any]) -> dict[str, Any]:
    """Filter a corpus (the first ``limit`` documents' paragraphs) into an index."""
    from dedup.filter import Filter, index_params
    from dedup.index import open_index

    params = index_params(threshold=spec["threshold"])
    documents = read_documents(spec["corpus"])
    if spec.get("limit"):
        kept, count = [], 0
        for doc in documents:
            if count >= spec["limit"]:
                break
            kept.append(doc)
            count += doc[1].count("\n\n") + 1
        documents = kept
    start = time.perf_counter()
    with open_index(spec["index"], params) as index:
        before = _memory(index)
        for _ in Filter(index, postings=spec.get("postings")).batches(documents):
            pass
        stats = index.stats()
        after = _memory(index)
    return {"seconds": time.perf_counter() - start, "paragraphs": int(stats["paragraphs"]), "bytes": stats.get("bytes"), "memory": None if before is None or after is None else after - before}


def _memory(index: Any) -> int | None:
    """A Redis index's server memory in use; None for the embedded index."""
    client = getattr(index, "_r", None)
    if client is None:
        return None
    return int(client.info("memory")["used_memory"])


def _measure(spec: dict[str, Any]) -> dict[str, Any]:
    from dedup.filter import Filter, index_params
    from dedup.index import open_index

    params = index_params(threshold=spec["threshold"])
    containment = spec.get("containment")
    documents = read_documents(spec["corpus"])
    base = current_rss_mb()
    start = time.perf_counter()
    _warm(spec["warm"], params, containment, spec.get("postings"))
    warm_s = time.perf_counter() - start
    start = time.perf_counter()
    with open_index(spec["index"], params) as index:
        open_s = time.perf_counter() - start
        stats = index.stats()
        before, tail, entries = int(stats["paragraphs"]), int(stats["tail_paragraphs"]), int(stats["segment_entries"])
        step = Filter(index, containment=containment, postings=spec.get("postings"))
        start = time.perf_counter()
        for _ in step.batches(documents):
            pass
        seconds = time.perf_counter() - start
        stats = index.stats()
        after = int(stats["paragraphs"])
    return {
        "seconds": seconds,
        "paragraphs": step.stats.paragraphs,
        "dropped": dict(step.stats.dropped),
        "batches": step.stats.batches,
        "indexed_before": before,
        "indexed_after": after,
        # What the timed run wrote out of the tail into segments (once the tail passes the
        # index's segment_rows): paragraphs, and entries (band keys, exact keys, postings).
        "flushed": tail + (after - before) - int(stats["tail_paragraphs"]),
        "flushed_entries": int(stats["segment_entries"]) - entries,
        "warm_up_s": warm_s,
        "open_s": open_s,
        "base_rss_mb": base,
    }


def run_peer(spec: dict[str, Any]) -> dict[str, Any]:
    """Worker side: fill an index, or one measured filter run."""
    if spec["phase"] == "fill":
        return _fill(spec)
    return _measure(spec)


# ---------------------------------------------------------------------------------------------
# The suite (parent process).


def add_arguments(parser: Any) -> None:
    """The suite's options, on its ``python -m benchmarks containment`` parser."""
    parser.add_argument("--paragraphs", type=int, default=60_000, help="paragraphs in the stream (default 60,000)")
    parser.add_argument("--preload", type=int, default=1_000_000, help="paragraphs indexed before the stream (default 1,000,000)")
    parser.add_argument("--bytes-sample", type=int, default=100_000, help="paragraphs of the indexes whose bytes per paragraph are compared (default 100,000)")
    parser.add_argument("--reuse-every", type=int, default=10, help="add a paragraph merged from two preloaded ones to every K-th document; 0: none (default 10)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each peer, taking turns; the fastest is shown, and the highest peak RSS (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON to PATH")


def run_args(args: Any) -> int:
    return run(args.paragraphs, args.json, args.seed, args.preload, args.bytes_sample, args.reuse_every, repeat=args.repeat)


def run(
    paragraphs: int = 60_000,
    json_path: str | None = None,
    seed: int = 0,
    preload: int = 1_000_000,
    bytes_sample: int = 100_000,
    reuse_every: int = 10,
    threshold: float = DEFAULT_THRESHOLD,
    repeat: int = 2,
) -> int:
    """Run the containment suite and print its table; returns the exit status."""
    from dedup.filter import index_params

    info = machine()
    print_machine(info)
    params = index_params(threshold=threshold)
    start = time.perf_counter()
    pre = make_corpus(max(preload, bytes_sample), seed=seed + 1, dup_share=0.0)
    stream = make_corpus(paragraphs, seed=seed)
    documents, reused = _with_reuse(stream.documents, pre.documents, reuse_every, seed)
    print(f"corpus   {paragraphs:,} paragraphs in {len(documents):,} documents, {len(stream.planted):,} planted copies, {reused:,} paragraphs merged from two preloaded ones (seed {seed})")
    print(f"preload  {preload:,} paragraphs, no planted copies (seed {seed + 1}); made in {time.perf_counter() - start:.1f} s")
    print(f"task     keep/drop at exact Jaccard >= {threshold}, {params.bands} bands x {params.rows} rows; with containment also coverage >= {CONTAINMENT} by word 5-grams (dedup.reuse defaults)")
    print("timed    documents in memory -> decisions, every batch committed with its postings; default batch size; the compiled kernels on every core\n")
    rows: list[Row] = []
    failures: list[str] = []
    notes: list[str] = []
    sizes: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="dedup-bench-containment-") as tmp:
        work = Path(tmp)
        stream_path = work / "stream.jsonl"
        import json

        stream_path.write_text("".join(json.dumps({"id": name, "text": text}) + "\n" for name, text in documents), encoding="utf-8")
        pre_path = write_corpus(pre, work / "preload.jsonl", "jsonl")
        del pre, stream, documents
        spec: dict[str, Any] = {"suite": "containment", "threshold": threshold}
        try:
            # Bytes per paragraph, with and without postings.
            for label, postings in (("sqlite_with_postings", None), ("sqlite_without_postings", False)):
                filled = run_worker({**spec, "phase": "fill", "corpus": str(pre_path), "limit": bytes_sample, "index": str(work / label), "postings": postings})
                sizes[label] = {"paragraphs": filled["paragraphs"], "bytes": filled["bytes"], "bytes_per_paragraph": filled["bytes"] / max(filled["paragraphs"], 1)}
                shutil.rmtree(work / label, ignore_errors=True)
            redis_binary = shutil.which("redis-server")
            if redis_binary is None:
                notes.append("Redis bytes per paragraph not measured: redis-server is not installed")
            else:
                for label, postings in (("redis_with_postings", None), ("redis_without_postings", False)):
                    with RedisServer(work / label, binary=redis_binary) as server:
                        filled = run_worker({**spec, "phase": "fill", "corpus": str(pre_path), "limit": bytes_sample, "index": f"redis://127.0.0.1:{server.port}/0", "postings": postings})
                    sizes[label] = {"paragraphs": filled["paragraphs"], "bytes": filled["memory"], "bytes_per_paragraph": (filled["memory"] or 0) / max(filled["paragraphs"], 1)}
            # The preloaded index, once; each peer works on a copy.
            preloaded = work / "preloaded"
            filled = run_worker({**spec, "phase": "fill", "corpus": str(pre_path), "limit": preload, "index": str(preloaded)})
            notes.append(f"preloaded {filled['paragraphs']:,} paragraphs in {filled['seconds']:.1f} s (its own process, peak RSS {filled['peak_rss_mb']:,.0f} MB; not timed)")
            sizes["sqlite_preloaded"] = {"paragraphs": filled["paragraphs"], "bytes": filled["bytes"], "bytes_per_paragraph": filled["bytes"] / max(filled["paragraphs"], 1)}
            bare = work / "preloaded-bare"
            filled = run_worker({**spec, "phase": "fill", "corpus": str(pre_path), "limit": preload, "index": str(bare), "postings": False})
            sizes["sqlite_preloaded_without_postings"] = {"paragraphs": filled["paragraphs"], "bytes": filled["bytes"], "bytes_per_paragraph": filled["bytes"] / max(filled["paragraphs"], 1)}
            # The peers take turns, ``repeat`` times, and each keeps its fastest run: the machine
            # is shared, and a turn at a busy moment says little.
            best: dict[str, dict[str, Any]] = {}
            for _ in range(repeat):
                for key, _label in PEERS:
                    copy = work / f"index-{key}"
                    shutil.copytree(bare if key == "bare" else preloaded, copy)
                    try:
                        result = run_worker(
                            {
                                **spec,
                                "phase": "measure",
                                "corpus": str(stream_path),
                                "index": str(copy),
                                "warm": str(work / f"warm-{key}"),
                                "containment": CONTAINMENT if key == "containment" else None,
                                "postings": False if key == "bare" else None,
                            }
                        )
                    finally:
                        shutil.rmtree(copy, ignore_errors=True)
                        shutil.rmtree(work / f"warm-{key}", ignore_errors=True)
                    peak = max(result["peak_rss_mb"], best.get(key, {}).get("peak_rss_mb", 0.0))
                    if key not in best or result["seconds"] < best[key]["seconds"]:
                        best[key] = result
                    best[key]["peak_rss_mb"] = peak
            for key, label in PEERS:
                result = best[key]
                dropped = result["dropped"]
                rows.append(
                    Row.of(
                        label,
                        result["paragraphs"],
                        result["seconds"],
                        result["peak_rss_mb"],
                        key=key,
                        indexed_before=result["indexed_before"],
                        dropped_near=dropped.get("index", 0) + dropped.get("input", 0),
                        dropped_reuse=dropped.get("reuse", 0),
                        open_s=result["open_s"],
                        warm_up_s=result["warm_up_s"],
                        base_rss_mb=result["base_rss_mb"],
                        process_s=result["process_s"],
                        flushed=result["flushed"],
                        flushed_entries=result["flushed_entries"],
                    )
                )
        except (WorkerFailed, RuntimeError) as err:
            failures.append(str(err))
            print(f"FAILED: {err}")
    base = next((r for r in rows if r.extra["key"] == "jaccard"), None)
    for r in rows:
        if base is not None:
            r.ratio = r.paragraphs_per_s / base.paragraphs_per_s
    print_table(rows, "vs Jaccard only", [("indexed before", "indexed_before", ","), ("near-dup drops", "dropped_near", ","), ("reuse drops", "dropped_reuse", ","), ("process s", "process_s", ".1f")])
    print()
    print("vs Jaccard only: rate against the same filter without --containment, on a copy of the same preloaded index, in this run")
    print("                 (no postings: on an index preloaded alike but without postings, storing none)")
    print(f"each peer ran {repeat} times, taking turns, each time in a fresh process on a fresh copy of the index: its fastest run is shown")
    print("peak RSS MB: the highest of its runs, the measured process's own, warm-up and the stream in memory included")
    flushes = [f"{r.extra['key']} {r.extra['flushed']:,} paragraphs ({16 * r.extra['flushed_entries'] / 2**20:,.0f} MiB)" for r in rows]
    if flushes:
        print(f"written from the tail into segments in each timed run: {', '.join(flushes)}")
    print()
    print("index bytes per paragraph")
    for label, size in sizes.items():
        print(f"  {label:<26} {size['bytes_per_paragraph']:>10,.0f}   ({size['bytes'] or 0:,} bytes, {size['paragraphs']:,} paragraphs)")
    for kind, what in (("sqlite", "the embedded index (on disk)"), ("redis", "the Redis index (server memory)")):
        if f"{kind}_with_postings" in sizes and f"{kind}_without_postings" in sizes:
            ratio = sizes[f"{kind}_with_postings"]["bytes_per_paragraph"] / max(sizes[f"{kind}_without_postings"]["bytes_per_paragraph"], 1)
            print(f"  postings make {what} {ratio:.2f}x its size without them ({bytes_sample:,} paragraphs)")
    for note in notes:
        print(note)
    targets: dict[str, Any] = {}
    contained = next((r for r in rows if r.extra["key"] == "containment"), None)
    if contained is not None:
        targets = {"rate": contained.paragraphs_per_s, "rate_target": TARGET_RATE, "rss_mb": contained.peak_rss_mb, "rss_target_mb": TARGET_RSS_MB}
        ok_rate = "met" if contained.paragraphs_per_s >= TARGET_RATE else "NOT met"
        ok_rss = "met" if contained.peak_rss_mb < TARGET_RSS_MB else "NOT met"
        print(f"target   --containment with {preload:,} indexed: >= {TARGET_RATE:,.0f} paragraphs/s: {ok_rate} ({contained.paragraphs_per_s:,.0f}); peak RSS < {TARGET_RSS_MB:,.0f} MB: {ok_rss} ({contained.peak_rss_mb:,.0f})")
    if json_path:
        write_json(json_path, "containment", info, rows, repeat=repeat, preload=preload, bytes_sample=bytes_sample, reuse_every=reuse_every, threshold=threshold, containment=CONTAINMENT, sizes=sizes, targets=targets, failures=failures)
    return 1 if failures else 0
