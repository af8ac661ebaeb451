"""Scaling: ``dedup report`` on corpora of growing size, time per paragraph at each.

At every size (``--sizes``, default 10k, 100k, 1M) the corpus generator makes a fresh corpus with
the same shape, and two fresh processes run on it:

- ``dedup report (CLI)``: the whole process on a directory of ``.txt`` files, ``--profile`` on,
  the report written to standard output and discarded. Its wall time and peak RSS are the ones
  the targets speak of.
- ``dedup find_duplicates``: the library call on the documents in memory, with its per-stage
  timings (``Result.timings``), for where the time goes.
- ``dedup report (CLI), 1 thread``: the CLI again under ``DEDUP_THREADS=1``; the rows above use
  every usable core (``DEDUP_THREADS`` unset, dedup's default). The table says which.

Threshold 0.4, dedup's default.

Targets: 10x the paragraphs costs at most 11x the time; 1M paragraphs in at most 20 s wall and
2 GiB peak RSS.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._harness import DEFAULT_THRESHOLD, ONE_THREAD, Row, WorkerFailed, machine, print_machine, print_table, run_worker, write_json
from benchmarks.corpus import make_corpus, write_corpus
from benchmarks._cli import cli_available

__all__ = ["run", "DEFAULT_SIZES", "TARGET_GROWTH", "TARGET_1M_SECONDS", "TARGET_1M_RSS_MB"]

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
TARGET_GROWTH = 1.1  # time may grow at most 1.1x as fast as the paragraphs (10x -> 11x)
TARGET_1M_SECONDS = 20.0
TARGET_1M_RSS_MB = 2048.0


def run(sizes: tuple[int, ...] = DEFAULT_SIZES, json_path: str | None = None, seed: int = 0, library: bool = True, threshold: float = DEFAULT_THRESHOLD) -> int:
    info = machine()
    print_machine(info)
    print(f"task     dedup report at threshold {threshold}, word:3, 128 permutations; sizes {', '.join(f'{n:,}' for n in sizes)}\n")
    reason = cli_available()
    if reason is not None:
        print(f"skipping the CLI runs: {reason}")
    rows: list[Row] = []
    stages: dict[str, dict[str, dict[str, float]]] = {}
    failures: list[str] = []
    for n in sizes:
        start = time.perf_counter()
        corpus = make_corpus(n, seed=seed)
        made = time.perf_counter() - start
        with tempfile.TemporaryDirectory(prefix="dedup-scale-") as tmp:
            directory = write_corpus(corpus, Path(tmp) / "docs", "txt")
            corpus_path = write_corpus(corpus, Path(tmp) / "corpus.jsonl", "jsonl") if library else None
            documents = len(corpus.names)
            del corpus
            print(f"{n:>10,} paragraphs in {documents:,} documents (made in {made:.1f} s)", flush=True)
            peers: list[tuple[str, str, dict[str, Any], dict[str, str] | None]] = []
            if reason is None:
                peers.append(("dedup report (CLI)", "dedup_cli", {"directory": str(directory)}, None))
            if library:
                peers.append(("dedup find_duplicates", "dedup_library", {"corpus": str(corpus_path)}, None))
            if reason is None:
                peers.append(("dedup report (CLI), 1 thread", "dedup_cli", {"directory": str(directory)}, ONE_THREAD))
            for label, key, paths, env in peers:
                spec = {"suite": "_cli" if key == "dedup_cli" else "report", "peer": key, "threshold": threshold, "repeat": 1, **paths}
                try:
                    result = run_worker(spec, env=env)
                except WorkerFailed as err:
                    failures.append(str(err))
                    print(f"FAILED {label} at {n:,}: {err}")
                    continue
                extra = {"key": key if env is None else f"{key}_one_thread", "size": n, "timings": result.get("timings", {}), "process_s": result["process_s"]}
                # dedup's kernels take every usable core unless DEDUP_THREADS says otherwise
                extra["threads"] = 1 if env else result.get("threads", info["usable_cores"])
                if "cpu_s" in result:
                    extra["cpu_s"] = result["cpu_s"]
                rows.append(Row.of(label, n, result["seconds"], result["peak_rss_mb"], **extra))
                stages.setdefault(label, {})[f"{n}"] = result.get("timings", {})

    # Growth against the previous size of the same peer.
    previous: dict[str, Row] = {}
    first: dict[str, Row] = {}
    for r in rows:
        r.extra["us_per_paragraph"] = 1e6 * r.seconds / r.paragraphs
        # ratio: cost per paragraph against the smallest size (1.0 is perfectly linear)
        base = first.setdefault(r.name, r)
        r.ratio = (r.seconds / r.paragraphs) / (base.seconds / base.paragraphs)
        before = previous.get(r.name)
        if before is not None:
            r.extra["size_ratio"] = r.paragraphs / before.paragraphs
            r.extra["time_ratio"] = r.seconds / before.seconds
        previous[r.name] = r
    print()
    print_table(
        rows,
        "cost/para vs first",
        [("us/paragraph", "us_per_paragraph", ",.1f"), ("x paragraphs", "size_ratio", ".0f"), ("x time", "time_ratio", ".2f")],
    )
    print()
    _print_stages(stages)
    targets = _targets(rows)
    for line in targets["lines"]:
        print(line)
    if json_path:
        write_json(json_path, "scaling", info, rows, stages=stages, targets=targets["values"], failures=failures)
    return 1 if failures else 0


def _print_stages(stages: dict[str, dict[str, dict[str, float]]]) -> None:
    for label, by_size in stages.items():
        if not any(by_size.values()):
            continue
        names = list(dict.fromkeys(stage for timings in by_size.values() for stage in timings))
        print(f"{label}: seconds per stage (share of the stages' total)")
        header = "stage".ljust(10) + "".join(f"{int(size):>22,}" for size in by_size)
        print(header)
        for stage in names:
            cells = []
            for timings in by_size.values():
                total = sum(timings.values()) or 1.0
                seconds = timings.get(stage, 0.0)
                cells.append(f"{seconds:>12.3f} ({100 * seconds / total:4.1f}%)")
            print(stage.ljust(10) + "".join(f"{c:>22}" for c in cells))
        print("total".ljust(10) + "".join(f"{sum(t.values()):>12.3f}{'':10}" for t in by_size.values()))
        print()


def _targets(rows: list[Row]) -> dict[str, Any]:
    lines: list[str] = []
    values: dict[str, Any] = {}
    for r in rows:
        if "time_ratio" in r.extra:
            allowed = TARGET_GROWTH * r.extra["size_ratio"]
            ok = r.extra["time_ratio"] <= allowed
            values[f"{r.extra['key']}_growth_{r.paragraphs}"] = r.extra["time_ratio"]
            lines.append(
                f"target   {r.name}: {r.extra['size_ratio']:.0f}x paragraphs to {r.paragraphs:,} took {r.extra['time_ratio']:.2f}x time "
                f"(target <= {allowed:.1f}x): {'met' if ok else 'NOT met'}"
            )
        if r.paragraphs == 1_000_000 and r.extra.get("key") == "dedup_cli":
            values["cli_1m_seconds"] = r.seconds
            values["cli_1m_peak_rss_mb"] = r.peak_rss_mb
            ok_t = r.seconds <= TARGET_1M_SECONDS
            ok_m = r.peak_rss_mb <= TARGET_1M_RSS_MB
            lines.append(f"target   1M paragraphs: {r.seconds:.1f} s wall (target <= {TARGET_1M_SECONDS:.0f} s): {'met' if ok_t else 'NOT met'}")
            lines.append(f"target   1M paragraphs: {r.peak_rss_mb:,.0f} MB peak RSS (target <= {TARGET_1M_RSS_MB:,.0f} MB): {'met' if ok_m else 'NOT met'}")
    return {"lines": lines, "values": values}
