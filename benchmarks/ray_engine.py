"""``python -m benchmarks ray``: the report on the local engine against the Ray engine on one node.

For each size, the generated corpus (:mod:`benchmarks.corpus`) is written as sharded JSON Lines
(``--shards`` files; above a million paragraphs, one million-paragraph corpus per seed, seeds
``seed``, ``seed + 1``..., so planted copies stay within their million). Then, each in a fresh
process, on the same files:

- ``local``: ``dedup.pipeline.find_duplicates`` over a :class:`~dedup.documents.DocumentReader`
  of the shards (dedup's kernels on every core), the 1x baseline; run up to ``--local-max``
  paragraphs (past that it would need more memory than the machine's runs are allowed);
- ``ray``: ``dedup.ray.find_duplicates`` on a local Ray started in the process with
  ``--cpus`` CPUs (``ray.init(num_cpus=...)``, loopback, object store capped at
  ``--object-store-gb``); the time is the run's, Ray's start-up (printed apart) excluded. Up
  to ``--local-max`` paragraphs it runs ``1 + --repeat`` times in the same Ray: first with
  cold workers (each starts its process and imports dedup, pyarrow and Ray Data), then warm,
  as on a cluster that is kept up; the ratio is the best warm run's against the best of
  ``--repeat`` local runs, and the cold run is printed too. Past ``--local-max``, Ray runs
  once, cold.

Printed: seconds and paragraphs/s of each side, Ray's time against local's (target: at most
2x at a million paragraphs), whether the two reports are identical (JSON, timings aside), peak
RSS of the driver process and of each Ray worker process that ran a task (``VmHWM``, which
counts the object store's shared pages a process read), and the bytes each shuffle moved,
per paragraph.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HELP = "the report on the local engine against the Ray engine on one node: time, peak RSS of driver and workers, bytes shuffled"
TARGET_OVERHEAD = 2.0  # Ray's time at most this many times local's, at a million paragraphs
CORPUS_UNIT = 1_000_000


def _sizes(text: str) -> tuple[int, ...]:
    sizes = tuple(int(part.replace("_", "").replace(",", "")) for part in text.split("/") if part.strip())
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"sizes are whole numbers separated by '/', not {text!r}")
    return sizes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """This suite's options, for ``python -m benchmarks ray``."""
    parser.add_argument("--sizes", type=_sizes, default=(1_000_000,), help="paragraph counts separated by '/' (default 1000000; the figures in README.md: 1000000/10000000)")
    parser.add_argument("--shards", type=int, default=16, help="JSON Lines files per million paragraphs (default 16)")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray (default 2)")
    parser.add_argument("--local-max", type=int, default=1_000_000, help="run the local engine up to this many paragraphs (default 1,000,000)")
    parser.add_argument("--object-store-gb", type=float, default=3.0, help="Ray's object store, GB; it spills to disk past it (default 3)")
    parser.add_argument("--repeat", type=int, default=3, help="where both engines run: local's best of K runs, and Ray's best of K after its first (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON to PATH")


def run_args(args: argparse.Namespace) -> int:
    return run(args.sizes, args.json, args.seed, args.shards, args.cpus, args.local_max, args.object_store_gb, args.repeat)


def run(sizes: tuple[int, ...], json_path: str | None, seed: int, shards: int, cpus: int, local_max: int, object_store_gb: float, repeat: int = 3) -> int:
    from benchmarks._harness import machine, print_machine, run_worker, write_json

    info = machine()
    print_machine(info)
    print(f"conditions  threshold 0.4 (the default), word:3, num_perm 128; local: one process, kernels on {info['usable_cores']} cores; "
          f"ray: local Ray of {cpus} CPUs on this machine, object store {object_store_gb:g} GB; warm page cache (files just written)")
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="dedup-bench-ray-") as tmp:
            corpus = run_worker({"suite": "ray_engine", "peer": "corpus", "paragraphs": size, "seed": seed, "shards": shards, "dir": tmp})
            print(f"\n{size:,} paragraphs: {corpus['files']} JSON Lines files, {corpus['bytes'] / 1e6:,.0f} MB, written in {corpus['process_s']:.0f} s")
            spec = {"suite": "ray_engine", "dir": tmp, "cpus": cpus, "object_store_gb": object_store_gb}
            local = run_worker({**spec, "peer": "local", "runs": repeat}) if size <= local_max else None
            on_ray = run_worker({**spec, "peer": "ray", "runs": 1 + repeat if local is not None else 1})
            row = _row(size, local, on_ray)
            rows.append(row)
            _print_row(row)
            if local is not None and local["digest"] != on_ray["digest"]:
                failures.append(f"{size:,} paragraphs: the Ray report differs from the local one")
    if json_path:
        write_json(json_path, "ray", info, [], results=rows, failures=failures)
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


def _row(size: int, local: dict[str, Any] | None, on_ray: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"paragraphs": size, "ray": on_ray, "local": local}
    if local is not None:
        row["time_vs_local"] = on_ray["seconds"] / local["seconds"]
        row["identical"] = local["digest"] == on_ray["digest"]
        row["target_met"] = row["time_vs_local"] <= TARGET_OVERHEAD if size >= CORPUS_UNIT else None
    return row


def _print_row(row: dict[str, Any]) -> None:
    size, local, on_ray = row["paragraphs"], row["local"], row["ray"]
    print(f"  {'engine':<8} {'seconds':>9} {'paragraphs/s':>13} {'driver peak MB':>15} {'worker peak MB (max, each)':>28}")
    if local is not None:
        print(f"  {'local':<8} {local['seconds']:9.2f} {size / local['seconds']:13,.0f} {local['peak_rss_mb']:15,.0f} {'-':>28}")
    workers = sorted(on_ray["worker_peak_mb"].values(), reverse=True)
    each = ", ".join(f"{w:,.0f}" for w in workers)
    print(f"  {'ray':<8} {on_ray['seconds']:9.2f} {size / on_ray['seconds']:13,.0f} {on_ray['peak_rss_mb']:15,.0f} {max(workers, default=0):>10,.0f} ({each})")
    print(f"  ray: {on_ray['partitions']} partitions; start-up {on_ray['start_s']:.1f} s (not counted); first run, cold workers, {on_ray['cold_s']:.2f} s; stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in on_ray["timings"].items() if v >= 0.05))
    shuffled = on_ray["shuffled"]
    print("  shuffled per paragraph: " + ", ".join(f"{stage} {nbytes / size:,.0f} B" for stage, nbytes in shuffled.items()) + f"; all {sum(shuffled.values()) / size:,.0f} B")
    if local is not None:
        verdict = "" if row["target_met"] is None else (" (target <= 2x: met)" if row["target_met"] else " (target <= 2x: NOT met)")
        print(f"  ray vs local: {row['time_vs_local']:.2f}x the time{verdict}; reports identical: {'yes' if row['identical'] else 'NO'}")


def run_peer(spec: dict[str, Any]) -> dict[str, Any]:
    if spec["peer"] == "corpus":
        return _write_corpus(spec["paragraphs"], spec["seed"], spec["shards"], Path(spec["dir"]))
    if spec["peer"] == "local":
        return _local(Path(spec["dir"]), spec["runs"])
    return _ray(Path(spec["dir"]), spec["cpus"], spec["object_store_gb"], spec["runs"])


def _write_corpus(paragraphs: int, seed: int, shards: int, directory: Path) -> dict[str, Any]:
    """The corpus as JSON Lines files, a million paragraphs (one seed) at a time."""
    from benchmarks.corpus import make_corpus

    files = 0
    done = 0
    unit = 0
    while done < paragraphs:
        size = min(CORPUS_UNIT, paragraphs - done)
        corpus = make_corpus(size, seed=seed + unit)
        documents = list(corpus.iter_documents())
        per = -(-len(documents) // max(1, round(shards * size / CORPUS_UNIT)))
        for lo in range(0, len(documents), per):
            with open(directory / f"part-{files:05d}.jsonl", "w", encoding="utf-8") as out:
                for name, text in documents[lo : lo + per]:
                    out.write(json.dumps({"id": f"{unit}/{name}", "text": text}, ensure_ascii=False) + "\n")
            files += 1
        done += size
        unit += 1
        del corpus, documents
    return {"files": files, "bytes": sum(f.stat().st_size for f in directory.iterdir())}


def _digest(result: Any) -> str:
    """A hash of the JSON report, timings aside."""
    import io

    from dedup.report import write_report

    result.timings = {}
    out = io.StringIO()
    write_report(result, out, "json")
    return hashlib.sha256(out.getvalue().encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _local(directory: Path, runs: int) -> dict[str, Any]:
    from dedup.config import Config
    from dedup.documents import DocumentReader
    from dedup.pipeline import Timer, find_duplicates

    times: list[float] = []
    for _ in range(runs):
        result = None
        reader = DocumentReader([str(directory)], globs=("*.jsonl",))
        timer = Timer()
        start = time.perf_counter()
        result = find_duplicates(reader, Config(), skipped=reader.skipped, timer=timer)
        times.append(time.perf_counter() - start)
        if times[-1] == min(times):
            timings = dict(timer.seconds)
    return {"seconds": min(times), "timings": timings, "clusters": result.stats.clusters, "digest": _digest(result)}


def _ray(directory: Path, cpus: int, object_store_gb: float, runs: int) -> dict[str, Any]:
    import ray

    from dedup import ray as dray
    from dedup.config import Config
    from dedup.pipeline import Timer

    os.environ.pop("RAY_ADDRESS", None)
    start = time.perf_counter()
    ray.init(num_cpus=cpus, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False, object_store_memory=int(object_store_gb * 1e9))
    started = time.perf_counter() - start
    times: list[float] = []
    try:
        for _ in range(runs):
            result = None
            timer = Timer()
            engine = dray.EngineStats()
            start = time.perf_counter()
            result = dray.find_duplicates([str(directory)], Config(), options=dray.ReadOptions(globs=("*.jsonl",)), timer=timer, engine=engine)
            times.append(time.perf_counter() - start)
            if len(times) == 1 or times[-1] == min(times[1:]):
                timings = {k: v for k, v in timer.seconds.items() if v}
        # Only to compare with a local run: the JSON report of millions of paragraphs is large.
        digest = _digest(result) if runs > 1 else None
    finally:
        ray.shutdown()
    return {
        "seconds": min(times[1:] or times),
        "cold_s": times[0],
        "start_s": started,
        "timings": timings,
        "clusters": result.stats.clusters,
        "digest": digest,
        "shuffled": engine.shuffled,
        "partitions": engine.partitions,
        "worker_peak_mb": {str(pid): mb for pid, mb in engine.worker_peak_mb.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ray_engine", description=HELP)
    add_arguments(parser)
    return run_args(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
