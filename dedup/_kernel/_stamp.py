"""The build stamp of the compiled kernels: a hash of the files they are built from.

The build (``_build.py``) compiles the stamp of the sources into the library; the loader
(``_lib.py``) compares it with the stamp of the sources beside the library, when there are any
(an editable install, or the source tree), so that a library built before a C file changed is
refused rather than run. A wheel holds no C sources, and its library is used as built.

This module imports nothing of dedup's: the build loads it by its path, before dedup is
installed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["PATTERNS", "source_files", "has_sources", "stamp"]

# What the library is made from: the C sources and headers, and the build script, which holds
# the compiler flags.
PATTERNS = ("*.c", "*.h", "_build.py")


def source_files(directory: Path) -> list[Path]:
    """The files of ``directory`` that the stamp covers, in a fixed order."""
    return sorted({path for pattern in PATTERNS for path in directory.glob(pattern)})


def has_sources(directory: Path) -> bool:
    """Whether ``directory`` holds C sources (an editable install; a wheel holds none)."""
    return any(directory.glob("*.c"))


def stamp(directory: Path) -> str:
    """A hash of the names and contents of :func:`source_files`: any edit changes it."""
    digest = hashlib.sha256()
    for path in source_files(directory):
        content = path.read_bytes()
        digest.update(f"{path.name}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()
