"""Loading the compiled kernels, and running one on every core.

The C sources in this package are built into one extension module, ``_native``, when the
package is installed (``_build.py``): cffi wrappers, made from the declarations in ``kernels.h``,
that check each call's arguments against those declarations and release the GIL for the call,
so a kernel started from several threads at once runs on several cores. The C functions take
raw pointers and lengths; the wrappers in the sibling modules check and convert the arrays
(:func:`ptr` types each one after its dtype, so an array of another element type than the C
declares is refused), allocate the outputs and hand out the threads.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from dedup import _settings as settings
from dedup._kernel import _stamp

__all__ = [
    "ffi", "lib", "ptr", "NULL", "threads", "set_threads", "CHUNK", "chunks", "on_all_cores", "u8", "u32", "u64", "i64", "whole",
    "check_offsets", "check_indices", "check_build",
]

HERE = Path(__file__).resolve().parent


def _import_native() -> Any:
    try:
        from dedup._kernel import _native
    except ModuleNotFoundError as err:
        if err.name != "dedup._kernel._native":
            raise
        if _stamp.has_sources(HERE):  # a source tree, not an install
            raise ImportError(
                f"dedup is imported from its source tree ({HERE.parents[1]}), where its compiled kernels are not "
                f"built: run `pip install -e .` there, or start Python elsewhere to use the installed dedup"
            ) from None
        raise ImportError(
            "dedup's compiled kernels are missing (dedup._kernel._native): reinstall dedup with pip, which "
            "builds them (a C compiler is needed)"
        ) from None
    return _native


def check_build(built: str, directory: Path) -> None:
    """Refuse a library whose build stamp ``built`` is not that of the C sources in
    ``directory``, when it holds any: the library would run other code than its sources say
    (a C file edited, or pulled, since the last build)."""
    if _stamp.has_sources(directory) and built != _stamp.stamp(directory):
        raise ImportError(
            f"dedup's compiled kernels are out of date: {directory} holds C sources that changed since they "
            f"were built; run `pip install -e .` in {directory.parents[1]} to rebuild them"
        )


_native = _import_native()
ffi: Any = _native.ffi
lib: Any = _native.lib
check_build(ffi.string(lib.dedup_build_stamp()).decode("ascii"), HERE)
NULL: Any = ffi.NULL

# The C element type of each dtype that crosses the boundary.
_ARRAY_TYPES = {
    np.dtype(dtype): ffi.typeof(f"{ctype}[]")
    for dtype, ctype in [
        (np.uint8, "uint8_t"), (np.int8, "int8_t"), (np.int32, "int32_t"), (np.uint32, "uint32_t"),
        (np.int64, "int64_t"), (np.uint64, "uint64_t"), (np.float64, "double"),
    ]
}


def _usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _threads() -> int:
    """DEDUP_THREADS caps the threads a kernel uses; by default, the cores this process may use."""
    return settings.threads() or _usable_cores()


_limit = _threads()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def threads() -> int:
    """The most threads a kernel call uses: :func:`set_threads`'s cap, else ``DEDUP_THREADS``,
    else the cores this process may use."""
    return _limit


def set_threads(count: int | None) -> int:
    """Cap the threads of every kernel call from now on at ``count`` (1 or more); ``None``
    goes back to the default (``DEDUP_THREADS``, else the usable cores). Returns the cap it
    replaces, to restore it. A call already running keeps the threads it started with.

    >>> before = set_threads(1); threads()
    1
    >>> set_threads(before) == 1
    True
    """
    global _limit
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ValueError(f"threads must be a whole number, 1 or more, not {count!r}")
    previous, _limit = _limit, (count if count is not None else _threads())
    return previous


def _forget_pool() -> None:  # a forked child has none of its parent's threads
    global _pool, _pool_size, _pool_lock
    _pool, _pool_size = None, 0
    _pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


# Paragraphs per chunk of parallel work.
CHUNK: int = lib.CHUNK


def chunks(n: int, size: int = CHUNK) -> int:
    """How many chunks of ``size`` cover ``n`` items."""
    return -(-n // size)


def u8(values: np.ndarray) -> np.ndarray:
    """``values`` as a C-contiguous, aligned array of this dtype: the array itself when it is
    one already (a memory-mapped index segment is not copied), else a converted copy."""
    return np.require(values, dtype=np.uint8, requirements=["C", "A"])


def u32(values: np.ndarray) -> np.ndarray:
    return np.require(values, dtype=np.uint32, requirements=["C", "A"])


def u64(values: np.ndarray) -> np.ndarray:
    return np.require(values, dtype=np.uint64, requirements=["C", "A"])


def i64(values: np.ndarray) -> np.ndarray:
    return np.require(values, dtype=np.int64, requirements=["C", "A"])


def whole(value: int, name: str, low: int = 0, high: int = 2**62) -> int:
    """``value`` as an int in ``[low, high]``: the C side takes it for a count or an index."""
    value = int(value)
    if not low <= value <= high:
        raise ValueError(f"{name} must be from {low} to {high}, not {value}")
    return value


def check_offsets(offsets: np.ndarray, size: int, what: str = "offsets") -> None:
    """``offsets`` (int64) must ascend within ``[0, size]``, with one entry at least: the C code
    trusts its indices, and this costs a pass over the offsets, never over the data."""
    if len(offsets) == 0:
        raise ValueError(f"{what} must hold at least one entry")
    if offsets[0] < 0 or offsets[-1] > size or np.any(offsets[1:] < offsets[:-1]):
        raise ValueError(f"{what} must ascend within 0..{size}")


def check_indices(indices: np.ndarray, count: int, what: str) -> None:
    """Every one of ``indices`` must lie in ``range(count)``."""
    if len(indices) and (indices.min() < 0 or indices.max() >= count):
        raise IndexError(f"{what} must lie within range({count})")


def ptr(array: np.ndarray) -> Any:
    """A C pointer to the elements of ``array`` (C-contiguous and aligned), typed after its
    dtype: passed where the C declaration wants another element type, it is a TypeError."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"a kernel takes numpy arrays, not {type(array).__name__}")
    ctype = _ARRAY_TYPES.get(array.dtype)
    if ctype is None:
        raise TypeError(f"no kernel takes arrays of {array.dtype}")
    if not (array.flags.c_contiguous and array.flags.aligned):
        raise ValueError("a kernel takes C-contiguous, aligned arrays")
    return ffi.from_buffer(ctype, array)


def on_all_cores(kernel: Callable[..., Any], *args: Any, chunks: int) -> np.ndarray:
    """Run ``kernel(*args, cursor)`` on up to :func:`threads` threads at once, where ``cursor``
    is the shared chunk counter the C side takes chunks from (``next_chunk`` in common.h).
    Returns the cursor (its value is no use after the call). With one chunk, or one core, the
    call runs in this thread alone."""
    cursor = np.zeros(1, dtype=np.int64)
    count = min(_limit, chunks)
    if count <= 1:
        kernel(*args, ptr(cursor))
        return cursor
    pool = _shared_pool(count - 1)
    others = [pool.submit(kernel, *args, ptr(cursor)) for _ in range(count - 1)]
    try:
        kernel(*args, ptr(cursor))
    finally:
        _wait(others)
    return cursor


def _shared_pool(workers: int) -> ThreadPoolExecutor:
    """The pool of kernel threads, with at least ``workers`` of them: grown (a new pool; the old
    one ends once its running calls do) when a raised cap asks for more."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < workers:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool, _pool_size = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dedup-kernel"), workers
        return _pool


def _wait(others: list[Future[Any]]) -> None:
    """Wait for every other thread of a kernel call, even through Ctrl-C: they hold raw
    addresses of the call's arrays, which must outlive them. An interruption is raised after."""
    interrupted: BaseException | None = None
    for other in others:
        while True:
            try:
                other.result()
                break
            except KeyboardInterrupt as err:
                interrupted = err
    if interrupted is not None:
        raise interrupted
