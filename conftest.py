"""Set-up for the whole test session.

The suite never touches the user's cache (``~/.cache/dedup``): dedup's cache directory is a
fresh temporary one for the session, so a test sees only what the suite itself wrote there,
and a damaged file in the real cache can neither fail a test nor be repaired by one.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

_CACHE_DIR_KEY = pytest.StashKey[tuple[str | None, str]]()


def pytest_configure(config: pytest.Config) -> None:
    """Point ``DEDUP_CACHE_DIR`` at a new temporary directory, in ``os.environ`` itself, so that
    subprocesses started by tests inherit it too.

    A hook rather than a session fixture: it runs before test modules are imported, and some
    of them copy ``os.environ`` for their subprocesses at import time (test_reliability.py).
    """
    directory = tempfile.mkdtemp(prefix="dedup-test-cache-")
    config.stash[_CACHE_DIR_KEY] = (os.environ.get("DEDUP_CACHE_DIR"), directory)
    os.environ["DEDUP_CACHE_DIR"] = directory


def pytest_unconfigure(config: pytest.Config) -> None:
    if _CACHE_DIR_KEY not in config.stash:
        return
    previous, directory = config.stash[_CACHE_DIR_KEY]
    if previous is None:
        os.environ.pop("DEDUP_CACHE_DIR", None)
    else:
        os.environ["DEDUP_CACHE_DIR"] = previous
    shutil.rmtree(directory, ignore_errors=True)
