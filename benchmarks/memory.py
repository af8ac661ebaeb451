"""Memory: the peak RSS of a whole ``dedup report`` process, on inputs of every shape.

Candidate pairs are what grows faster than the input: a paragraph shares LSH buckets with up to
``bands x window`` others, and some inputs fill every bucket. Each shape below is written as a
directory of ``.txt`` files (100 paragraphs each, or the prose corpus's own documents), then
``dedup report DIR --format json --profile -o FILE`` runs on it in a fresh process, at dedup's
default threshold (0.4: more bands, so more candidates, than the other suites' 0.5):

- ``prose``: the generated corpus of the other suites (:mod:`benchmarks.corpus`), 10% planted
  copies;
- ``templated``: one sentence with a varying number, ``... with id N``: every paragraph a
  near-duplicate of every other, so every bucket of every band holds nearly all of them;
- ``identical``: one paragraph, repeated;
- ``vocab12``: words drawn uniformly from a vocabulary of 12, paragraph lengths as in prose:
  short paragraphs repeat exactly, long ones share most of their word 3-grams.

The peak is ``VmHWM`` from ``/proc/PID/status`` of the ``dedup`` process, read every 10 ms while
it runs (a zombie has no memory lines, so the last reading is the last one before it exits):
the CLI's own high-water mark, whatever the process that started it holds. Stats come from the
report's ``stats``, read back from the tail of the JSON file. Target: at most 2 GiB at 1M
paragraphs, for every shape.
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

import numpy as np

from benchmarks._cli import cli_available, cli_command
from benchmarks._harness import ROOT, Row, machine, print_machine, print_table, status_mb, write_json
from benchmarks.corpus import PARAGRAPH_MAX_WORDS, PARAGRAPH_MEDIAN_WORDS, PARAGRAPH_SIGMA, make_corpus, write_corpus

__all__ = ["SHAPES", "run", "shape_documents", "measure", "TARGET_RSS_MB", "DEFAULT_PARAGRAPHS", "THRESHOLD"]

SHAPES = ("prose", "templated", "identical", "vocab12")
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
    if shape == "prose":
        return write_corpus(make_corpus(n, seed=seed), directory, "txt")
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in shape_documents(shape, n, seed):
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def measure(directory: Path, report: Path, threshold: float = THRESHOLD) -> dict[str, Any]:
    """Run ``dedup report DIRECTORY`` and watch it: wall time, peak RSS (VmHWM, MiB), the stage
    timings of ``--profile`` and the report's stats."""
    command = [*cli_command(), "report", str(directory), "--threshold", str(threshold), "--format", "json", "--profile", "-o", str(report)]
    env = dict(os.environ)
    # The dedup of this tree, as the worker of the other suites runs it.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, env=env)
        peak = 0.0
        while process.poll() is None:
            reading = status_mb("VmHWM", process.pid)
            if reading is not None:
                peak = max(peak, reading)
            time.sleep(POLL_S)
        seconds = time.perf_counter() - start
        stderr.seek(0)
        errors = stderr.read()
    if process.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}: {errors.strip()[-2000:]}")
    timings = {}
    for line in errors.splitlines():
        match = _PROFILE_LINE.match(line.strip())
        if match and match.group(1) != "total":
            timings[match.group(1)] = float(match.group(2))
    return {"seconds": seconds, "peak_rss_mb": peak, "timings": timings, "stats": report_stats(report), "command": " ".join(command)}


def report_stats(path: Path) -> dict[str, Any]:
    """The ``stats`` of a JSON report, read from the file's tail: the clusters before it may be
    gigabytes. ``dedup.report.write_json`` puts it on one line of its own, after the clusters."""
    size = path.stat().st_size
    with path.open("rb") as f:
        f.seek(max(0, size - (64 << 20)))
        tail = f.read().decode("utf-8", errors="replace")
    at = tail.rfind('\n  "stats": ')
    if at < 0:
        return {}
    stats, _ = json.JSONDecoder().raw_decode(tail, at + len('\n  "stats": '))
    stats.pop("per_document", None)
    return stats


def run(paragraphs: int = DEFAULT_PARAGRAPHS, json_path: str | None = None, seed: int = 0, shapes: tuple[str, ...] = SHAPES, threshold: float = THRESHOLD) -> int:
    """Run the memory suite and print its table; returns the exit status."""
    info = machine()
    print_machine(info)
    print(f"task     dedup report DIR --threshold {threshold} --format json -o FILE, word:3, 128 permutations; {paragraphs:,} paragraphs per shape\n")
    reason = cli_available()
    if reason is not None:
        print(f"skipping every shape: {reason}")
        if json_path:
            write_json(json_path, "memory", info, [], skipped=reason, targets={}, failures=[])
        return 0
    rows: list[Row] = []
    failures: list[str] = []
    for shape in shapes:
        with tempfile.TemporaryDirectory(prefix="dedup-memory-") as tmp:
            start = time.perf_counter()
            directory = write_shape(shape, paragraphs, Path(tmp) / "docs", seed)
            made = time.perf_counter() - start
            try:
                result = measure(directory, Path(tmp) / "report.json", threshold)
            except RuntimeError as err:
                failures.append(f"{shape}: {err}")
                print(f"FAILED {shape}: {err}", flush=True)
                continue
        stats = result["stats"]
        if stats.get("paragraphs") != paragraphs:
            failures.append(f"{shape}: the report counts {stats.get('paragraphs')} paragraphs, expected {paragraphs:,}")
        under = result["peak_rss_mb"] <= TARGET_RSS_MB
        extra = {
            "key": shape,
            "under_bound": under,
            "bound": "yes" if under else "NO",
            "timings": result["timings"],
            "made_s": made,
            "command": result["command"],
            **{k: stats.get(k) for k in ("candidate_pairs", "verified_pairs", "clusters", "duplicate_paragraphs")},
        }
        row = Row.of(shape, paragraphs, result["seconds"], result["peak_rss_mb"], **extra)
        row.ratio = result["peak_rss_mb"] / TARGET_RSS_MB
        rows.append(row)
        print(f"{shape:<10} {paragraphs:>10,} paragraphs: {result['peak_rss_mb']:,.0f} MB peak RSS, {result['seconds']:.1f} s (corpus made in {made:.1f} s)", flush=True)
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
