"""The compiled kernels: one cffi extension, dedup._kernel._native, built from the C sources in
dedup/_kernel (see dedup/_kernel/_build.py). Its wrappers use only the limited C API, so the
wheel is tagged abi3: one wheel for CPython 3.11 and later."""

from setuptools import setup

setup(
    cffi_modules=["dedup/_kernel/_build.py:ffibuilder"],
    options={"bdist_wheel": {"py_limited_api": "cp311"}},
)
