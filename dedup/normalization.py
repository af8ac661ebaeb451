"""Normalization: the text that shingles are cut from.

The rule, applied in this order:

1. Unicode NFKC (full-width letters, ligatures and the like become plain letters);
2. casefold;
3. apostrophes, in every form (``'`` ``’`` ``‘`` ``ʼ`` ``′`` ``＇``), are deleted, so that
   "force’s" and "force's" both become "forces";
4. format characters (Unicode category Cf: zero-width spaces, soft hyphens) are deleted;
5. every other punctuation character (Unicode category P*, which includes the dashes and the
   double quotes in all their curly forms) becomes a space;
6. runs of whitespace collapse to one space, and the ends are stripped;
7. all of it again until nothing changes (a deletion can bring a letter next to a combining
   mark it then composes with), so normalized text is its own normalization.

Its time grows with the length of the paragraph, not with the square of it. Step 1 is
exactly NFKC, but a run of combining marks longer than UAX #15's Stream-Safe Text allows (30)
is put in canonical order before CPython's NFKC sees it, which would otherwise sort it in
quadratic time: a million marks, the longest paragraph matched by default, would take minutes
(see :func:`_nfkc`).

:func:`normalize` is the reference, written plainly. :func:`normalize_batch` gives the same
result for a whole batch at once: a compiled kernel maps code points through a table for the
characters whose normalization does not depend on their neighbours (nearly all text), and a
paragraph holding anything else goes through :func:`normalize`.

>>> normalize("The force’s “commissioner” -- Sir Mark Rowley!")
'the forces commissioner sir mark rowley'
>>> normalize("ＦＵＬＬ\u00adwidth")
'fullwidth'
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from collections.abc import Callable

import numpy as np

__all__ = ["normalize", "normalize_batch", "normalize_spans", "normalize_utf8_spans", "NormalizedBatch"]

# Characters that play the part of an apostrophe in running text. They join the two halves of a
# word ("don’t", "Kaba’s"), so they are deleted rather than turned into a word break.
APOSTROPHES = "'\u2018\u2019\u201b\u02bc\u2032\uff07\u055a\ua78c"

# Table codes for characters that do not map to one code point.
SPACE = -1
DELETE = -2
FALLBACK = -3  # the character's normalization depends on its neighbours


def _char_class(ch: str) -> str | None:
    """The normalized form of one character that has already been NFKC'd and casefolded:
    ``" "`` for a word break, ``""`` for a deletion, or ``None`` to keep it."""
    if ch in APOSTROPHES:
        return ""
    category = unicodedata.category(ch)
    if category == "Cf":
        return ""
    if category[0] == "P" or ch.isspace():
        return " "
    return None


class _Translation(dict[int, "int | str"]):
    """The ``str.translate`` table of :func:`_char_class`, filled in as characters are met
    (building it for all 1.1 million code points up front would take a second)."""

    def __missing__(self, cp: int) -> int | str:
        mapped = _char_class(chr(cp))
        value: int | str = cp if mapped is None else mapped
        self[cp] = value
        return value


_TRANSLATION = _Translation()


def normalize(text: str) -> str:
    """Normalize one paragraph (the reference implementation).

    >>> normalize("  Hello,\\tWORLD…  ")
    'hello world'
    """
    out = _fold(text)
    # Deleting a character, or casefolding, can bring a letter next to a combining mark that it
    # then composes with ("cafe'\u0301"). Folding again until nothing changes makes the result a
    # fixed point, so normalizing normalized text changes nothing. ASCII is always one already.
    for _ in range(8):
        if out.isascii():
            break
        again = _fold(out)
        if again == out:
            break
        out = again
    return out


def _fold(text: str) -> str:
    folded = _nfkc(text).casefold()
    return " ".join(folded.translate(_TRANSLATION).split())


# Runs of combining marks at least this long are put in canonical order before NFKC. Text in
# UAX #15's Stream-Safe Text Format never has a run longer than 30, so ordinary text never
# takes this path, and a shorter run costs NFKC little however it is ordered.
LONG_RUN = 31

# Every non-starter is outside ASCII, so a long run of them is inside a long non-ASCII run.
# (Written as one character and then the rest, ``re`` skips to the first candidate in a tight
# loop: half the time of ``{31}`` on a paragraph of English.)
_NON_ASCII_RUN = re.compile("[^\x00-\x7f][^\x00-\x7f]{%d}" % (LONG_RUN - 1))


def _nfkc(text: str) -> str:
    """``unicodedata.normalize("NFKC", text)``, without its quadratic time on combining marks.

    CPython puts each run of non-starters (combining marks, after decomposition) in canonical
    order by insertion sort, in time that grows with the square of the run's length: 20,000
    alternating U+0301 U+0316 take 0.3 s, 80,000 take 4.8 s, a million would take minutes. So
    a long run is first replaced by its full decomposition, stably sorted by combining class.
    That is exactly what the Canonical Ordering Algorithm (The Unicode Standard, section 3.11)
    makes of it, so the text stays equivalent, NFKC gives the same result as on the original,
    character for character, and its own sort finds the run already in order.

    >>> _nfkc("a" + "\u0301\u0316" * 40) == "\u00e1" + "\u0316" * 40 + "\u0301" * 39
    True
    """
    if _NON_ASCII_RUN.search(text) is not None:
        text = _non_starter_runs().sub(_canonical_order, text)
    return unicodedata.normalize("NFKC", text)


@functools.cache
def _non_starters(ch: str) -> str | None:
    """The full decomposition of ``ch`` when every character of it has a non-zero combining
    class (U+0301, but also U+0F73, which is a starter itself and decomposes to two marks),
    else ``None``."""
    decomposed = unicodedata.normalize("NFKD", ch)
    return decomposed if all(map(unicodedata.combining, decomposed)) else None


@functools.cache
def _non_starter_runs() -> re.Pattern[str]:
    """Runs of :data:`LONG_RUN` or more characters that may be non-starters: those of the Basic
    Multilingual Plane exactly, and every character beyond it. (Python's ``re`` tests a set of
    BMP characters in constant time but a list of astral ones one at a time, which would cost
    more than NFKC itself; :func:`_canonical_order` checks each character of a run anyway.)
    Built on first use, in about 20 ms, by a scan of the BMP."""
    candidates = (ch for ch in map(chr, range(0x10000)) if unicodedata.combining(ch) or unicodedata.decomposition(ch))
    marks = "".join(ch for ch in candidates if _non_starters(ch) is not None)
    run = "[%s\U00010000-\U0010ffff]" % re.escape(marks)
    return re.compile("%s%s{%d,}" % (run, run, LONG_RUN - 1))


class _Stretches(dict[int, str]):
    """The ``str.translate`` table that :func:`_canonical_order` cuts a run with: a character
    that decomposes to non-starters only becomes its decomposition; any other (only an astral
    character can be one in a run) ends a stretch of them, and gets a NUL before it, which no
    run holds, to say so."""

    def __missing__(self, cp: int) -> str:
        ch = chr(cp)
        decomposed = _non_starters(ch)
        value = "\0" + ch if decomposed is None else decomposed
        self[cp] = value
        return value


_STRETCHES = _Stretches()


def _canonical_order(run: re.Match[str]) -> str:
    """A run that :func:`_non_starter_runs` found, with each stretch of non-starters in it
    replaced by its decomposition, stably sorted by combining class."""
    text = run.group()
    if unicodedata.is_normalized("NFKD", text):  # decomposed and in order already: a linear check
        return text
    first, *rest = text.translate(_STRETCHES).split("\0")
    pieces = [_by_combining_class(first)]
    for piece in rest:
        pieces += (piece[0], _by_combining_class(piece[1:]))
    return "".join(pieces)


def _by_combining_class(marks: str) -> str:
    return "".join(sorted(marks, key=unicodedata.combining))


def _composition_seconds() -> set[int]:
    """Code points that can be the second half of a canonical composition: next to the right
    neighbour, NFKC may merge them, so they cannot be mapped one at a time."""
    seconds = {cp for cp in range(0x1161, 0x1176)} | {cp for cp in range(0x11A8, 0x11C3)}
    for cp in range(sys.maxunicode + 1):
        decomposition = unicodedata.decomposition(chr(cp))
        if decomposition and not decomposition.startswith("<"):
            parts = decomposition.split()
            if len(parts) == 2:
                seconds.add(int(parts[1], 16))
    return seconds


@functools.cache
def code_point_table() -> tuple[np.ndarray, np.ndarray]:
    """:func:`build_code_point_table`, cached on disk: building it walks every code point
    (about 2 s), and it only changes with the Unicode version or this module's code."""
    from dedup._cache import cached_arrays

    def build() -> dict[str, np.ndarray]:
        table, expansions = build_code_point_table()
        return {"table": table, "expansions": expansions}

    def valid(arrays: dict[str, np.ndarray]) -> bool:
        table, expansions = arrays.get("table"), arrays.get("expansions")
        return (
            table is not None and expansions is not None and table.dtype == np.int32 and table.shape == (sys.maxunicode + 1,)
            and expansions.dtype == np.int32 and expansions.ndim == 2 and expansions.shape[1] == 3
        )

    # Named after what the table is made from, the Unicode data and this module's code (the
    # builder and the rules it encodes), so that a change to either builds it again.
    import hashlib
    from pathlib import Path

    code = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    arrays = cached_arrays(f"normalize-table-{unicodedata.unidata_version}-{code}.npz", build, valid)
    return arrays["table"], arrays["expansions"]


def build_code_point_table() -> tuple[np.ndarray, np.ndarray]:
    """The kernel's view of :func:`normalize`, one code point at a time.

    Returns ``(table, expansions)``. ``table[cp]`` is the code point that ``cp`` becomes, or
    :data:`SPACE`, :data:`DELETE`, :data:`FALLBACK`, or ``-16 - k`` for a character that
    casefolds to several (row ``k`` of ``expansions``, padded with zeros). A character is mapped
    alone only when NFKC leaves it unchanged whatever its neighbours: it is NFKC-stable, has
    combining class 0 and is never the second half of a composition. Everything else is
    :data:`FALLBACK`, and its paragraph goes through :func:`normalize`; so is a character that
    casefolds to something that is not itself final.
    """
    seconds = _composition_seconds()

    def context_free(ch: str) -> bool:
        cp = ord(ch)
        return not (
            0xD800 <= cp <= 0xDFFF
            or cp in seconds
            or unicodedata.combining(ch)
            or unicodedata.category(ch) in ("Mn", "Mc", "Me")
            or unicodedata.normalize("NFKC", ch) != ch
        )

    table = np.full(sys.maxunicode + 1, FALLBACK, dtype=np.int32)
    expansions: list[list[int]] = []
    for cp in range(sys.maxunicode + 1):
        ch = chr(cp)
        if not context_free(ch):
            continue
        folded = ch.casefold()
        # What it becomes must be final too: context-free and unchanged by another fold
        # (casefolding "ǰ" gives "j" and a combining caron, which NFKC composes again).
        if not all(context_free(c) and c.casefold() == c for c in folded if _char_class(c) is None):
            continue
        out = [_char_class(c) for c in folded]
        mapped = [" " if o == " " else "" if o == "" else c for o, c in zip(out, folded)]
        text = "".join(mapped)
        if len(folded) == 1:
            table[cp] = SPACE if text == " " else DELETE if text == "" else ord(text)
        elif len(text) <= 3:
            table[cp] = -16 - len(expansions)
            row = [ord(c) if c != " " else SPACE for c in text]
            expansions.append(row + [0] * (3 - len(row)))
    exp = np.array(expansions or [[0, 0, 0]], dtype=np.int32)
    return table, exp


class NormalizedBatch:
    """The normalized text of a batch of paragraphs, as one UTF-8 buffer.

    ``data[offsets[i]:offsets[i + 1]]`` is paragraph ``i``, normalized and UTF-8 encoded. This is
    what the hashing kernels read: no Python object per paragraph.
    """

    __slots__ = ("data", "offsets")

    def __init__(self, data: np.ndarray, offsets: np.ndarray) -> None:
        if data.dtype != np.uint8 or offsets.dtype != np.int64:
            raise ValueError("data must be uint8 and offsets int64")
        if offsets.ndim != 1 or len(offsets) < 1 or offsets[0] != 0 or offsets[-1] != len(data):
            raise ValueError("offsets must run from 0 to len(data)")
        self.data = data
        self.offsets = offsets

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def text(self, i: int) -> str:
        return bytes(self.data[self.offsets[i] : self.offsets[i + 1]]).decode("utf-8")

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def word_counts(self) -> np.ndarray:
        """Words in each paragraph: normalized text has one space between words and none at
        the ends, so it is the spaces plus one (zero for an empty paragraph).

        >>> normalize_batch(["Two words.", "", "one"]).word_counts().tolist()
        [2, 0, 1]
        """
        spaces = np.zeros(len(self.data) + 1, dtype=np.int64)
        np.cumsum(self.data == 32, out=spaces[1:])
        counts = spaces[self.offsets[1:]] - spaces[self.offsets[:-1]] + 1
        return np.where(self.lengths() == 0, 0, counts)


def normalize_batch(texts: list[str]) -> NormalizedBatch:
    """Normalize a batch of paragraphs at once; the result equals :func:`normalize` on each.

    >>> batch = normalize_batch(["Soldiers are ALSO on standby.", "", "Kaba’s car"])
    >>> [batch.text(i) for i in range(len(batch))]
    ['soldiers are also on standby', '', 'kabas car']
    """
    n = len(texts)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=n), out=offsets[1:])
    return normalize_spans("".join(texts), offsets[:-1], offsets[1:])


def normalize_spans(text: str, starts: np.ndarray, ends: np.ndarray) -> NormalizedBatch:
    """Normalize the paragraphs ``text[starts[i]:ends[i]]`` (character offsets, in order and
    not overlapping), without copying them out of ``text`` first."""
    from dedup import _kernel

    n = len(starts)
    # "surrogatepass" keeps lone surrogates (JSON can carry them); the table sends them to the
    # reference path.
    src = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    if text.isascii():
        return normalize_utf8_spans(src, starts, ends)
    points = np.empty(2 * n, dtype=np.int64)
    points[0::2] = starts
    points[1::2] = ends
    if n and np.any(np.diff(points) < 0):
        raise ValueError("spans must be in order and must not overlap")
    byte_points = _kernel.char_to_byte_offsets(src, points)
    return normalize_utf8_spans(src, byte_points[0::2].copy(), byte_points[1::2].copy())


def normalize_utf8_spans(src: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> NormalizedBatch:
    """Normalize the paragraphs ``src[starts[i]:ends[i]]`` of UTF-8 bytes (as Python's encoder
    writes them, with "surrogatepass"), spans in order and not overlapping."""
    from dedup import _kernel

    table, expansions = code_point_table()
    data, offsets, fallback = _kernel.normalize_utf8(src, starts, ends, table, expansions)
    if fallback.any():
        data, offsets = _splice(
            data, offsets, fallback, lambda i: bytes(src[starts[i] : ends[i]]).decode("utf-8", "surrogatepass")
        )
    return NormalizedBatch(data, offsets)


def _splice(
    data: np.ndarray, offsets: np.ndarray, fallback: np.ndarray, text_of: Callable[[int], str]
) -> tuple[np.ndarray, np.ndarray]:
    """Replace the paragraphs the kernel could not map with their reference normalization."""
    n = len(offsets) - 1
    lengths = np.diff(offsets)
    pieces: list[bytes] = []
    start = 0
    for i in np.flatnonzero(fallback).tolist():
        pieces.append(data[offsets[start] : offsets[i]].tobytes())
        encoded = normalize(text_of(i)).encode("utf-8", "surrogatepass")
        pieces.append(encoded)
        lengths[i] = len(encoded)
        start = i + 1
    pieces.append(data[offsets[start] : offsets[n]].tobytes())
    new_offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_offsets[1:])
    return np.frombuffer(b"".join(pieces), dtype=np.uint8).copy(), new_offsets
