"""Memory: the peak RSS of a whole ``dedup report`` process, on inputs of every shape.

Candidate pairs are what grows faster than the input: a paragraph shares LSH buckets with up to
``bands x window`` others, and some inputs fill every bucket. Each shape below is written as a
directory of ``.txt`` files (100 paragraphs each, or the prose corpus's own documents), then
``dedup report DIR --format json --profile -o FILE`` runs on it in a fresh process, at dedup's
default threshold (0.4, as in the other suites):

- ``prose``: the generated corpus of the other suites (:mod:`benchmarks.corpus`), 10% planted
  copies;
- ``templated``: one sentence with a varying number, ``... with id N``: every paragraph a
  near-duplicate of every other, so every bucket of every band holds nearly all of them;
- ``identical``: one paragraph, repeated;
- ``vocab12``: words drawn uniformly from a vocabulary of 12, paragraph lengths as in prose:
  short paragraphs repeat exactly, long ones share most of their word 3-grams.

The peak is the ``dedup`` process's own. While it runs, its ``VmHWM`` is read from
``/proc/PID/status`` every 10 ms; that misses a peak in its last milliseconds (writing the
report is one), so when it ends its ``ru_maxrss`` is taken too, from ``wait4``, and the larger
of the two counts. ``ru_maxrss`` starts from the high-water mark of the process that started
it (see :func:`benchmarks._harness.peak_rss_mb`), so this suite's own process stays small: the
corpora are written by a worker process, and the JSON rows give the suite's own peak beside
(``launcher_rss_mb``). Stats come from the report's ``stats``, read back from the tail of the
JSON file. Target: at most 2 GiB at 1M paragraphs, for every shape.

Every shape runs with dedup's kernels on every usable core (``DEDUP_THREADS`` unset, its
default); ``prose`` runs again on one (``DEDUP_THREADS=1``). The table gives each run's threads
and its CPU seconds per wall second (from ``wait4``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Nothing heavy at import: the suite's process must stay small (see the module docstring);
# numpy and the corpus generator are imported where the corpora are written, in a worker.
from benchmarks._cli import cli_available, cli_command
from benchmarks._harness import ONE_THREAD, ROOT, Row, WorkerFailed, machine, print_machine, print_table, run_worker, status_mb, write_json

__all__ = ["SHAPES", "run", "run_peer", "shape_documents", "write_shape", "measure", "TARGET_RSS_MB", "DEFAULT_PARAGRAPHS", "THRESHOLD"]

SHAPES = ("prose", "templated", "identical", "vocab12", "filter-one-document")
# The shape run through ``dedup filter`` rather than ``dedup report``: every templated paragraph
# in one JSON Lines document, which the filter must commit whole, against a fresh index.
FILTER_SHAPE = "filter-one-document"
DEFAULT_PARAGRAPHS = 1_000_000
TARGET_RSS_MB = 2048.0
THRESHOLD = 0.4  # dedup report's default
PER_DOCUMENT = 100  # paragraphs per file, for the shapes that are not prose
POLL_S = 0.01

TEMPLATE = "The committee approved the annual maintenance budget for the northern regional office with id {}."
VOCAB12 = "river stone light house green walk under over quiet bell paper north".split()
IDENTICAL = "Please use Chrome browser for a more accessible video player, or update the one you have."

_PROFILE_LINE = re.compile(r"^(\w+)\s+([0-9.]+)\s+[0-9.]+%$")


def _paragraphs(shape: str, n: int, seed: int) -> Iterator[str]:
    """The paragraphs of a shape other than prose."""
    if shape == "templated":
        return (TEMPLATE.format(k) for k in range(n))
    if shape == "identical":
        return (IDENTICAL for _ in range(n))
    if shape == "vocab12":
        import numpy as np

        from benchmarks.corpus import PARAGRAPH_MAX_WORDS, PARAGRAPH_MEDIAN_WORDS, PARAGRAPH_SIGMA

        rng = np.random.default_rng(seed)
        lengths = np.clip(np.rint(rng.lognormal(np.log(PARAGRAPH_MEDIAN_WORDS), PARAGRAPH_SIGMA, n)), 1, PARAGRAPH_MAX_WORDS).astype(np.int64)
        words = rng.integers(len(VOCAB12), size=int(lengths.sum()))
        offsets = np.concatenate([[0], np.cumsum(lengths)]).tolist()
        return (" ".join(VOCAB12[w] for w in words[offsets[k] : offsets[k + 1]].tolist()) for k in range(n))
    raise ValueError(f"shapes are {', '.join(SHAPES)}, not {shape!r}")


def shape_documents(shape: str, n: int, seed: int = 0) -> Iterator[tuple[str, str]]:
    """``(name, text)`` of the documents of ``shape`` with ``n`` paragraphs, paragraphs separated
    by a blank line.

    >>> [text.count("with id") for _, text in shape_documents("templated", 250)]
    [100, 100, 50]
    >>> docs = list(shape_documents("vocab12", 300, seed=1))
    >>> sum(text.count("\\n\\n") + 1 for _, text in docs), set(" ".join(t for _, t in docs).split()) <= set(VOCAB12)
    (300, True)
    """
    if shape == "prose":
        from benchmarks.corpus import make_corpus

        yield from make_corpus(n, seed=seed).iter_documents()
        return
    batch: list[str] = []
    number = 0
    for paragraph in _paragraphs(shape, n, seed):
        batch.append(paragraph)
        if len(batch) == PER_DOCUMENT:
            yield f"doc{number:06d}.txt", "\n\n".join(batch) + "\n"
            batch, number = [], number + 1
    if batch:
        yield f"doc{number:06d}.txt", "\n\n".join(batch) + "\n"


def write_shape(shape: str, n: int, directory: Path, seed: int = 0) -> Path:
    """Write the documents of ``shape`` as ``.txt`` files in ``directory``."""
    if shape == "prose":
        from benchmarks.corpus import make_corpus, write_corpus

        return write_corpus(make_corpus(n, seed=seed), directory, "txt")
    directory.mkdir(parents=True, exist_ok=True)
    if shape == FILTER_SHAPE:
        text = "\n\n".join(_paragraphs("templated", n, seed))
        (directory / "one.jsonl").write_text(json.dumps({"id": "one", "text": text}) + "\n", encoding="utf-8")
        return directory
    for name, text in shape_documents(shape, n, seed):
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def run_peer(spec: dict[str, Any]) -> dict[str, Any]:
    """In a worker: write one shape's corpus (so this suite's process never holds it)."""
    start = time.perf_counter()
    write_shape(spec["shape"], spec["paragraphs"], Path(spec["directory"]), spec["seed"])
    return {"seconds": time.perf_counter() - start}


def measure(directory: Path, report: Path, threshold: float = THRESHOLD, filter_index: Path | None = None, extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``dedup report DIRECTORY`` (with ``filter_index``: ``dedup filter`` of the JSON Lines
    in it into that index), under ``extra_env`` too, and watch it: wall time, CPU seconds, peak
    RSS in MiB (the larger of its ``VmHWM``, read every 10 ms, and its ``ru_maxrss``), the stage
    timings of ``--profile`` and the report's stats (the filter's paragraphs read, from its
    summary)."""
    if filter_index is None:
        command = [*cli_command(), "report", str(directory), "--threshold", str(threshold), "--format", "json", "--profile", "-o", str(report)]
    else:
        command = [*cli_command(), "filter", "--index", str(filter_index), "--threshold", str(threshold), *map(str, sorted(directory.glob("*.jsonl"))), "-o", os.devnull]
    env = dict(os.environ)
    # The dedup of this tree, as the worker of the other suites runs it.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    env.update(extra_env or {})
    launcher = status_mb("VmHWM")
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, env=env)
        polled = 0.0
        while True:
            # wait4 rather than Popen.poll: it also gives the child's resource usage.
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            reading = status_mb("VmHWM", process.pid)
            if reading is not None:
                polled = max(polled, reading)
            time.sleep(POLL_S)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        errors = stderr.read()
    if process.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}: {errors.strip()[-2000:]}")
    timings = {}
    for line in errors.splitlines():
        match = _PROFILE_LINE.match(line.strip())
        if match and match.group(1) != "total":
            timings[match.group(1)] = float(match.group(2))
    maxrss = usage.ru_maxrss / 1024  # KiB on Linux
    if filter_index is not None:
        read = re.search(r"paragraphs\s+([0-9,]+) read", errors)
        stats = {"paragraphs": int(read.group(1).replace(",", "")) if read else None}
    else:
        stats = report_stats(report)
    return {
        "seconds": seconds,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": max(polled, maxrss),
        "vmhwm_polled_mb": polled,
        "maxrss_mb": maxrss,
        "launcher_rss_mb": launcher,
        "timings": timings,
        "stats": stats,
        "command": " ".join(command),
    }


def report_stats(path: Path) -> dict[str, Any]:
    """The ``stats`` of a JSON report, read from the file's tail: the clusters before it may be
    gigabytes. ``dedup.report.write_json`` puts it on a line of its own after the clusters, so
    the tail is read in growing pieces until that line's start is in it."""
    marker = b'\n  "stats": '
    size = path.stat().st_size
    piece = 1 << 20
    with path.open("rb") as f:
        while True:
            start = max(0, size - piece)
            f.seek(start)
            tail = f.read()
            at = tail.rfind(marker)
            if at >= 0 or start == 0:
                break
            piece *= 4
    if at < 0:
        return {}
    stats, _ = json.JSONDecoder().raw_decode(tail[at + len(marker) :].decode("utf-8"))
    stats.pop("per_document", None)
    return stats


def run(paragraphs: int = DEFAULT_PARAGRAPHS, json_path: str | None = None, seed: int = 0, shapes: tuple[str, ...] = SHAPES, threshold: float = THRESHOLD) -> int:
    """Run the memory suite and print its table; returns the exit status."""
    info = machine()
    print_machine(info)
    print(f"task     dedup report DIR --threshold {threshold} --format json -o FILE, word:3, 128 permutations; {paragraphs:,} paragraphs per shape")
    print(f"         {FILTER_SHAPE}: dedup filter --index NEW FILE.jsonl, one document of the templated paragraphs, default --batch-size\n")
    reason = cli_available()
    if reason is not None:
        print(f"skipping every shape: {reason}")
        if json_path:
            write_json(json_path, "memory", info, [], skipped=reason, targets={}, failures=[])
        return 0
    rows: list[Row] = []
    failures: list[str] = []
    runs: list[tuple[str, dict[str, str] | None]] = [(shape, None) for shape in shapes]
    if "prose" in shapes:
        runs.append(("prose", ONE_THREAD))
    for shape, env in runs:
        name = shape if env is None else f"{shape}, 1 thread"
        with tempfile.TemporaryDirectory(prefix="dedup-memory-") as tmp:
            directory = Path(tmp) / "docs"
            try:
                made = run_worker({"suite": "memory", "peer": "write", "shape": shape, "paragraphs": paragraphs, "seed": seed, "directory": str(directory)})["seconds"]
                result = measure(directory, Path(tmp) / "report.json", threshold, Path(tmp) / "idx" if shape == FILTER_SHAPE else None, env)
            except (WorkerFailed, RuntimeError) as err:
                failures.append(f"{name}: {err}")
                print(f"FAILED {name}: {err}", flush=True)
                continue
        stats = result["stats"]
        if stats.get("paragraphs") != paragraphs:
            failures.append(f"{shape}: the report counts {stats.get('paragraphs')} paragraphs, expected {paragraphs:,}")
        under = result["peak_rss_mb"] <= TARGET_RSS_MB
        extra = {
            "key": shape if env is None else f"{shape}_one_thread",
            "threads": 1 if env else info["usable_cores"],  # dedup's kernels take every usable core by default
            "cpu_s": result["cpu_s"],
            "under_bound": under,
            "bound": "yes" if under else "NO",
            "timings": result["timings"],
            "vmhwm_polled_mb": result["vmhwm_polled_mb"],
            "maxrss_mb": result["maxrss_mb"],
            "launcher_rss_mb": result["launcher_rss_mb"],
            "made_s": made,
            "command": result["command"],
            **{k: stats.get(k) for k in ("candidate_pairs", "verified_pairs", "clusters", "duplicate_paragraphs")},
        }
        row = Row.of(name, paragraphs, result["seconds"], result["peak_rss_mb"], **extra)
        row.ratio = result["peak_rss_mb"] / TARGET_RSS_MB
        rows.append(row)
        print(f"{name:<10} {paragraphs:>10,} paragraphs: {result['peak_rss_mb']:,.0f} MB peak RSS, {result['seconds']:.1f} s (corpus made in {made:.1f} s)", flush=True)
    print()
    print_table(
        rows,
        "RSS / 2 GiB",
        [
            ("<= 2 GiB", "bound", ""),
            ("candidate pairs", "candidate_pairs", ","),
            ("verified pairs", "verified_pairs", ","),
            ("clusters", "clusters", ","),
        ],
    )
    print()
    for r in rows:
        parts = ", ".join(f"{stage} {seconds:.2f}" for stage, seconds in r.extra["timings"].items() if seconds > 0)
        print(f"{r.name} stages (s): {parts}")
    values = {f"{r.name}_peak_rss_mb": r.peak_rss_mb for r in rows}
    met = all(r.extra["under_bound"] for r in rows)
    print(f"target   peak RSS <= {TARGET_RSS_MB:,.0f} MB for every shape at {paragraphs:,} paragraphs: {'met' if met else 'NOT met'}")
    if json_path:
        write_json(json_path, "memory", info, rows, threshold=threshold, targets=values, failures=failures)
    return 1 if failures else 0
