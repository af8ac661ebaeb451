"""``python -m benchmarks ray``: ``dedup report`` on the local engine against the Ray engine."""

from __future__ import annotations

import argparse

HELP = "the report on the local engine against the Ray engine on one node: time, peak RSS of driver and workers, bytes shuffled"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """This suite's options, for ``python -m benchmarks ray``."""
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON to PATH")


def run_args(args: argparse.Namespace) -> int:
    raise SystemExit("ray: not available yet")
