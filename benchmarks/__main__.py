"""``python -m benchmarks {hashing,report,scaling,filter,memory,reuse,ray,containment,storage} [options]``; see ``benchmarks/README.md``."""

from __future__ import annotations

import argparse
import sys


def _positive(text: str) -> int:
    value = int(text.replace("_", "").replace(",", ""))
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text!r}")
    return value


def _non_negative(text: str) -> int:
    value = int(text.replace("_", "").replace(",", ""))
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, not {text!r}")
    return value


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(_positive(part) for part in text.split(",") if part.strip())
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"sizes must be whole numbers separated by commas, not {text!r}") from err
    if not sizes:
        raise argparse.ArgumentTypeError("give at least one size")
    return sizes


# The filter suite's peers (benchmarks.filter.PEERS), named here so that --help needs no import.
_PEER_KEYS = ("datasketch_memory", "datasketch_redis", "dedup_sqlite", "dedup_redis")


def _peers(text: str) -> tuple[str, ...]:
    peers = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [p for p in peers if p not in _PEER_KEYS]
    if unknown or not peers:
        raise argparse.ArgumentTypeError(f"peers are {', '.join(_PEER_KEYS)}, not {text!r}")
    return peers


# The memory suite's input shapes (benchmarks.memory.SHAPES), named here so that --help needs no import.
_SHAPES = ("prose", "templated", "identical", "vocab12", "filter-one-document")


def _shapes(text: str) -> tuple[str, ...]:
    shapes = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [s for s in shapes if s not in _SHAPES]
    if unknown or not shapes:
        raise argparse.ArgumentTypeError(f"shapes are {', '.join(_SHAPES)}, not {text!r}")
    return shapes


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m benchmarks", description="dedup against its peers, in the same run; each peer in a fresh process.")
    suites = root.add_subparsers(dest="suite", required=True, metavar="{hashing,report,scaling,filter,memory,reuse,ray,containment,storage}")

    hashing = suites.add_parser("hashing", help="paragraph text -> MinHash signature matrix")
    hashing.add_argument("--paragraphs", type=_positive, default=60_000, help="corpus size (default 60,000)")
    hashing.add_argument("--repeat", type=_positive, default=3, help="best of K runs per peer, fewer once a peer has spent --budget (default 3)")
    hashing.add_argument("--sample", type=_positive, default=5_000, help="paragraphs for the slow datasketch update loop (default 5,000)")
    hashing.add_argument("--budget", type=float, default=30.0, help="seconds per peer after which repeats stop (default 30)")
    hashing.add_argument("--cold", action="store_true", help="also time dedup's first call with an empty dedup cache (builds the normalization table)")
    hashing.add_argument("--rensa-paths", action="store_true", help="also time each rensa batch path, to check which is fastest")

    report = suites.add_parser("report", help="documents -> clusters, whole pipelines")
    report.add_argument("--paragraphs", type=_positive, default=60_000, help="corpus size (default 60,000)")
    report.add_argument("--repeat", type=_positive, default=1, help="best of K fresh processes per peer, each timing its work once (default 1)")

    scaling = suites.add_parser("scaling", help="dedup report at growing sizes")
    scaling.add_argument("--sizes", type=_sizes, default=(10_000, 100_000, 1_000_000), help="comma-separated paragraph counts (default 10000,100000,1000000)")
    scaling.add_argument("--no-library", action="store_true", help="run only the CLI, not the library call with its per-stage timings")

    filter_ = suites.add_parser("filter", help="pre-ingest stream: query then insert per paragraph, empty and preloaded index")
    filter_.add_argument("--paragraphs", type=_positive, default=60_000, help="paragraphs in the stream (default 60,000)")
    filter_.add_argument("--preload", type=_non_negative, default=1_000_000, help="paragraphs indexed before the stream, from another corpus; 0 skips that setting (default 1,000,000)")
    filter_.add_argument("--redis-sample", type=_positive, default=2_000, help="paragraphs for the slow datasketch Redis peer (default 2,000)")
    filter_.add_argument("--datasketch-preload", type=_non_negative, default=100_000, help="at most this many preloaded into datasketch in memory (default 100,000)")
    filter_.add_argument("--peers", type=_peers, default=None, help="comma-separated peers to run (default all): " + ", ".join(_PEER_KEYS))

    memory = suites.add_parser("memory", help="peak RSS of a whole dedup report on inputs of every shape, and of dedup filter on one huge document")
    memory.add_argument("--paragraphs", type=_positive, default=1_000_000, help="paragraphs per shape (default 1,000,000)")
    memory.add_argument("--shapes", type=_shapes, default=_SHAPES, help="comma-separated shapes to run (default all): " + ", ".join(_SHAPES))
    memory.add_argument("--threshold", type=float, default=0.4, help="dedup report's --threshold (default 0.4, its own default)")

    from benchmarks import reuse as reuse_suite  # light: dedup loads when the suite runs

    reuse = suites.add_parser("reuse", help=reuse_suite.HELP)
    reuse_suite.add_arguments(reuse)  # its own --seed and --json too
    from benchmarks import ray_engine  # light: Ray and dedup load when the suite runs

    ray_engine.add_arguments(suites.add_parser("ray", help=ray_engine.HELP))
    from benchmarks import containment  # light: dedup loads when the suite runs

    containment.add_arguments(suites.add_parser("containment", help=containment.HELP))
    from benchmarks import storage  # light: dedup and the stores' libraries load when the suite runs

    storage.add_arguments(suites.add_parser("storage", help=storage.HELP))
    for sub in (hashing, report, scaling, filter_, memory):
        sub.add_argument("--json", metavar="PATH", help="also write the rows as JSON to PATH")
        sub.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.suite == "hashing":
        from benchmarks import hashing

        return hashing.run(args.paragraphs, args.json, args.repeat, args.sample, args.seed, args.cold, args.budget, args.rensa_paths)
    if args.suite == "report":
        from benchmarks import report

        return report.run(args.paragraphs, args.json, args.repeat, args.seed)
    if args.suite == "filter":
        from benchmarks import filter as filter_suite

        peers = args.peers or tuple(_PEER_KEYS)
        return filter_suite.run(args.paragraphs, args.json, args.seed, args.preload, args.redis_sample, args.datasketch_preload, peers=peers)
    if args.suite == "memory":
        from benchmarks import memory

        return memory.run(args.paragraphs, args.json, args.seed, args.shapes, args.threshold)
    if args.suite == "reuse":
        from benchmarks import reuse as reuse_suite

        return reuse_suite.run_args(args)
    if args.suite == "ray":
        from benchmarks import ray_engine

        return ray_engine.run_args(args)
    if args.suite == "containment":
        from benchmarks import containment

        return containment.run_args(args)
    if args.suite == "storage":
        from benchmarks import storage

        return storage.run_args(args)
    from benchmarks import scaling

    return scaling.run(args.sizes, args.json, args.seed, library=not args.no_library)


if __name__ == "__main__":
    sys.exit(main())
