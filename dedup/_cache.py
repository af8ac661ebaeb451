"""Where derived tables (normalization, permutations, LSH parameters) are cached between runs.

A cache file is never trusted. One that cannot be read, or that does not hold the arrays
expected, is built again and replaced, so a file damaged by a crash, a full disk or another
program costs one rebuild, not an error on every run until someone deletes it. Nothing in
it is unpickled: a cache directory is writable by more than dedup.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

__all__ = ["cache_dir", "cached_arrays"]


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
    atomically over whatever was there. Without a cache directory, simply built.

    ``valid`` sees whatever the file held, under any names, dtypes and shapes, and should say
    no to anything ``build`` would not have made; if it raises, the file counts as invalid.
    """
    directory = cache_dir()
    if directory is not None:
        stored = _read_arrays(directory / name)
        if stored is not None and _accepts(valid, stored):
            return stored
    arrays = build()
    if directory is not None:
        _write_arrays(directory / name, arrays)
    return arrays


def _read_arrays(path: Path) -> dict[str, np.ndarray] | None:
    """Every array of the .npz file at ``path``, or ``None`` when there is no such file or it
    is not one holding plain arrays only."""
    try:
        # Opened here, not by np.load, which leaves its own file open when the zip is damaged.
        with open(path, "rb") as f:
            stored = np.load(f, allow_pickle=False)
            if isinstance(stored, np.ndarray):  # a lone .npy, not an archive of them
                return None
            with stored:
                arrays = {key: stored[key] for key in stored.files}
    # Reading a damaged file can raise nearly anything: OSError, zipfile.BadZipFile (also for
    # a CRC mismatch), zlib.error, EOFError, ValueError from a bad .npy header or from pickled
    # data, MemoryError from a header that claims a huge shape. Each means the same: rebuild.
    except Exception:
        return None
    # A member not named *.npy comes back as its raw bytes.
    if not all(isinstance(array, np.ndarray) for array in arrays.values()):
        return None
    return arrays


def _write_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` as an .npz file, atomically: into a temporary file beside
    it, flushed to disk, then renamed over it. A reader, even one in another process, sees the
    old file or the new one, never part of either; a crash can leave a stray temporary file,
    not a damaged cache. Failing to write is not an error: the next run builds again."""
    # Named after the process and thread, so that no two writers share it. (Not mkstemp,
    # whose files only their owner can read.)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        try:
            with open(tmp, "wb") as f:
                np.savez(f, allow_pickle=False, **arrays)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError:
        pass


def _accepts(valid: Callable[[dict[str, np.ndarray]], bool], arrays: dict[str, np.ndarray]) -> bool:
    try:
        return bool(valid(arrays))
    # A check that trips over what it was given (a 0-d array, an unexpected dtype) has found
    # a file that is not what it wants.
    except Exception:
        return False
