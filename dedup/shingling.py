"""Shingles: the set elements that MinHash and the Jaccard check work on.

A shingle's bytes are its normalized text in UTF-8. A word shingle is ``n`` consecutive words
joined by one space; a character shingle is ``n`` consecutive characters of the normalized text
(spaces included). A paragraph shorter than one shingle, but not empty, is one shingle: itself.
An empty normalized text has no shingles.

>>> shingles("Soldiers are on standby", kind="word", n=3)
[b'soldiers are on', b'are on standby']
>>> shingles("Hi!", kind="char", n=5)
[b'hi']
>>> shingles("…", kind="word", n=3)
[]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["ShingleSpec", "shingles", "DEFAULT_SHINGLE"]

Kind = Literal["word", "char"]


@dataclass(frozen=True)
class ShingleSpec:
    """How paragraphs are cut into shingles: ``word:N`` or ``char:N``.

    >>> ShingleSpec.parse("char:5")
    ShingleSpec(kind='char', n=5)
    >>> str(ShingleSpec("word", 3))
    'word:3'
    """

    kind: Kind = "word"
    n: int = 3

    def __post_init__(self) -> None:
        if self.kind not in ("word", "char"):
            raise ValueError(f"shingle kind must be 'word' or 'char', not {self.kind!r}")
        if not isinstance(self.n, int) or isinstance(self.n, bool) or not 1 <= self.n <= 64:
            raise ValueError(f"shingle size must be a whole number from 1 to 64, not {self.n!r}")

    @classmethod
    def parse(cls, spec: str) -> ShingleSpec:
        match = re.fullmatch(r"\s*(word|char)\s*:\s*(-?\d+)\s*", spec)
        if not match:
            raise ValueError(f"shingle must look like 'word:3' or 'char:5', not {spec!r}")
        return cls(match.group(1), int(match.group(2)))  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"{self.kind}:{self.n}"

    @property
    def code(self) -> int:
        """The kind as the kernels take it: 0 for words, 1 for characters."""
        return 0 if self.kind == "word" else 1


DEFAULT_SHINGLE = ShingleSpec("word", 3)


def shingles(text: str, kind: Kind = DEFAULT_SHINGLE.kind, n: int = DEFAULT_SHINGLE.n) -> list[bytes]:
    """The shingles of one paragraph, in order, repeats included (the reference implementation).

    ``text`` is normalized first with :func:`dedup.normalize`.
    """
    # Imported here so that parsing a ShingleSpec (the CLI's options) does not load numpy.
    from dedup.normalization import normalize

    spec = ShingleSpec(kind, n)
    normalized = normalize(text)
    if not normalized:
        return []
    if spec.kind == "word":
        units = normalized.split(" ")
        sep = " "
    else:
        units = list(normalized)
        sep = ""
    if len(units) <= spec.n:
        return [normalized.encode("utf-8", "surrogatepass")]
    return [sep.join(units[i : i + spec.n]).encode("utf-8", "surrogatepass") for i in range(len(units) - spec.n + 1)]
