"""Loading the compiled kernels, and running one on every core.

Each C source in this package is built into its own shared library when the package is
installed (``setup.py``). Python calls its functions through :mod:`ctypes`, which releases the
GIL for the call, so a kernel started from several threads at once runs on several cores. The C
functions take raw pointers and lengths; the wrappers in the sibling modules check and convert
the arrays, allocate the outputs and hand out the threads.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from dedup import _settings as settings

__all__ = [
    "load", "ptr", "THREADS", "CHUNK", "chunks", "on_all_cores", "u8", "u32", "u64", "i64", "whole",
    "check_offsets", "check_indices", "I64", "PTR", "U32", "F64",
]

I64 = ctypes.c_int64
U32 = ctypes.c_uint32
F64 = ctypes.c_double
PTR = ctypes.c_void_p


def _usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _threads() -> int:
    """DEDUP_THREADS caps the threads a kernel uses; by default, the cores this process may use."""
    return settings.threads() or _usable_cores()


THREADS = _threads()

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _forget_pool() -> None:  # a forked child has none of its parent's threads
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def load(module: str, signatures: dict[str, tuple[Any, list[Any]]]) -> ctypes.CDLL:
    """The compiled library ``dedup._kernel.<module>``, with each function's ``(restype,
    argtypes)`` set from ``signatures``."""
    spec = importlib.util.find_spec(f"dedup._kernel.{module}")
    if spec is None or spec.origin is None:
        here = os.path.dirname(os.path.abspath(__file__))
        if os.path.exists(os.path.join(here, f"{module}.c")):  # a source tree, not an install
            root = os.path.dirname(os.path.dirname(here))
            raise ImportError(
                f"dedup is imported from its source tree ({root}), where its compiled kernels are not "
                f"built: run `pip install -e .` there, or start Python elsewhere to use the installed dedup"
            )
        raise ImportError(
            f"dedup's compiled kernels are missing (dedup._kernel.{module}): reinstall dedup with "
            "pip, which builds them (a C compiler is needed)"
        )
    library = ctypes.CDLL(spec.origin)
    for name, (restype, argtypes) in signatures.items():
        function = getattr(library, name)
        function.restype = restype
        function.argtypes = argtypes
    return library


# Paragraphs per chunk of parallel work: CHUNK in common.h.
CHUNK = 256


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
    """``value`` as an int in ``[low, high]``: ctypes would wrap a larger one silently."""
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


def ptr(array: np.ndarray) -> int:
    """The address of a C-contiguous array's first element."""
    return array.__array_interface__["data"][0]


def on_all_cores(kernel: Callable[..., Any], *args: Any, chunks: int) -> np.ndarray:
    """Run ``kernel(*args, cursor)`` on up to :data:`THREADS` threads at once, where ``cursor``
    is the shared chunk counter the C side takes chunks from (``next_chunk`` in common.h).
    Returns the cursor (its value is no use after the call). With one chunk, or one core, the
    call runs in this thread alone."""
    cursor = np.zeros(1, dtype=np.int64)
    threads = min(THREADS, chunks)
    if threads <= 1:
        kernel(*args, ptr(cursor))
        return cursor
    pool = _shared_pool()
    others = [pool.submit(kernel, *args, ptr(cursor)) for _ in range(threads - 1)]
    try:
        kernel(*args, ptr(cursor))
    finally:
        _wait(others)
    return cursor


def _shared_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=THREADS - 1, thread_name_prefix="dedup-kernel")
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
