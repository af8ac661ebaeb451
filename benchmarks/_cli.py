"""The ``dedup report`` CLI as a peer: one whole process, timed from outside.

This module imports nothing heavy on purpose: the worker that runs it is the CLI's parent, and
the CLI's ``ru_maxrss`` starts from its parent's peak (see :func:`benchmarks._harness.peak_rss_mb`),
so a parent holding numpy would inflate the CLI's peak RSS.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks._harness import peak_rss_mb

__all__ = ["cli_command", "cli_available", "run_cli", "run_peer"]

_PROFILE_LINE = re.compile(r"^(\w+)\s+([0-9.]+)\s+[0-9.]+%$")


def cli_command() -> list[str]:
    """How to start the ``dedup`` CLI from this interpreter's environment."""
    script = Path(sys.executable).with_name("dedup")
    if script.exists():
        return [str(script)]
    found = shutil.which("dedup")
    return [found] if found else [sys.executable, "-m", "dedup"]


def cli_available() -> str | None:
    """``None`` when ``dedup report`` can be run, else why not."""
    try:
        done = subprocess.run([*cli_command(), "report", "--help"], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"cannot start the dedup CLI: {err}"
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
        return f"`dedup report --help` exited {done.returncode}: {last[0]}"
    return None


def run_cli(directory: str, threshold: float) -> dict[str, Any]:
    """``dedup report DIRECTORY --format json --profile``, the report written to standard output
    and discarded, with the stage timings ``--profile`` prints.

    Not ``-o /dev/null``: the CLI writes an ``-o`` path through a temporary file beside it that
    is then renamed over it, which for ``/dev/null`` fails without permission to write ``/dev``
    and, with it (as root), replaces the device with a regular file."""
    command = [*cli_command(), "report", directory, "--threshold", str(threshold), "--format", "json", "--profile"]
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    timings = {}
    for line in done.stderr.splitlines():
        match = _PROFILE_LINE.match(line.strip())
        if match and match.group(1) != "total":
            timings[match.group(1)] = float(match.group(2))
    return {"seconds": seconds, "timings": timings, "peak_rss_mb": peak_rss_mb(children=True), "command": " ".join(command)}


def run_peer(spec: dict[str, Any]) -> dict[str, Any]:
    reason = cli_available()
    if reason is not None:
        return {"skipped": reason}
    return run_cli(spec["directory"], spec.get("threshold", 0.5))
