"""The settings of matching and their defaults, in one place, for the library and the CLI.

Nothing here imports numpy, so ``dedup --help`` can show the defaults without loading it.

>>> config = Config(shingle="char:5")
>>> (config.threshold, str(config.shingle), config.num_perm)
(0.4, 'char:5', 128)
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Literal

from dedup.shingling import DEFAULT_SHINGLE, ShingleSpec

__all__ = [
    "Config",
    "Scope",
    "DEFAULT_THRESHOLD",
    "DEFAULT_NUM_PERM",
    "DEFAULT_SEED",
    "DEFAULT_MAX_CHARS",
    "DEFAULT_WINDOW",
    "DEFAULT_PAIR_MEMORY",
    "PAIR_BYTES",
    "MAX_SEED",
    "DEFAULT_BATCH_PARAGRAPHS",
]

Scope = Literal["all", "cross-doc"]
DEFAULT_THRESHOLD = 0.4
DEFAULT_NUM_PERM = 128
DEFAULT_SEED = 1
# datasketch's seeds are numpy RandomState seeds: 32 bits.
MAX_SEED = 2**32 - 1
# Paragraphs longer than this are left out of matching (with a warning and a count): a
# 50 MB single-line file is data, not prose, and would dominate the run.
DEFAULT_MAX_CHARS = 1_000_000
# Paragraphs per batch of dedup filter: large enough that per-batch costs (a transaction, a sort
# of the query keys, the segment walk) are amortised, small enough that a crash re-emits little.
DEFAULT_BATCH_PARAGRAPHS = 10_000
# Neighbours each paragraph is paired with in one LSH bucket (see dedup.lsh).
DEFAULT_WINDOW = 64
# Memory for the candidate pairs in flight: 256 MiB holds 4 million pairs, so the generated prose
# of a million paragraphs (600,000 pairs) goes in one block, and a million paragraphs of any
# shape stay under 2 GiB in all (benchmarks/memory.py).
DEFAULT_PAIR_MEMORY = 256 * 2**20
# What a candidate pair costs while its block is in flight: its two paragraphs (int64) from LSH,
# its two similarities (float64) from verification, the mask of those that pass, and, when it
# passes, its copy among the verified pairs (two paragraphs and two similarities).
PAIR_BYTES = 2 * 8 + 2 * 8 + 1 + 4 * 8


@dataclass(frozen=True)
class Config:
    """Settings of a run; checked on creation, so a bad value fails before any work."""

    threshold: float = DEFAULT_THRESHOLD
    shingle: ShingleSpec = DEFAULT_SHINGLE
    num_perm: int = DEFAULT_NUM_PERM
    seed: int = DEFAULT_SEED
    min_words: int = 0
    scope: Scope = "all"
    max_chars: int = DEFAULT_MAX_CHARS
    window: int = DEFAULT_WINDOW
    pair_memory: int = DEFAULT_PAIR_MEMORY  # bytes of candidate pairs held at once
    # Also find reuse across paragraph boundaries (dedup.reuse). Off by default: at a million
    # paragraphs it still costs several times the rest of the run, in time and in memory.
    reuse: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.shingle, str):
            object.__setattr__(self, "shingle", ShingleSpec.parse(self.shingle))
        if not isinstance(self.shingle, ShingleSpec):
            raise TypeError(f"shingle must be a ShingleSpec or a string such as 'word:3', not {self.shingle!r}")
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float)) or not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be greater than 0 and at most 1, not {self.threshold!r}")
        if not _whole(self.num_perm) or not 2 <= self.num_perm <= 4096:
            raise ValueError(f"num_perm must be a whole number from 2 to 4096, not {self.num_perm!r}")
        if not _whole(self.seed) or not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"seed must be a whole number from 0 to {MAX_SEED}, not {self.seed!r}")
        if not _whole(self.min_words) or self.min_words < 0:
            raise ValueError(f"min_words must be a whole number of at least 0, not {self.min_words!r}")
        if self.scope not in ("all", "cross-doc"):
            raise ValueError(f"scope must be 'all' or 'cross-doc', not {self.scope!r}")
        if not _whole(self.max_chars) or not _whole(self.window) or self.max_chars < 1 or self.window < 1:
            raise ValueError("max_chars and window must be whole numbers of at least 1")
        if not _whole(self.pair_memory) or self.pair_memory < PAIR_BYTES:
            raise ValueError(f"pair_memory must be a whole number of bytes, at least {PAIR_BYTES} (one pair), not {self.pair_memory!r}")

    @property
    def pairs_per_block(self) -> int:
        """Candidate pairs verified and clustered at a time, within ``pair_memory``."""
        return self.pair_memory // PAIR_BYTES


def _whole(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
