"""The compiled kernels: one shared library per C source in dedup/_kernel (see _lib.py)."""

from pathlib import Path

from setuptools import Extension, setup

KERNEL = Path("dedup/_kernel")

setup(
    ext_modules=[
        Extension(
            f"dedup._kernel.{source.stem}",
            [str(source)],
            depends=[str(KERNEL / "common.h")],
            extra_compile_args=["-O3", "-std=gnu11", "-fvisibility=hidden"],
        )
        for source in sorted(KERNEL.glob("_*.c"))
    ]
)
