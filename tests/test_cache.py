"""dedup._cache: derived tables kept on disk."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dedup._cache import cache_dir

ROOT = Path(__file__).resolve().parents[1]


def test_the_suite_caches_in_a_directory_of_its_own() -> None:
    # tests/conftest.py points the cache at a temporary directory for the whole session, and
    # subprocesses started by tests inherit it: the suite never writes into the user's cache.
    user_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dedup"
    ours = cache_dir()
    assert ours is not None and ours != user_cache
    code = "from dedup._cache import cache_dir; print(cache_dir())"
    child = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    assert Path(child.stdout.strip()) == ours
