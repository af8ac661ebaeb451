"""One peer, in a fresh process: ``python -m benchmarks._worker '<json spec>'``.

The spec names the suite module and the peer; the suite's ``run_peer(spec)`` does the work and
returns a dict, to which this adds the process's peak RSS. The result is printed as one JSON
line on stdout. Only the harness starts this.
"""

from __future__ import annotations

import importlib
import json
import sys

from benchmarks._harness import peak_rss_mb


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    suite = importlib.import_module(f"benchmarks.{spec['suite']}")
    result = suite.run_peer(spec)
    result.setdefault("peak_rss_mb", peak_rss_mb())
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
