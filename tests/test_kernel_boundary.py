"""The boundary between Python and the compiled kernels: every call is checked against the C
declaration (kernels.h), the calls release the GIL, and a library built from other sources than
those beside it is refused."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from dedup import minhash_signatures
from dedup._kernel import _lib, _stamp
from dedup._kernel._lib import lib, ptr

ROOT = Path(__file__).resolve().parent.parent
KERNEL = ROOT / "dedup" / "_kernel"
DATA = np.frombuffer(b"one two three four", dtype=np.uint8)
OFFSETS = np.array([0, 7, 18], dtype=np.int64)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: lib.dedup_xxh32(ptr(DATA), 0, 3), id="one-argument-short"),
        pytest.param(lambda: lib.dedup_xxh32(ptr(DATA), 0, 3, 0, 0), id="one-argument-too-many"),
        pytest.param(lambda: lib.dedup_text_hashes(ptr(DATA), ptr(OFFSETS), 2, ptr(np.empty(2, np.uint64))), id="no-cursor"),
    ],
)
def test_a_wrong_number_of_arguments_is_a_type_error(call) -> None:
    with pytest.raises(TypeError, match="expected"):
        call()


@pytest.mark.parametrize(
    "call",
    [
        # uint32 where the C wants uint8_t: the element types differ, whatever the bytes hold.
        pytest.param(lambda: lib.dedup_xxh32(ptr(DATA.astype(np.uint32)), 0, 3, 0), id="uint32-array-for-uint8"),
        pytest.param(
            lambda: lib.dedup_text_hashes(ptr(DATA), ptr(OFFSETS.astype(np.uint64)), 2, ptr(np.empty(2, np.uint64)), ptr(np.zeros(1, np.int64))),
            id="uint64-offsets-for-int64",
        ),
        pytest.param(lambda: lib.dedup_xxh32(DATA.ctypes.data, 0, 3, 0), id="an-address-for-a-pointer"),
        pytest.param(lambda: lib.dedup_xxh32(ptr(DATA), 0, 3.0, 0), id="a-float-for-an-integer"),
        pytest.param(lambda: lib.dedup_xxh32(ptr(DATA), ptr(OFFSETS), 3, 0), id="a-pointer-for-an-integer"),
    ],
)
def test_an_argument_of_another_type_is_a_type_error(call) -> None:
    with pytest.raises(TypeError):
        call()


def test_an_integer_out_of_its_c_range_is_an_overflow_error() -> None:
    with pytest.raises(OverflowError):
        lib.dedup_xxh32(ptr(DATA), 0, 3, 2**32)
    with pytest.raises(OverflowError):
        lib.dedup_xxh32(ptr(DATA), 0, 2**63, 0)


@pytest.mark.parametrize(
    ("array", "error"),
    [
        pytest.param(np.zeros(4, dtype=np.float32), TypeError, id="a-dtype-no-kernel-takes"),
        pytest.param(np.zeros(8, dtype=np.uint64)[::2], ValueError, id="not-contiguous"),
        pytest.param(np.zeros(8 * 4 + 1, dtype=np.uint8)[1:].view(np.uint64), ValueError, id="not-aligned"),
        pytest.param([1, 2, 3], TypeError, id="a-list"),
    ],
)
def test_ptr_refuses_what_no_kernel_can_read(array: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        ptr(array)  # type: ignore[arg-type]


def test_the_python_constants_are_the_c_ones() -> None:
    from dedup._kernel import lsh, normalize, paragraphs, reuse, sets

    assert (_lib.CHUNK, sets.PAIR_CHUNK, paragraphs.DOC_CHUNK) == (256, 4096, 16)
    assert lsh.NO_BUCKET == 2**32 - 1
    assert reuse.MAX_NGRAM == 64
    assert (normalize.OK, normalize.NEEDS_REFERENCE, normalize.OVERFLOW) == (0, 1, 2)


def test_a_kernel_call_releases_the_gil() -> None:
    # One xxHash32 call over 512 MiB of zero pages (never written, so they take no memory)
    # lasts a good fraction of a second. Were the GIL held through it, this thread could not
    # run a Python line from the moment the call began until it returned: its ticks would fall
    # only in the first and last few milliseconds of each call (Python's switch interval), not
    # through it. Released, they fall all through it, the machine's other load permitting.
    data = np.zeros(2**29, dtype=np.uint8)
    address = ptr(data)
    calls: list[tuple[float, float]] = []

    def call() -> None:
        for _ in range(3):
            start = time.perf_counter()
            lib.dedup_xxh32(address, 0, len(data), 0)
            calls.append((start, time.perf_counter()))

    worker = threading.Thread(target=call)
    ticks = []
    worker.start()
    while worker.is_alive():
        ticks.append(time.perf_counter())
    worker.join()
    at = np.array(ticks)
    # Of ten equal slices of each call, those in which this thread ran.
    slices = [len(np.unique((at[(at > start) & (at < end)] - start) * 10 // (end - start))) for start, end in calls]
    assert min(end - start for start, end in calls) > 0.05, "the calls are too short to tell"
    assert max(slices) >= 6, (slices, calls)


def test_the_library_in_use_was_built_from_the_sources_beside_it() -> None:
    built = _lib.ffi.string(lib.dedup_build_stamp()).decode()
    assert built == _stamp.stamp(KERNEL)
    _lib.check_build(built, KERNEL)


def copy_package(to: Path) -> Path:
    """A copy of the dedup package, its built library included, under ``to``."""
    shutil.copytree(ROOT / "dedup", to / "dedup", ignore=shutil.ignore_patterns("__pycache__"))
    return to / "dedup" / "_kernel"


def test_a_changed_source_makes_the_build_out_of_date(tmp_path: Path) -> None:
    built = _lib.ffi.string(lib.dedup_build_stamp()).decode()
    kernel = copy_package(tmp_path)
    _lib.check_build(built, kernel)
    for name in ("_sets.c", "kernels.h", "_build.py"):
        path = kernel / name
        original = path.read_bytes()
        path.write_bytes(original + b"\n")
        with pytest.raises(ImportError, match=r"out of date.*pip install -e \."):
            _lib.check_build(built, kernel)
        path.write_bytes(original)
    (kernel / "_reuse_extra.c").write_text("/* a new source */\n")
    with pytest.raises(ImportError, match="out of date"):
        _lib.check_build(built, kernel)


def test_without_c_sources_the_build_is_used_as_it_is(tmp_path: Path) -> None:
    kernel = copy_package(tmp_path)
    for path in [*kernel.glob("*.c"), *kernel.glob("*.h")]:
        path.unlink()
    _lib.check_build("any stamp", kernel)  # a wheel: nothing to compare with


def run_python(cwd: Path, code: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DEDUP_DEBUG")}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_an_out_of_date_build_is_refused_at_import_and_the_cli_says_to_reinstall(tmp_path: Path) -> None:
    kernel = copy_package(tmp_path)
    with (kernel / "_lsh.c").open("a") as f:
        f.write("/* edited after the build */\n")
    imported = run_python(tmp_path, "import dedup, dedup._kernel; print(dedup.__file__)")
    assert imported.returncode != 0
    assert "out of date" in imported.stderr and "pip install -e ." in imported.stderr
    assert str(tmp_path) in imported.stderr  # the copy was imported, not the installed dedup
    (tmp_path / "doc.txt").write_text("Some paragraph of text.\n")
    cli = run_python(tmp_path, "from dedup.cli import main; main(['report', 'doc.txt'])")
    assert cli.returncode == 70
    assert "pip install -e ." in cli.stderr
    assert "Traceback" not in cli.stderr and len(cli.stderr.strip().splitlines()) == 1


def test_a_build_without_its_sources_loads(tmp_path: Path) -> None:
    kernel = copy_package(tmp_path)
    for path in [*kernel.glob("*.c"), *kernel.glob("*.h")]:
        path.unlink()
    done = run_python(tmp_path, "import dedup; print(dedup.__file__); print(dedup.minhash_signatures(['a b c d'], num_perm=4).tolist())")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == str(tmp_path / "dedup" / "__init__.py")
    assert done.stdout.splitlines()[1] == str(minhash_signatures(["a b c d"], num_perm=4).tolist())
