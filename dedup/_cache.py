"""Where derived tables (normalization, permutations, LSH parameters) are cached between runs."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np


def cache_dir() -> Path | None:
    """``$DEDUP_CACHE_DIR``, else ``$XDG_CACHE_HOME/dedup``, else ``~/.cache/dedup``; ``None``
    when it cannot be created (the caller then recomputes)."""
    configured = os.environ.get("DEDUP_CACHE_DIR")
    if configured:
        path = Path(configured)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path = Path(base) / "dedup"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path


def cached_arrays(
    name: str, build: Callable[[], dict[str, np.ndarray]], valid: Callable[[dict[str, np.ndarray]], bool]
) -> dict[str, np.ndarray]:
    """The arrays ``build()`` returns, kept in the cache directory as ``name`` (an .npz file):
    read back when the file is there and ``valid`` accepts it, else built and written
    atomically. Without a cache directory, simply built."""
    directory = cache_dir()
    if directory is not None:
        try:
            with np.load(directory / name) as stored:
                arrays = {key: stored[key] for key in stored.files}
            if valid(arrays):
                return arrays
        except (OSError, KeyError, ValueError, EOFError):
            pass
    arrays = build()
    if directory is not None:
        tmp = directory / f"{name}.{os.getpid()}.tmp.npz"
        try:
            np.savez(tmp, **arrays)
            os.replace(tmp, directory / name)
        except OSError:
            tmp.unlink(missing_ok=True)
    return arrays
