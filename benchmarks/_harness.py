"""What every suite shares: the machine banner, running one peer in a fresh subprocess, the
table, and the JSON file.

Each peer runs in its own ``python -m benchmarks._worker`` process, so its peak RSS
(``ru_maxrss``) is its own and one peer's caches and garbage cannot slow the next.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "Row",
    "machine",
    "print_machine",
    "run_worker",
    "WorkerFailed",
    "time_best",
    "peak_rss_mb",
    "print_table",
    "write_json",
    "DEFAULT_THRESHOLD",
    "ONE_THREAD",
    "thread_cpu_ticks",
    "time_best_cpu",
]

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Row:
    """One line of a suite's table. The first five fields are the JSON contract."""

    name: str
    paragraphs: int
    seconds: float
    paragraphs_per_s: float
    peak_rss_mb: float
    shingles_per_s: float = 0.0
    ratio: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, name: str, paragraphs: int, seconds: float, peak_rss_mb: float, shingles: int = 0, **extra: Any) -> Row:
        """A row; with ``cpu_s`` in ``extra`` it also gets ``cpu_per_wall``."""
        rate = paragraphs / seconds if seconds > 0 else float("inf")
        srate = shingles / seconds if seconds > 0 else float("inf")
        if extra.get("cpu_s") is not None and seconds > 0:
            extra["cpu_per_wall"] = extra["cpu_s"] / seconds
        return cls(name, paragraphs, seconds, rate, peak_rss_mb, srate, None, dict(extra))

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        extra = out.pop("extra")
        out.update(extra)
        return out


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float:
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return float("nan")


# The task every suite measures: MinHash over word 3-grams with 128 permutations and seed 1,
# and, where pairs are decided, exact Jaccard at or above DEFAULT_THRESHOLD.
NUM_PERM = 128
SEED = 1
# dedup's own default (dedup.config.DEFAULT_THRESHOLD): the report, filter and scaling suites
# run every peer at it, since a lower threshold means more candidates for every side.
DEFAULT_THRESHOLD = 0.4
# The threshold the suites used before they ran at dedup's default.
THRESHOLD = 0.5
# The environment under which dedup's kernels use one thread (dedup reads DEDUP_THREADS when
# its kernels load); each suite runs dedup this way too, beside its default of every usable core.
ONE_THREAD = {"DEDUP_THREADS": "1"}


def _compiler() -> str:
    """The C compiler this Python builds extensions with (so the one that built dedup's kernels)."""
    import sysconfig

    command = (sysconfig.get_config_var("CC") or "cc").split()[0]
    try:
        out = subprocess.run([command, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return command
    return out.splitlines()[0] if out else command


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, Any]:
    """The machine and the versions that matter for these numbers."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 1
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "ram_gib": round(_ram_gib(), 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "compiler": _compiler(),
        "datasketch": _version("datasketch"),
        "rensa": _version("rensa"),
        "dedup": _version("dedup"),
    }


def print_machine(info: dict[str, Any]) -> None:
    print(f"machine  {info['cpu']}, {info['cores']} cores ({info['usable_cores']} usable), {info['ram_gib']} GiB RAM, load {info['load_average']}")
    print(
        f"versions Python {info['python']}, numpy {info['numpy']}, kernels built by {info['compiler']}, "
        f"datasketch {info['datasketch']}, rensa {info['rensa']}, dedup {info['dedup']}"
    )


class WorkerFailed(RuntimeError):
    pass


def run_worker(spec: dict[str, Any], env: dict[str, str] | None = None, timeout: float | None = None) -> dict[str, Any]:
    """Run one peer in a fresh interpreter; return its JSON result plus ``process_s``, the wall
    time of the whole process (start-up, imports and loading the corpus included)."""
    command = [sys.executable, "-m", "benchmarks._worker", json.dumps(spec)]
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), full_env.get("PYTHONPATH", "")]))
    if env:
        full_env.update(env)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=full_env, cwd=ROOT, timeout=timeout)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise WorkerFailed(f"{spec.get('peer')}: worker exited {done.returncode}\n{done.stderr.strip()[-3000:]}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise WorkerFailed(f"{spec.get('peer')}: worker printed no result\n{done.stderr.strip()[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    result["process_s"] = wall
    return result


def time_best(fn: Callable[[], Any], repeat: int, budget_s: float = 30.0) -> tuple[float, list[float], Any]:
    """Call ``fn`` up to ``repeat`` times and return ``(best seconds, all seconds, last output)``.
    Later calls are skipped once ``budget_s`` is spent, so one slow peer cannot eat the run."""
    times: list[float] = []
    output: Any = None
    spent = 0.0
    for _ in range(max(1, repeat)):
        if times and spent >= budget_s:
            break
        output = None  # free the previous output before the next call
        start = time.perf_counter()
        output = fn()
        elapsed = time.perf_counter() - start
        times.append(elapsed)
        spent += elapsed
    return min(times), times, output


def thread_cpu_ticks() -> dict[int, int]:
    """CPU time (user + system, in clock ticks) of each thread of this process, by thread id
    (``/proc/self/task/*/stat``); empty where there is no such directory."""
    ticks: dict[int, int] = {}
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return ticks
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended
        ticks[int(tid)] = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks


def time_best_cpu(fn: Callable[[], Any], repeat: int, budget_s: float = 30.0) -> tuple[float, list[float], Any, dict[str, Any]]:
    """:func:`time_best`, plus how much of the machine the calls used: ``{"cpu_s": CPU seconds
    of every thread of this process during the best call, "threads": how many threads were
    busy during a call (CPU time of at least a tenth of its wall time, and two clock ticks: a
    pool that a library starts and leaves idle is not counted)}``, or ``threads`` ``None``
    where threads cannot be seen. CPU seconds over wall seconds near 1 is one core busy; near
    the core count, all of them."""
    cpu: list[float] = []
    busy: set[int] = set()
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def measured() -> Any:
        ticks = thread_cpu_ticks()
        wall = time.perf_counter()
        start = time.process_time()
        output = fn()
        cpu.append(time.process_time() - start)
        least = max(2, 0.1 * (time.perf_counter() - wall) * tick)
        busy.update(tid for tid, t in thread_cpu_ticks().items() if t - ticks.get(tid, 0) >= least)
        return output

    best, times, output = time_best(measured, repeat, budget_s)
    return best, times, output, {"cpu_s": cpu[times.index(best)], "threads": len(busy) if os.path.isdir("/proc/self/task") else None}


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident set size of this process (or of its finished children), in MiB.

    For this process it is ``VmHWM``, the high-water mark of its own address space. Not
    ``ru_maxrss``: Linux carries that over ``exec`` from the address space being replaced,
    which under ``vfork`` (what ``subprocess`` uses) is the parent's, so every worker would
    report at least the harness's own peak. For children it is ``ru_maxrss``, so the process
    that starts them must stay small (see :mod:`benchmarks._cli`)."""
    if not children:
        own = status_mb("VmHWM")
        if own is not None:
            return own
    usage = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return usage.ru_maxrss / scale


def current_rss_mb() -> float:
    current = status_mb("VmRSS")
    return float("nan") if current is None else current


def status_mb(field: str, pid: int | str = "self") -> float | None:
    """A memory line of ``/proc/PID/status`` (``VmHWM``, ``VmRSS``: in kB) in MiB; ``None``
    where there is no such file (not Linux, or the process is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _fmt(value: Any, spec: str) -> str:
    if value is None:
        return "-"
    if spec == "s":
        return str(value)
    if isinstance(value, float) and value != value:
        return "-"
    return format(value, spec)


def print_table(rows: Sequence[Row], ratio_label: str, extra_columns: Sequence[tuple[str, str, str]] = ()) -> None:
    """Print ``rows`` as a fixed-width table. ``extra_columns`` are ``(header, key in
    row.extra, format spec)``."""
    # The threads each side ran on, and how busy they kept the machine, whenever the suite
    # recorded them: a ratio between one core and several means little without them.
    sides: list[tuple[str, str, str]] = []
    if any("threads" in r.extra for r in rows):
        sides.append(("threads", "threads", "s"))
    if any("cpu_per_wall" in r.extra for r in rows):
        sides.append(("CPU/wall", "cpu_per_wall", ".2f"))
    extra_columns = [*sides, *extra_columns]
    headers = ["name", "paragraphs", "seconds", "paragraphs/s", "shingles/s", ratio_label, "peak RSS MB"]
    headers += [h for h, _, _ in extra_columns]
    table = []
    for r in rows:
        cells = [
            r.name,
            f"{r.paragraphs:,}",
            f"{r.seconds:.3f}",
            f"{r.paragraphs_per_s:,.0f}",
            f"{r.shingles_per_s:,.0f}" if r.shingles_per_s else "-",
            f"{r.ratio:,.1f}x" if r.ratio is not None else "-",
            f"{r.peak_rss_mb:,.0f}",
        ]
        cells += [_fmt(r.extra.get(key), spec) for _, key, spec in extra_columns]
        table.append(cells)
    widths = [max(len(h), *(len(c[k]) for c in table)) if table else len(h) for k, h in enumerate(headers)]
    print("  ".join(h.ljust(w) if k == 0 else h.rjust(w) for k, (h, w) in enumerate(zip(headers, widths))))
    for cells in table:
        print("  ".join(c.ljust(w) if k == 0 else c.rjust(w) for k, (c, w) in enumerate(zip(cells, widths))))


def write_json(path: str | os.PathLike[str], suite: str, info: dict[str, Any], rows: Sequence[Row], **fields: Any) -> None:
    """``{"suite", "machine", "rows": [{"name", "paragraphs", "seconds", "paragraphs_per_s",
    "peak_rss_mb", ...}], ...fields}``."""
    document = {"suite": suite, "machine": info, "rows": [r.as_json() for r in rows], **fields}
    Path(path).write_text(json.dumps(document, indent=2, default=_jsonable) + "\n", encoding="utf-8")


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
