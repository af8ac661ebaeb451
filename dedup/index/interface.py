"""What every index backend is and takes: the interface :class:`Index`, its settings
(:class:`IndexParams`), the record of paragraphs to store (:class:`Records`) and of stored
paragraphs read back (:class:`Fetched`), and its errors. It imports no backend: the backends
(:mod:`dedup.index.sqlite`, :mod:`dedup.index.redis`) import it, and :func:`dedup.index.open_index`
picks one.

What an index stores, and why, is told in :mod:`dedup.index`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np

__all__ = [
    "IndexParams",
    "IndexError_",
    "IndexMismatch",
    "Index",
    "Fetched",
    "Postings",
    "Records",
    "SCHEMA_VERSION",
    "DEFAULT_POSTING_CAP",
    "MAX_POSTING_WORD",
    "stored_doc_id",
    "loaded_doc_id",
    "iso_time",
]

# What the stored hashes mean: 1, shingles and whole texts hashed by two xxHash32 side by side;
# 2, by XXH64. An index of another version cannot be matched against (see check_schema).
SCHEMA_VERSION = 2
# Postings an n-gram may have before it counts as a stock phrase and is looked up no more: the
# reuse matcher's max_doc_freq (dedup.reuse.ReuseConfig), as passim limits n-gram frequency.
DEFAULT_POSTING_CAP = 100
# Word numbers a posting can hold (23 bits, beside a 40-bit pid in one 64-bit entry of the
# embedded index): n-grams further into a document than this are not stored.
MAX_POSTING_WORD = (1 << 23) - 1


def iso_time(seconds: float) -> str:
    """Unix seconds as ISO 8601 UTC, to the millisecond.

    >>> iso_time(0)
    '1970-01-01T00:00:00.000Z'
    """
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def stored_doc_id(doc: str) -> str | bytes:
    """A document id as a store keeps it: the text, or, for an id that is not valid Unicode
    (a lone surrogate, from an undecodable file name or a JSON escape), its bytes, kept with
    ``surrogatepass`` so that it round-trips (:func:`loaded_doc_id`)."""
    try:
        doc.encode("utf-8")
    except UnicodeEncodeError:
        return doc.encode("utf-8", "surrogatepass")
    return doc


def loaded_doc_id(value: str | bytes) -> str:
    """The id :func:`stored_doc_id` stored; :class:`IndexError_` for what it cannot have."""
    if isinstance(value, str):
        return value
    try:
        return value.decode("utf-8", "surrogatepass")
    except (UnicodeDecodeError, AttributeError):
        raise IndexError_(f"index is damaged: a stored document id is not text ({value[:40]!r})") from None


class IndexError_(Exception):
    """The index cannot be used: not an index, corrupted, unreachable. The message says which."""


class IndexMismatch(IndexError_):
    """The index was created with other parameters."""


_DERIVED = ("bands", "rows")  # IndexParams chosen by dedup from the others, not by the user


@dataclass(frozen=True)
class IndexParams:
    """The settings an index is built for. Every field must match to reuse an index."""

    num_perm: int
    seed: int
    shingle: str
    threshold: float
    bands: int
    rows: int
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if self.bands * self.rows > self.num_perm:
            raise ValueError("bands * rows cannot exceed num_perm")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IndexParams:
        try:
            return cls(
                num_perm=int(data["num_perm"]),
                seed=int(data["seed"]),
                shingle=str(data["shingle"]),
                threshold=float(data["threshold"]),
                bands=int(data["bands"]),
                rows=int(data["rows"]),
                schema_version=int(data["schema_version"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise IndexError_(f"index parameters are unreadable ({err})") from None

    @staticmethod
    def check_schema(stored: int, where: str) -> None:
        """Refuse an index whose stored hashes this dedup does not make (:data:`SCHEMA_VERSION`),
        with what to do: matching against it would silently find nothing."""
        if stored < SCHEMA_VERSION:
            raise IndexMismatch(
                f"{where} was made by an earlier dedup, which hashed shingles differently (index version {stored}; this dedup "
                f"makes version {SCHEMA_VERSION}): it cannot be matched against; make a new index (dedup index export lists what it holds)"
            )
        if stored > SCHEMA_VERSION:
            raise IndexMismatch(f"{where} was made by a newer dedup (index version {stored}; this one reads version {SCHEMA_VERSION}): upgrade dedup")

    def check_same(self, other: IndexParams, where: str) -> None:
        """Raise :class:`IndexMismatch` naming each differing setting. Bands and rows follow
        from the threshold and num_perm, so they are named only when those are the same (the
        index was made by a version of dedup that chose them otherwise)."""
        self.check_schema(other.schema_version, where)
        mine, theirs = self.as_dict(), other.as_dict()
        differ = [k for k in mine if mine[k] != theirs[k]]
        if any(k not in _DERIVED for k in differ):
            differ = [k for k in differ if k not in _DERIVED]
        diffs = [f"{k} {theirs[k]!r} (asked for {mine[k]!r})" for k in differ]
        if diffs:
            raise IndexMismatch(f"{where} was built with other settings: " + ", ".join(diffs) + "; use those settings or a new index")


@dataclass(frozen=True)
class Fetched:
    """Stored paragraphs, as columns: ``doc_ids[k]``, ``paragraphs[k]``, ``ingested_at[k]``
    (Unix seconds), and shingle set ``k`` = ``hashes[offsets[k]:offsets[k + 1]]``."""

    pids: np.ndarray
    doc_ids: list[str]
    paragraphs: np.ndarray
    ingested_at: np.ndarray
    hashes: np.ndarray
    offsets: np.ndarray


@dataclass(frozen=True)
class Postings:
    """The word n-grams of paragraphs, for :meth:`Index.add`: paragraph ``k``'s n-grams are
    ``hashes[offsets[k]:offsets[k + 1]]`` (uint64), each with the number of its first word in
    the paragraph's *document* (``words``, from 0, counted through the document's paragraphs so
    that a run of reuse can cross them)."""

    offsets: np.ndarray
    hashes: np.ndarray
    words: np.ndarray

    def __post_init__(self) -> None:
        offsets = np.asarray(self.offsets, dtype=np.int64)
        if offsets.ndim != 1 or not len(offsets) or offsets[0] != 0 or np.any(np.diff(offsets) < 0):
            raise ValueError("posting offsets must start at 0 and not decrease")
        if len(self.hashes) != offsets[-1] or len(self.words) != offsets[-1]:
            raise ValueError("postings must hold one hash and one word number per n-gram")
        if len(self.words) and (np.min(self.words) < 0):
            raise ValueError("posting word numbers must be at least 0")
        object.__setattr__(self, "offsets", offsets)
        object.__setattr__(self, "hashes", np.ascontiguousarray(self.hashes, dtype=np.uint64))
        object.__setattr__(self, "words", np.ascontiguousarray(self.words, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def owners(self) -> np.ndarray:
        """The paragraph (position in the batch) of each n-gram."""
        return np.repeat(np.arange(len(self), dtype=np.int64), np.diff(self.offsets))


@dataclass(frozen=True)
class Records:
    """Paragraphs for :meth:`Index.add`, as columns, checked when made: paragraph ``k`` is
    ``paragraphs[k]`` (its number in its document) of document ``doc_ids[k]``, with band keys
    ``band_keys[:, k]`` (shape ``(bands, n)``, uint64) and shingle set
    ``hashes[offsets[k]:offsets[k + 1]]`` (sorted unique uint64), all ingested at
    ``ingested_at`` (Unix seconds).

    ``exact_keys``: one uint64 per paragraph, the hash of its normalized text
    (:func:`dedup._kernel.text_hashes`), for :meth:`Index.query_exact`; without them the
    paragraphs are found through their band keys only. ``postings``: their word n-grams, for
    :meth:`Index.query_postings`; paragraphs stored without them make
    :meth:`Index.postings_status` say so.

    >>> records = Records(["doc"], [1], np.zeros((31, 1)), np.array([7, 9]), [0, 2], 0.0)
    >>> len(records), records.band_keys.dtype.name, records.hashes.dtype.name
    (1, 'uint64', 'uint64')
    >>> Records(["a", "b"], [1], np.zeros((31, 2)), [], [0, 0, 0], 0.0)
    Traceback (most recent call last):
    ...
    ValueError: doc_ids, paragraphs, band keys and offsets must describe the same paragraphs
    """

    doc_ids: list[str]
    paragraphs: np.ndarray
    band_keys: np.ndarray
    hashes: np.ndarray
    offsets: np.ndarray
    ingested_at: float
    exact_keys: np.ndarray | None = None
    postings: Postings | None = None

    def __post_init__(self) -> None:
        keys = np.asarray(self.band_keys)
        if keys.ndim != 2:
            raise ValueError(f"band_keys must have shape (bands, n), not {keys.shape}")
        n = keys.shape[1]
        numbers = np.asarray(self.paragraphs, dtype=np.int64).reshape(-1)
        offsets = np.asarray(self.offsets, dtype=np.int64).reshape(-1)
        hashes = np.asarray(self.hashes).astype("<u8", copy=False).reshape(-1)
        if len(self.doc_ids) != n or len(numbers) != n or len(offsets) != n + 1:
            raise ValueError("doc_ids, paragraphs, band keys and offsets must describe the same paragraphs")
        if offsets[0] != 0 or offsets[-1] != len(hashes) or np.any(np.diff(offsets) < 0):
            raise ValueError("offsets must start at 0, not decrease, and end at the number of hashes")
        if np.any(numbers < 0):
            raise ValueError("paragraph numbers must be at least 0")
        at = float(self.ingested_at)
        if not np.isfinite(at):
            raise ValueError("ingested_at must be a finite number of seconds")
        exact = None
        if self.exact_keys is not None:
            exact = np.ascontiguousarray(self.exact_keys, dtype=np.uint64)
            if exact.shape != (n,):
                raise ValueError(f"exact_keys must hold one key per paragraph ({n}), not shape {exact.shape}")
        if self.postings is not None and len(self.postings) != n:
            raise ValueError(f"postings must describe the {n} paragraphs added, not {len(self.postings)}")
        object.__setattr__(self, "doc_ids", list(self.doc_ids))
        object.__setattr__(self, "paragraphs", numbers)
        object.__setattr__(self, "band_keys", np.ascontiguousarray(keys, dtype=np.uint64))
        object.__setattr__(self, "hashes", hashes)
        object.__setattr__(self, "offsets", offsets)
        object.__setattr__(self, "ingested_at", at)
        object.__setattr__(self, "exact_keys", exact)

    def __len__(self) -> int:
        return int(self.band_keys.shape[1])


class Index(abc.ABC):
    """What the filter needs from a store of ingested paragraphs."""

    params: IndexParams
    # Whether add() stores the postings it is given (query_postings answers for them).
    keeps_postings: bool = False
    # Told, in a sentence, when a batch has to wait long for another process's, and whom for.
    on_wait: Callable[[str], None] | None = None

    @abc.abstractmethod
    def batch(self) -> AbstractContextManager[None]:
        """Hold the index for one query-decide-insert step. While held, no other process can
        insert, so "first seen" is decided the same way by every worker. Inserts made inside
        become visible to others only when the block exits without an exception."""

    @abc.abstractmethod
    def query(self, band_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Candidates for queries with ``band_keys`` (shape ``(bands, n)``, uint64): arrays
        ``(query_index, pid)``, unique pairs, sharing at least one band key. A band key is a
        value of its band alone (dedup's mix the band's number in), so a backend may match it
        whatever band it stands in: the embedded index keeps every band's keys in one sorted
        array."""

    @abc.abstractmethod
    def query_exact(self, exact_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stored paragraphs whose normalized text has one of ``exact_keys`` (uint64, a hash of
        the whole normalized text, :func:`dedup._kernel.text_hashes`): arrays ``(query_index,
        pid)``, unique pairs, for each query the live paragraphs added with that key (at least
        the earliest, if there is one).

        This lookup does not go through the band buckets, so no bucket cap can hide an exact
        copy, however many paragraphs share its band keys. A hit is a candidate like any other:
        the caller verifies it on the shingle sets (a hash collision costs one verification)."""

    def query_postings(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The postings of word n-grams ``hashes`` (uint64): arrays ``(query_index, pid, word)``,
        each a live stored paragraph holding that n-gram with its first word at word ``word`` of
        the paragraph's document. Nothing is returned for an n-gram with more than the index's
        ``posting_cap`` postings (a stock phrase). Check :meth:`postings_status` first: a
        paragraph stored without postings is not found here."""
        raise IndexError_(self.postings_status() or "this index keeps no n-gram postings")

    def postings_status(self) -> str | None:
        """``None`` when every stored paragraph can be found by :meth:`query_postings`; else a
        sentence saying why not and what to do."""
        return "this kind of index keeps no n-gram postings, which --containment needs"

    @abc.abstractmethod
    def fetch(self, pids: np.ndarray) -> Fetched:
        """The stored paragraphs ``pids``, in that order."""

    @abc.abstractmethod
    def add(self, records: Records, *, queried: np.ndarray | None = None) -> np.ndarray:
        """Store ``records`` and return their new pids. Call inside :meth:`batch`; the records
        are stored in the batch's commit. ``queried``, optional: where these paragraphs stand
        among the band keys of this batch's last :meth:`query`, for a backend that can reuse
        work done for it (others ignore it). N-grams of ``records.postings`` that a lookup of
        this batch found to be stock phrases may be left out."""

    @abc.abstractmethod
    def remove(self, doc_ids: list[str]) -> int:
        """Forget every paragraph of these documents; return how many."""

    @abc.abstractmethod
    def prune(self, before: float) -> int:
        """Forget paragraphs ingested before ``before`` (Unix seconds); return how many."""

    @abc.abstractmethod
    def stats(self) -> dict[str, Any]:
        """Counts and settings, for ``dedup index stats``."""

    @abc.abstractmethod
    def export(self) -> Iterator[dict[str, Any]]:
        """Every stored paragraph as a JSON-ready row, for ``dedup index export``."""

    # -- argument checks shared by the backends ---------------------------------------------

    def _band_keys(self, band_keys: np.ndarray) -> np.ndarray:
        """``band_keys`` as a contiguous uint64 array of shape ``(bands, n)``."""
        keys = np.asarray(band_keys)
        if keys.ndim != 2 or keys.shape[0] != self.params.bands:
            raise ValueError(f"band_keys must have shape ({self.params.bands}, n), not {keys.shape}")
        return np.ascontiguousarray(keys, dtype=np.uint64)

    def _query_keys(self, exact_keys: np.ndarray) -> np.ndarray:
        """The ``exact_keys`` of :meth:`query_exact` as a contiguous, one-dimensional uint64 array."""
        keys = np.ascontiguousarray(exact_keys, dtype=np.uint64)
        if keys.ndim != 1:
            raise ValueError(f"exact_keys must be one-dimensional, not shape {keys.shape}")
        return keys

    def _records(self, records: Records) -> Records:
        """``records``, checked against this index's number of bands (as a query's keys are)."""
        self._band_keys(records.band_keys)
        return records

    def close(self) -> None:  # noqa: B027 - optional for backends
        """Release the index."""

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
