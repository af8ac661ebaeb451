"""The build of the compiled kernels: one extension module, ``dedup._kernel._native``, made by
cffi in API mode from every ``_*.c`` source here (``setup.py`` names this file in
``cffi_modules``).

Why cffi, in API mode: the C functions are declared once, in ``kernels.h``. The C sources include
it, so the compiler checks every definition against its declaration; cffi reads the same lines
as its ``cdef`` and compiles a wrapper for each function against the header, so a declaration
that does not match the C is a build error, and a call from Python with a missing argument, an
array of another element type or an integer out of range is a ``TypeError`` or an
``OverflowError`` at the call. The wrappers release the GIL around each call, so the kernels
still run on several threads at once (``_lib.on_all_cores``), and they use only the limited C
API, so one wheel serves every CPython from 3.11 on. (Cython's typed memoryviews would check the
arrays too, but the loops would then be Cython's to generate, and the GIL released by hand.)

The library also carries a stamp of the sources it was built from (``_stamp.py``), which the
loader checks against the sources beside it.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

from cffi import FFI  # type: ignore[import-untyped]  # a build requirement, without type stubs

HERE = Path(__file__).resolve().parent
BEGIN, END = "/* cdef: begin */", "/* cdef: end */"
COMPILE_ARGS = ["-O3", "-std=gnu11", "-fvisibility=hidden"]


def _stamp_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dedup_kernel_stamp", HERE / "_stamp.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def declarations(header: str) -> str:
    """The lines of ``header`` between the cdef markers."""
    start, end = header.find(BEGIN), header.find(END)
    if start < 0 or end < start:
        raise ValueError(f"kernels.h must hold {BEGIN} and then {END}")
    return header[start + len(BEGIN) : end]


def _relative(path: Path) -> str:
    # Extension sources are named relative to the directory setup.py runs in.
    return os.path.relpath(path)


ffibuilder = FFI()
ffibuilder.cdef(declarations((HERE / "kernels.h").read_text(encoding="utf-8")))
ffibuilder.set_source(
    "dedup._kernel._native",
    '#include "kernels.h"\n'
    f'const char *dedup_build_stamp(void) {{ return "{_stamp_module().stamp(HERE)}"; }}\n',
    sources=[_relative(path) for path in sorted(HERE.glob("_*.c"))],
    include_dirs=[_relative(HERE)],
    depends=[_relative(path) for path in sorted(HERE.glob("*.h"))],
    extra_compile_args=COMPILE_ARGS,
)
