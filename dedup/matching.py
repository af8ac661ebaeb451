"""The matching engine that both commands run on a batch of paragraphs.

``dedup report`` runs it once over all its input; ``dedup filter`` once per batch. The stages,
in order:

1. :func:`prepare`: the paragraphs of a :class:`~dedup.paragraphs.ParagraphTable` (the text
   encoded once, as UTF-8) normalized by the compiled normalizer (a paragraph of symbols only,
   which normalization empties, keeps its own text, so that its exact copies match); those left
   out of matching (too long, shorter than ``min_words``); and exact copies grouped
   by their normalized text, so that no copy ever depends on LSH;
2. signatures and band keys of the distinct texts (the report makes 32-bit keys straight from
   the text; the filter makes the 64-bit keys it stores, with the shingle sets, and takes their
   low 32 bits for LSH, which are the report's keys);
3. :func:`verified_blocks`: LSH candidates within the batch, a block of paragraphs at a time
   within ``Config.pair_memory``, each verified on the exact shingle sets.

What follows differs: the report feeds the verified pairs to first-seen clustering; the filter
also looks its paragraphs up in the index, and decides keep or drop (:mod:`dedup.filter`).

>>> from dedup.config import Config
>>> from dedup.paragraphs import ParagraphTable
>>> p = prepare(ParagraphTable(["a", "b"], ["One two three.\\n\\n* * *", "ONE two three!\\n\\n*  * *"]), Config())
>>> p.rows.tolist(), p.firsts.tolist(), p.canonical.tolist(), p.batch.text(3)
([0, 1, 2, 3], [0, 1], [0, 1, 0, 1], '* * *')
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from dedup.config import Config
from dedup.lsh import CandidatePairs
from dedup.normalization import NormalizedBatch, normalize_utf8_spans
from dedup.paragraphs import ParagraphTable
from dedup.verify import ShingleSets, VerifiedPairs

__all__ = ["Prepared", "prepare", "verified_blocks", "left_out"]


@dataclass
class Prepared:
    """A batch of paragraphs, normalized: the paragraphs ``start`` to ``start + len(batch)`` of
    ``table`` (all of them unless a part was asked for); every array below is indexed by
    position in the batch.

    ``rows`` are the paragraphs that take part in matching; ``text_hashes[i]`` is a 64-bit hash
    of paragraph ``i``'s normalized text; ``firsts`` are the rows whose text is met for the first
    time, and ``canonical[k]`` the place in ``firsts`` of the first occurrence of ``rows[k]``'s
    text."""

    table: ParagraphTable
    start: int
    batch: NormalizedBatch
    too_long: np.ndarray
    empty: np.ndarray
    short: np.ndarray
    rows: np.ndarray
    text_hashes: np.ndarray
    firsts: np.ndarray
    canonical: np.ndarray

    def __len__(self) -> int:
        return len(self.batch)


def left_out(batch: NormalizedBatch, too_long: np.ndarray, config: Config) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the paragraphs left out of matching besides the ``too_long`` ones (which are
    not normalized at all): those empty after normalization, and those shorter than
    ``min_words``. The three masks do not overlap."""
    empty = (batch.lengths() == 0) & ~too_long
    if config.min_words > 0:
        short = ~empty & ~too_long & (batch.word_counts() < config.min_words)
    else:
        short = np.zeros(len(batch), dtype=bool)
    return empty, short


def prepare(table: ParagraphTable, config: Config, part: tuple[int, int] | None = None) -> Prepared:
    """Normalize the paragraphs of ``table`` (those in ``range(*part)`` only, if given), mark
    those left out of matching, and group exact copies."""
    from dedup import _kernel

    start, stop = part if part is not None else (0, len(table))
    if not 0 <= start <= stop <= len(table):
        raise ValueError(f"part must lie within the table's {len(table)} paragraphs, not {part!r}")
    byte_start, byte_end = table.byte_start[start:stop], table.byte_end[start:stop]
    too_long = table.lengths()[start:stop] > config.max_chars
    # The long ones are not normalized at all.
    batch = normalize_utf8_spans(table.src, byte_start, np.where(too_long, byte_start, byte_end))
    batch = _symbols_as_text(batch, table.src, byte_start, byte_end, too_long)
    empty, short = left_out(batch, too_long, config)
    rows = np.flatnonzero(~(empty | short | too_long))
    text_hashes = _kernel.text_hashes(batch.data, batch.offsets)
    canonical, firsts = _kernel.group_texts(batch.data, batch.offsets, rows, text_hashes)
    return Prepared(table, start, batch, too_long, empty, short, rows, text_hashes, firsts, canonical)


def _symbols_as_text(batch: NormalizedBatch, src: np.ndarray, byte_start: np.ndarray, byte_end: np.ndarray, too_long: np.ndarray) -> NormalizedBatch:
    """``batch`` with each paragraph that normalization left empty (a separator such as
    ``-----`` or ``* * *``, a line of symbols) given its own text instead, whitespace collapsed:
    so that exact copies of it match (and the filter drops repeated separators as it drops any
    repeated paragraph), while it can never match a paragraph of words, whose normalized text
    holds no punctuation."""
    empty = np.flatnonzero((batch.lengths() == 0) & ~too_long)
    if not len(empty):
        return batch
    texts = [b" ".join(src[byte_start[i] : byte_end[i]].tobytes().split()) for i in empty.tolist()]
    sizes = np.array([len(t) for t in texts], dtype=np.int64)
    if not sizes.any():
        return batch
    data = np.insert(batch.data, np.repeat(batch.offsets[empty], sizes), np.frombuffer(b"".join(texts), dtype=np.uint8))
    grown = np.zeros(len(batch) + 1, dtype=np.int64)
    grown[empty + 1] = sizes
    return NormalizedBatch(data, batch.offsets + np.cumsum(grown))


def verified_blocks(candidates: CandidatePairs, sets: ShingleSets, config: Config) -> Iterator[VerifiedPairs]:
    """The candidate pairs verified on ``sets``, a block at a time (at most
    ``config.pairs_per_block`` candidates in flight): each block's pairs come grouped by their
    later paragraph, ascending, as first-seen clustering takes them."""
    for lo, hi in candidates.blocks(config.pairs_per_block):
        left, right = candidates.pairs(lo, hi)
        yield sets.verify(left, right, config.threshold)
