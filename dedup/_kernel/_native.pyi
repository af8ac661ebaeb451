# The extension module that cffi builds from kernels.h (_build.py): its functions and constants
# are those declared there, checked at each call by cffi rather than by a type checker.
from typing import Any

ffi: Any
lib: Any
