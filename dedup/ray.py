"""The report and the filter on Ray: the same stages, run where the data is, with the same answers.

``find_duplicates(inputs, config, address=None)`` returns the same :class:`~dedup.pipeline.Result`
as :func:`dedup.pipeline.find_duplicates` on the same inputs, cluster for cluster and pair for
pair: the engine moves arrays between the stages, and the stages are the local engine's.

1. **Map** (``map_batches``, one input file a batch): each file is read with
   :class:`~dedup.documents.DocumentReader`, segmented (:class:`~dedup.paragraphs.ParagraphTable`),
   normalized and grouped into exact copies (:func:`dedup.matching.prepare`), hashed into
   band keys (:func:`dedup._kernel.minhash_band_keys`) and shingled
   (:class:`~dedup.verify.ShingleSets`), by the same compiled kernels.
2. **Identity**: a paragraph's id is its place in input order, the files' order (as the
   local reader lists them) then the paragraph's place in its file; the driver adds up the
   files' paragraph counts, so no id is assigned by the engine or depends on the cluster.
   Exact copies across files are grouped on the driver by a 64-bit hash of the normalized text
   and its length (16 bytes a distinct text); within a file they are compared byte for byte,
   as locally. The distinct texts are then numbered in input order, as the local engine
   numbers them.
3. **Shuffle** (rounds of Ray tasks over numpy arrays, one per partition): the band keys of
   the distinct texts go, by a hash of (band, key), to ``partitions`` partitions, so each
   bucket lands whole in one, which pairs it with the local rule (:class:`~dedup._kernel.lsh.Buckets`: each of a bucket's first ``window`` = 64
   members in input order pairs with every later one).
4. **Candidates**: the pairs are deduplicated (a pair that shares several bands is proposed
   once), then joined, by two more shuffles, with the shingle sets of both their paragraphs,
   and verified exactly where they meet (:meth:`dedup.verify.ShingleSets.verify`).
5. **Clusters**: the verified edges, sorted by their later paragraph, stream to the driver a
   partition at a time (partitions are ranges of input order) into the local first-seen clustering (:class:`dedup.cluster.FirstSeen`);
   only the paragraphs shown in the report are read again, from their files.

Where this stops scaling: the driver holds about 90 bytes per paragraph in arrays (the matched
rows, their exact-copy groups, the distinct texts' hashes, documents and the first-seen
state), and the :class:`~dedup.pipeline.Result`'s objects for every cluster member; so 1
billion paragraphs need some hundreds of GB on one driver (``python -m benchmarks ray``
measures its peak). The next step is to group exact copies by a
distributed shuffle of the text hashes and to find connected components on Ray (large-star /
small-star), then run first-seen within each component, which needs no global state.

The settings travel with every task, with a hash of them: a worker whose dedup would cut band
keys or shingles differently (another version, other bands and rows) refuses to run.

:func:`filter_dataset` is :class:`dedup.filter.Filter` as a Ray Data step, against a shared
index (Redis), for pipelines that already run on Ray.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dedup.config import Config
from dedup.documents import DEFAULT_GLOBS, DOC_NAMES, STDIN, Document, DocumentReader, InputError, Skip
from dedup.lsh import BandedLSH
from dedup.paragraphs import Paragraph
from dedup.pipeline import ClusterBuilder, Result, Stats, Timer, collector_paused
from dedup.signatures import permutations
from dedup.verify import ShingleSets

if TYPE_CHECKING:
    import pyarrow as pa  # type: ignore[import-untyped]
    import ray.data

__all__ = ["find_duplicates", "report_from_reader", "filter_dataset", "ReadOptions", "EngineStats", "EngineError", "settings_hash"]

# Seconds to wait for a cluster's address to answer before saying it cannot be reached.
CONNECT_TIMEOUT = 5.0
# Distinct texts per partition of the shuffles, at most (when there are more than two
# partitions per CPU): a reducer then holds the band keys of this many texts (8 bytes a band).
PARAGRAPHS_PER_PARTITION = 250_000
# Bits of a pair's later paragraph in a pair code (left << PAIR_BITS | right): a run has at
# most 2**31 - 1 distinct texts, as the local engine (dedup.lsh) allows.
PAIR_BITS = 31


class EngineError(Exception):
    """Ray cannot be reached, or a worker cannot run this dedup: one line, for the CLI."""


@dataclass(frozen=True)
class ReadOptions:
    """How inputs are read: the options of ``dedup report`` that name formats and fields."""

    jsonl: bool = False
    text_field: str = "text"
    id_field: str = "id"
    globs: tuple[str, ...] = DEFAULT_GLOBS
    doc_names: tuple[str, ...] = DOC_NAMES
    encoding: str = "utf-8"

    @classmethod
    def of(cls, reader: DocumentReader) -> ReadOptions:
        """The options ``reader`` reads with."""
        return cls(reader.jsonl, reader.text_field, reader.id_field, reader.globs, reader.doc_names, reader.encoding)

    def reader(self, sources: list[str]) -> DocumentReader:
        return DocumentReader(
            sources, globs=self.globs, doc_names=self.doc_names, jsonl=self.jsonl, text_field=self.text_field, id_field=self.id_field, encoding=self.encoding
        )


def settings_hash(config: Config) -> str:
    """A hash of everything that decides band keys, shingles and verification, and of dedup's
    version: the driver sends it with every task, and each worker checks it against its own."""
    import dedup

    lsh = BandedLSH.for_threshold(config.threshold, config.num_perm, config.window)
    bands, rows = lsh.bands, lsh.rows
    described = {**{k: str(v) for k, v in asdict(config).items()}, "bands": bands, "rows": rows, "version": dedup.__version__}
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]


def _check_settings(config: Config, expected: str) -> None:
    found = settings_hash(config)
    if found != expected:
        raise EngineError(f"worker {os.uname().nodename} (pid {os.getpid()}) has settings hash {found}, not the driver's {expected}: install the same dedup everywhere")


# ---------------------------------------------------------------------------------------------
# Inputs: files in input order, local or at any URL pyarrow opens.


def _is_url(source: str) -> bool:
    return "://" in source


def list_inputs(sources: Sequence[str], options: ReadOptions) -> tuple[list[str], list[Skip]]:
    """The files ``sources`` name or hold, in the order the local engine reads them, and what
    the listing left out. Local directories are listed by :class:`DocumentReader` itself; a
    URL is listed through ``pyarrow.fs``, ordered and matched the same way."""
    if STDIN in sources:
        raise InputError("standard input cannot be read by the Ray engine: give files, directories or URLs")
    files: list[str] = []
    skipped: list[Skip] = []
    local = [s for s in sources if not _is_url(s)]
    reader = options.reader(local)
    reader.check()
    for source in sources:
        if _is_url(source):
            files += _list_url(source, reader)
        elif os.path.isdir(source):
            listed, left_out = reader.listing(Path(source))
            files += listed
            skipped += left_out
        else:
            files.append(source)
    return files, skipped


def _list_url(url: str, reader: DocumentReader) -> list[str]:
    from pyarrow import fs as pafs  # type: ignore[import-untyped]

    try:
        filesystem, path = pafs.FileSystem.from_uri(url)
        info = filesystem.get_file_info(path)
    except Exception as err:  # pyarrow raises many kinds: the URL is what the user can fix
        raise InputError(f"{url}: cannot open: {err}") from err
    scheme = url.split("://", 1)[0]
    if info.type == pafs.FileType.NotFound:
        raise InputError(f"{url}: no such file or directory")
    if info.type != pafs.FileType.Directory:
        return [url]
    matches = reader.matcher()
    keyed: list[tuple[tuple[str, ...], str]] = []
    top = path.rstrip("/")
    for entry in filesystem.get_file_info(pafs.FileSelector(top, recursive=True)):
        if entry.type != pafs.FileType.File:
            continue
        parts = tuple(entry.path[len(top) + 1 :].split("/"))
        if any(part.startswith(".") for part in parts[:-1]) or not matches(parts[-1]):
            continue
        keyed.append((parts, f"{scheme}://{entry.path}"))
    keyed.sort()
    if not keyed:
        raise InputError(f"{url}: directory holds no files matching {', '.join(reader.globs)}")
    return [name for _, name in keyed]


def read_file(name: str, options: ReadOptions) -> tuple[list[Document], list[Skip], list[str]]:
    """The documents of one input file (a path or a URL), with what was skipped and warned
    about, read exactly as the local engine reads that file."""
    reader = options.reader([] if _is_url(name) else [name])
    if not _is_url(name):
        return list(reader), reader.skipped, reader.warnings
    import io

    from pyarrow import fs as pafs

    filesystem, path = pafs.FileSystem.from_uri(name)
    documents: list[Document] = []
    try:
        with filesystem.open_input_file(path) as stream:
            # The reader's own dispatch, on pyarrow's stream (seekable) or its bytes.
            documents = list(reader.read_stream(name, stream if name.lower().endswith(".parquet") else io.BytesIO(stream.read())))
    except OSError as err:
        reader.skipped.append(Skip(name, f"cannot read: {err.strerror or err}"))
    return documents, reader.skipped, reader.warnings


# ---------------------------------------------------------------------------------------------
# Ray: connecting, and the stages as functions of a batch.


def _connect(address: str | None) -> bool:
    """Connect to Ray at ``address`` (a new local Ray without one, unless Ray is up in this
    process already). Returns whether this call started the connection, to end it after."""
    try:
        import ray
    except ImportError as err:
        raise EngineError(f"the Ray engine needs Ray: pip install 'dedup[ray]' ({err})") from err
    if address is not None:
        _check_reachable(address)
    if ray.is_initialized():
        return False  # this process's Ray: the cluster it is connected to is the one used
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR, configure_logging=True)
    except Exception as err:  # ConnectionError, ValueError, RuntimeError... all say: not reachable
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise EngineError(f"cannot connect to Ray at {address or 'a new local instance'}: {message}") from err
    return True


def _check_reachable(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Fail within ``timeout`` seconds when nothing listens at ``address`` (``host:port`` or
    ``ray://host:port``): Ray itself retries for minutes."""
    import socket

    target = address.split("://", 1)[-1]
    if target == "auto" or ":" not in target:
        return  # Ray finds the cluster of this machine, or says at once that there is none
    host, _, port = target.rpartition(":")
    try:
        number = int(port)
        with socket.create_connection((host.strip("[]"), number), timeout=timeout):
            pass
    except ValueError:
        raise EngineError(f"cannot connect to Ray at {address}: the port {port!r} is not a number") from None
    except OSError as err:
        raise EngineError(f"cannot connect to Ray at {address}: {err.strerror or err} (is `ray start --head` running there?)") from None


def _bytes(array: np.ndarray) -> bytes:
    """An int64, uint64 or uint32 array as bytes (:func:`_array` reads them back)."""
    if array.dtype not in (np.int64, np.uint64, np.uint32):
        raise TypeError(f"{array.dtype} is not sent as bytes")
    return np.ascontiguousarray(array).tobytes()


def _array(blob: bytes, dtype: Any) -> np.ndarray:
    return np.frombuffer(blob, dtype=dtype)


def _map_files(batch: dict[str, np.ndarray], config: Config, fingerprint: str, options: ReadOptions) -> dict[str, Any]:
    """One input file a batch: read, segment, normalize, group copies, band keys, shingle sets."""
    from dedup import _kernel
    from dedup.matching import prepare
    from dedup.paragraphs import ParagraphTable

    _check_settings(config, fingerprint)
    lsh = BandedLSH.for_threshold(config.threshold, config.num_perm, config.window)
    a, b = permutations(config.num_perm, config.seed)
    out: dict[str, list[Any]] = {name: [] for name in _MAPPED_COLUMNS}
    for shard, name in zip(batch["shard"].tolist(), batch["name"].tolist()):
        documents, skipped, warnings = read_file(name, options)
        table = ParagraphTable([d.name for d in documents], [d.text for d in documents], [d.utf8 for d in documents])
        p = prepare(table, config)
        keys = _kernel.minhash_band_keys(p.batch.data, p.batch.offsets, p.firsts, config.shingle.code, config.shingle.n, a, b, lsh.bands, lsh.rows)
        sets = ShingleSets.of(p.batch, config.shingle, p.firsts)
        lengths = p.batch.offsets[p.firsts + 1] - p.batch.offsets[p.firsts]
        out["shard"].append(shard)
        out["name"].append(name)
        out["paragraphs"].append(len(table))
        out["documents"].append(json.dumps(table.docs))
        out["doc_paragraphs"].append(_bytes(np.bincount(table.doc, minlength=len(table.docs))))
        out["skipped"].append(json.dumps([[s.source, s.reason] for s in skipped]))
        out["warnings"].append(json.dumps(warnings))
        out["empty"].append(int(p.empty.sum()))
        out["short"].append(int(p.short.sum()))
        out["too_long"].append(_bytes(np.flatnonzero(p.too_long)))
        out["rows"].append(_bytes(p.rows))
        out["canonical"].append(_bytes(p.canonical))
        out["firsts"].append(_bytes(p.firsts))
        out["text_hashes"].append(_bytes(p.text_hashes[p.firsts]))
        out["lengths"].append(_bytes(lengths))
        out["keys"].append(_bytes(keys))
        out["set_hashes"].append(_bytes(sets.hashes))
        out["set_offsets"].append(_bytes(sets.offsets))
        out["worker"].append(json.dumps([os.getpid(), _vm_hwm_mb()]))
    return out


_MAPPED_COLUMNS = (
    "shard", "name", "paragraphs", "documents", "doc_paragraphs", "skipped", "warnings", "empty", "short", "too_long",
    "rows", "canonical", "firsts", "text_hashes", "lengths", "keys", "set_hashes", "set_offsets", "worker",
)
_MAP: Any = _map_files  # Ray's stubs do not see a function of a batch and keywords as a UDF
_SUMMARY_COLUMNS = tuple(c for c in _MAPPED_COLUMNS if c not in ("keys", "set_hashes", "set_offsets"))


def _range_of(rows: np.ndarray, partitions: int, distinct: int) -> np.ndarray:
    """The partition of each distinct text: contiguous ranges in input order, so that the
    verified edges come back partition by partition already in the order clustering takes."""
    return (rows.astype(np.int64) * partitions) // max(distinct, 1)


def _bucket_of(bandkey: np.ndarray, partitions: int) -> np.ndarray:
    """The partition of each (band, key): a multiplicative mix, the same on every worker."""
    return ((bandkey * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(33)) % np.uint64(partitions)


def _split(part: np.ndarray, partitions: int, *columns: np.ndarray) -> list[tuple[np.ndarray, ...]]:
    """``columns`` cut into one tuple per partition, each in its original order."""
    # A stable sort of small integers is a radix sort in numpy: linear.
    order = np.argsort(part.astype(np.int16) if partitions <= 2**15 else part, kind="stable")
    bounds = np.searchsorted(part[order], np.arange(partitions + 1))
    return [tuple(c[order[lo:hi]] for c in columns) for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist())]


def _gather_sets(hashes: np.ndarray, offsets: np.ndarray, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sets ``which`` of a set table (``hashes``, ``offsets``): their sizes and their hashes,
    one after another."""
    starts, sizes = offsets[which], offsets[which + 1] - offsets[which]
    ends = np.cumsum(sizes)
    take = np.repeat(starts - (ends - sizes), sizes) + np.arange(int(ends[-1]) if len(ends) else 0, dtype=np.int64)
    return sizes, hashes[take]


def _nbytes(parts: Iterable[tuple[np.ndarray, ...]]) -> int:
    return sum(column.nbytes for part in parts for column in part)


def _vm_hwm_mb() -> float:
    """This process's peak resident memory (VmHWM), in MB."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _shuffle_out(block: pa.Table, numbers: list[Any], config: Config, fingerprint: str, partitions: int, distinct: int) -> list[Any]:
    """Map side of the shuffles, for a block of the map's output (one file a row): the band
    keys of the distinct texts met first in its files, by (band, key), and their shingle sets,
    by text. ``numbers[shard]`` numbers each local first occurrence of a file in the run (-1:
    met in an earlier file). Returns the block's first file, ``partitions`` key parts (see
    :func:`_by_band`), ``partitions`` set parts, and what this task shuffled: ``(bytes, pid,
    peak MB)``."""
    import ray

    _check_settings(config, fingerprint)
    bands = BandedLSH.for_threshold(config.threshold, config.num_perm, config.window).bands
    key_parts: list[list[KeyPart]] = [[] for _ in range(partitions)]
    set_parts: list[list[tuple[np.ndarray, ...]]] = [[] for _ in range(partitions)]
    shards = block.column("shard").to_pylist()
    for k in sorted(range(len(shards)), key=shards.__getitem__):
        number = ray.get(numbers[shards[k]])
        mine = np.flatnonzero(number >= 0)
        rows = number[mine].astype(np.int32)  # at most 2**31 - 1 distinct texts a run, as locally
        keys = _array(block.column("keys")[k].as_py(), np.uint32).reshape(bands, -1)[:, mine].reshape(-1)
        band = np.repeat(np.arange(bands, dtype=np.int64), len(mine))
        part = _bucket_of((band.astype(np.uint64) << np.uint64(32)) | keys, partitions).astype(np.int64)
        for p, (part_band, part_keys, part_rows) in enumerate(_split(part, partitions, band, keys, np.tile(rows, bands))):
            key_parts[p].append((np.searchsorted(part_band, np.arange(bands + 1)), part_keys, part_rows))
        hashes = _array(block.column("set_hashes")[k].as_py(), np.uint64)
        offsets = _array(block.column("set_offsets")[k].as_py(), np.int64)
        sizes, values = _gather_sets(hashes, offsets, mine)
        value_part = np.repeat(_range_of(rows, partitions, distinct), sizes)
        for p, (part_rows, part_sizes) in enumerate(_split(_range_of(rows, partitions, distinct), partitions, rows.astype(np.int64), sizes)):
            set_parts[p].append((part_rows, part_sizes, values[value_part == p]))
    keys_out = [_by_band(parts, bands) for parts in key_parts]
    sets_out = [_concat(parts, 3) for parts in set_parts]
    return [min(shards, default=-1), *keys_out, *sets_out, (_nbytes(keys_out) + _nbytes(sets_out), os.getpid(), _vm_hwm_mb())]


# A part of the band keys: ``(bounds, keys, rows)``, band ``b``'s keys (uint32) and texts
# (int32) at ``bounds[b]:bounds[b + 1]``: 8 bytes a key, the band implied.
KeyPart = tuple[np.ndarray, np.ndarray, np.ndarray]


def _by_band(parts: list[KeyPart], bands: int) -> KeyPart:
    """Key parts of files in input order made one, band by band, each band's keys in the
    parts' order: a band's texts stay in input order, which is the order the window rule
    counts members in."""
    if len(parts) == 1:
        return parts[0]
    pieces = [(k[b0:b1], r[b0:b1]) for b in range(bands) for bounds, k, r in parts for b0, b1 in [(int(bounds[b]), int(bounds[b + 1]))]]
    counts = np.array([sum(int(bounds[b + 1] - bounds[b]) for bounds, _, _ in parts) for b in range(bands)], dtype=np.int64)
    keys = np.concatenate([k for k, _ in pieces]) if pieces else np.empty(0, dtype=np.uint32)
    rows = np.concatenate([r for _, r in pieces]) if pieces else np.empty(0, dtype=np.int32)
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), keys, rows


def _concat(parts: list[tuple[np.ndarray, ...]], width: int) -> tuple[np.ndarray, ...]:
    if not parts:
        return tuple(np.empty(0, dtype=np.int64) for _ in range(width))
    return tuple(np.concatenate(column) for column in zip(*parts))


def _bucket_pairs(config: Config, fingerprint: str, bands: int, partitions: int, distinct: int, *key_parts: KeyPart) -> list[Any]:
    """Reduce side of the band keys: every bucket of this partition is whole here, and is
    paired band by band with the local rule (:class:`~dedup._kernel.lsh.Buckets`, rows in input
    order). Returns the pair codes (``left << PAIR_BITS | right``) by the partition of their
    earlier text, and ``(bytes, pid, peak MB)``."""
    from dedup._kernel.lsh import Buckets

    _check_settings(config, fingerprint)
    bounds, keys, rows = _by_band(list(key_parts), bands)
    codes: list[np.ndarray] = []
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        band_rows = rows[lo:hi].astype(np.int64)
        if len(band_rows) < 2:
            continue
        if not bool((band_rows[1:] > band_rows[:-1]).all()):
            raise EngineError("band keys arrived out of input order: the window rule would count from the wrong members")
        left, right = Buckets(keys[None, lo:hi], config.window).pairs()
        codes.append((band_rows[left] << PAIR_BITS) | band_rows[right])
    code = np.concatenate(codes) if codes else np.empty(0, dtype=np.int64)
    out = [part[0] for part in _split(_range_of(code >> PAIR_BITS, partitions, distinct), partitions, code)]
    return [*out, (sum(c.nbytes for c in out), os.getpid(), _vm_hwm_mb())]


def _attach_left(config: Config, fingerprint: str, partitions: int, distinct: int, pair_count: int, *parts: Any) -> list[Any]:
    """First join, for a partition of texts: the candidate pairs whose earlier text is here,
    each once (a pair proposed by several bands, or several partitions, is deduplicated), and
    these texts' sets. Each pair goes on with its earlier text's set to the partition of its
    later text. Returns those parts, and ``(bytes, pid, peak MB)``."""
    _check_settings(config, fingerprint)
    code = np.unique(np.concatenate([p for p in parts[:pair_count]])) if pair_count else np.empty(0, dtype=np.int64)
    set_rows, set_sizes, set_hashes = _concat(list(parts[pair_count:]), 3)
    left, right = code >> PAIR_BITS, code & ((1 << PAIR_BITS) - 1)
    by_row = np.argsort(set_rows, kind="stable")
    offsets = np.concatenate([[0], np.cumsum(set_sizes)]).astype(np.int64)
    sizes, values = _gather_sets(set_hashes.astype(np.uint64), offsets, by_row[np.searchsorted(set_rows[by_row], left)])
    target = _range_of(right, partitions, distinct)
    value_target = np.repeat(target, sizes)
    out = [(r, l, s, values[value_target == q]) for q, (r, l, s) in enumerate(_split(target, partitions, right, left, sizes))]
    return [*out, (_nbytes(out), os.getpid(), _vm_hwm_mb())]


def _verify(config: Config, fingerprint: str, carried_count: int, *parts: Any) -> tuple[Any, ...]:
    """Second join, for a partition of texts: the pairs whose later text is here meet its set,
    and are verified exactly (:meth:`~dedup.verify.ShingleSets.verify`). Returns the verified
    pairs (left, right, jaccard, containment) sorted by later text, the candidates checked, and
    ``(0, pid, peak MB)``."""
    _check_settings(config, fingerprint)
    right, left, sizes, carried = _concat(list(parts[:carried_count]), 4)
    set_rows, set_sizes, set_hashes = _concat(list(parts[carried_count:]), 3)
    by_row = np.argsort(set_rows, kind="stable")
    hashes = np.concatenate([carried.astype(np.uint64), set_hashes.astype(np.uint64)])
    offsets = np.concatenate([[0], np.cumsum(np.concatenate([sizes, set_sizes]))]).astype(np.int64)
    later = len(right) + by_row[np.searchsorted(set_rows[by_row], right)]
    verified = ShingleSets(hashes, offsets).verify(np.arange(len(right), dtype=np.int64), later, config.threshold)
    l, r = left[verified.left], right[verified.left]
    order = np.lexsort((l, r))
    return l[order], r[order], verified.jaccard[order], verified.containment[order], len(right), (0, os.getpid(), _vm_hwm_mb())


@dataclass
class _Summary:
    """What the driver keeps of the map: per file, small columns; over all, the identities."""

    names: list[str]
    paragraphs: np.ndarray  # per file
    documents: list[list[str]]
    doc_paragraphs: list[np.ndarray]
    skipped: list[Skip] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class _ShardedTable:
    """The run's paragraphs as a :class:`dedup.pipeline.ParagraphSource`, for
    :class:`~dedup.pipeline.ClusterBuilder`: the document of each paragraph, and the
    paragraphs themselves, read again from their files only when asked for."""

    def __init__(self, summary: _Summary, options: ReadOptions, config: Config, fingerprint: str) -> None:
        self.names = summary.names
        self.options = options
        self.config, self.fingerprint = config, fingerprint
        self.docs: list[str] = [name for names in summary.documents for name in names]
        counts = np.concatenate(summary.doc_paragraphs) if summary.doc_paragraphs else np.empty(0, dtype=np.int64)
        self.doc = np.repeat(np.arange(len(self.docs)), counts)
        self.doc_offsets = np.concatenate([[0], np.cumsum([len(names) for names in summary.documents])]).astype(np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(summary.paragraphs)]).astype(np.int64)
        self._known: dict[int, Paragraph] = {}

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def paragraphs(self, indices: np.ndarray) -> list[Paragraph]:
        import ray

        wanted = np.unique(np.asarray(indices, dtype=np.int64))
        missing = np.array([i for i in wanted.tolist() if i not in self._known], dtype=np.int64)
        if len(missing):
            shard_of = np.searchsorted(self.offsets, missing, side="right") - 1
            shards = np.unique(shard_of)
            fetch = ray.remote(_fetch_paragraphs)
            futures = [
                fetch.remote(self.names[s], self.options, missing[shard_of == s] - self.offsets[s], self.config, self.fingerprint) for s in shards.tolist()
            ]
            for s, (doc, number, line, start, end, texts) in zip(shards.tolist(), ray.get(futures)):
                names = map(self.docs.__getitem__, (doc + self.doc_offsets[s]).tolist())
                got = map(Paragraph, names, number.tolist(), line.tolist(), start.tolist(), end.tolist(), texts)
                self._known.update(zip((missing[shard_of == s]).tolist(), got))
        return [self._known[i] for i in np.asarray(indices, dtype=np.int64).tolist()]


def _fetch_paragraphs(name: str, options: ReadOptions, local: np.ndarray, config: Config, fingerprint: str) -> tuple[Any, ...]:
    """Paragraphs ``local`` of the file ``name``, read again, as columns (arrays and strings
    cross processes far faster than a million small objects): document (in the file), number,
    line, start, end, text."""
    from dedup.paragraphs import ParagraphTable

    _check_settings(config, fingerprint)
    documents, _, _ = read_file(name, options)
    table = ParagraphTable([d.name for d in documents], [d.text for d in documents], [d.utf8 for d in documents])
    utf8 = table.src.tobytes()
    texts = [utf8[a:b].decode("utf-8", "surrogatepass") for a, b in zip(table.byte_start[local].tolist(), table.byte_end[local].tolist())]
    return table.doc[local], table.number[local], table.line[local], table.start[local], table.end[local], texts


def find_duplicates(
    inputs: Sequence[str],
    config: Config | None = None,
    address: str | None = None,
    *,
    options: ReadOptions | None = None,
    partitions: int | None = None,
    keep_pairs: bool = False,
    timer: Timer | None = None,
    warnings: list[str] | None = None,
    engine: EngineStats | None = None,
) -> Result:
    """Find near-duplicate paragraphs in the files ``inputs`` (paths, directories, or URLs
    that ``pyarrow.fs`` opens), on Ray: the :class:`~dedup.pipeline.Result` that
    :func:`dedup.pipeline.find_duplicates` gives on the same inputs read in the same order.

    ``address`` is a Ray cluster's (``auto``, ``host:port``, ``ray://host:port``); without
    one, a Ray already started in this process is used, or a local one is started and
    stopped. ``partitions`` is the number of groups of each shuffle (by default, two per CPU
    of the cluster, or one per 250,000 distinct paragraphs if more): it changes nothing but
    how the work is cut. Inputs left out are in
    ``Result.skipped``; ``warnings``, if given, receives the readers' warnings, and
    ``engine`` what the run shuffled and each worker's peak memory.
    """
    config = config or Config()
    options = options or ReadOptions()
    timer = timer or Timer()
    if config.reuse:
        raise ValueError("reuse is not available on the Ray engine yet: run it with the local engine")
    if partitions is not None and partitions < 1:
        raise ValueError(f"partitions must be at least 1, not {partitions!r}")
    with timer.stage("read"):
        files, listing_skips = list_inputs(list(inputs), options)
    started = _connect(address)
    try:
        return _run(files, listing_skips, config, options, partitions, keep_pairs, timer, warnings, engine or EngineStats())
    finally:
        if started:
            import ray

            ray.shutdown()


def _data_context() -> Any:
    """Ray Data's context for this process, made quiet: no progress bars, no log of each
    dataset run. Made here, once, because making it warns of Ray's own deprecated settings."""
    import warnings

    import ray.data

    with warnings.catch_warnings(), _quiet("ray.data"):
        warnings.simplefilter("ignore", DeprecationWarning)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
    return context


@contextlib.contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """Ray Data logs each dataset it runs: a report's output is the report."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.WARNING + 1)
    try:
        yield
    finally:
        log.setLevel(level)


def report_from_reader(reader: DocumentReader, config: Config, address: str | None, *, timer: Timer | None = None, keep_pairs: bool = False) -> Result:
    """:func:`find_duplicates` on the sources of ``reader``, read with its options; what was
    skipped and warned about goes to ``reader.skipped`` and ``reader.warnings``, as when the
    local engine reads through it (``dedup report --engine ray``)."""
    result = find_duplicates(reader.sources, config, address, options=ReadOptions.of(reader), timer=timer, keep_pairs=keep_pairs, warnings=reader.warnings)
    reader.skipped.extend(result.skipped)
    return result


def _run(
    files: list[str],
    listing_skips: list[Skip],
    config: Config,
    options: ReadOptions,
    partitions: int | None,
    keep_pairs: bool,
    timer: Timer,
    warnings: list[str] | None,
    engine: EngineStats,
) -> Result:
    import ray
    import ray.data

    context = _data_context()
    context.execution_options.preserve_order = True
    context.print_on_execution_start = False
    context.enable_operator_progress_bars = False
    cpus = int(ray.cluster_resources().get("CPU", 1))
    fingerprint = settings_hash(config)

    with timer.stage("signatures"), _quiet("ray.data"):
        summary, mapped, identity = _map_stage(files, listing_skips, config, fingerprint, options, engine)
    if warnings is not None:
        warnings += summary.warnings
    rows, canonical, firsts = identity.rows, identity.canonical, identity.firsts
    if partitions is None:
        # Two per CPU, and more as the run grows, so that a reducer holds a bounded share.
        partitions = max(2, 2 * cpus, -(-len(firsts) // PARAGRAPHS_PER_PARTITION))
    engine.partitions = partitions
    table = _ShardedTable(summary, options, config, fingerprint)
    n = len(table)

    grouping = ClusterBuilder(len(firsts), keep_pairs)
    verified_pairs = candidate_pairs = 0
    if len(firsts) >= 2:
        for left, right, jaccard, containment, checked in _shuffled_edges(mapped, identity, config, fingerprint, partitions, timer, engine):
            candidate_pairs += checked
            verified_pairs += len(left)
            with timer.stage("cluster"):
                grouping.add(left, right, jaccard, containment)
    del mapped

    with timer.stage("cluster"), collector_paused():
        assignment = grouping.assignment(canonical, firsts)
        # Every paragraph the result shows, read in one round: each file is read once.
        table.paragraphs(np.concatenate([grouping.shown(rows, canonical, firsts, assignment), identity.too_long]))
        grouped = grouping.build(table, rows, canonical, firsts, assignment, config)
        clusters = grouped.clusters
        long_ones = table.paragraphs(identity.too_long)
    stats = Stats(
        documents=len(table.docs),
        paragraphs=n,
        matched=len(rows),
        short=identity.short,
        empty=identity.empty,
        too_long=len(identity.too_long),
        skipped_inputs=len(summary.skipped),
        clusters=len(clusters),
        duplicate_paragraphs=sum(c.size - 1 for c in clusters),
        candidate_pairs=candidate_pairs,
        verified_pairs=verified_pairs,
        per_document=grouped.per_document,
    )
    return Result(clusters, stats, config, list(summary.skipped), timer.seconds, long_ones, grouped.also, grouped.pairs, [])


def _shuffled_edges(
    mapped: ray.data.Dataset, identity: _Identity, config: Config, fingerprint: str, partitions: int, timer: Timer, engine: EngineStats
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]]:
    """The verified pairs, a partition at a time in input order of their later text: the band
    keys shuffled into buckets, the candidate pairs deduplicated and joined with the shingle
    sets of both their texts, and verified. Each shuffle is a round of Ray tasks whose outputs
    are numpy arrays in Ray's object store, one per partition, fetched by the task that
    reduces that partition (Ray Data's ``groupby`` sorts the Arrow rows it moves, and its
    fixed cost per shuffle outweighed the work of a million paragraphs in trials)."""
    import ray

    distinct = len(identity.firsts)
    bands = BandedLSH.for_threshold(config.threshold, config.num_perm, config.window).bands
    numbers = [ray.put(number) for number in identity.numbers]
    p = partitions
    with timer.stage("lsh"):
        shuffle_out = ray.remote(_shuffle_out).options(num_returns=2 * p + 2)
        # Several returns each: a list of refs (Ray's stubs type one ref of a list).
        outputs: list[Any] = [shuffle_out.remote(block, numbers, config, fingerprint, p, distinct) for block in mapped.to_arrow_refs()]
        # The buckets count members in input order: the parts go to them in the files' order.
        firsts_of = ray.get([parts[0] for parts in outputs])
        mapped_parts = [parts[1:] for _, parts in sorted(zip(firsts_of, outputs), key=lambda item: item[0])]
        bucket = ray.remote(_bucket_pairs).options(num_returns=p + 1)
        pair_parts = [bucket.remote(config, fingerprint, bands, p, distinct, *[parts[q] for parts in mapped_parts]) for q in range(p)]
        engine.note("band keys and sets", ray.get([parts[-1] for parts in mapped_parts]))
        engine.note("candidate pairs", ray.get([parts[-1] for parts in pair_parts]))
    with timer.stage("verify"):
        attach = ray.remote(_attach_left).options(num_returns=p + 1)
        carried = [
            attach.remote(config, fingerprint, p, distinct, len(pair_parts), *[parts[q] for parts in pair_parts], *[parts[p + q] for parts in mapped_parts]) for q in range(p)
        ]
        verify = ray.remote(_verify).options(num_returns=6)
        verified = [verify.remote(config, fingerprint, len(carried), *[parts[q] for parts in carried], *[parts[p + q] for parts in mapped_parts]) for q in range(p)]
        engine.note("pairs with their earlier set", ray.get([parts[-1] for parts in carried]))
    del mapped_parts, pair_parts, carried
    for parts in verified:
        with timer.stage("verify"):
            left, right, jaccard, containment, checked, peak = ray.get(parts)
        engine.note("verified pairs", [(left.nbytes + right.nbytes + jaccard.nbytes + containment.nbytes, *peak[1:])])
        yield left, right, jaccard, containment, int(checked)


@dataclass
class EngineStats:
    """What a Ray run moved and held: bytes sent through each shuffle (outputs of one round of
    tasks read by the next), and the peak resident memory of each worker process that ran a
    task (MB, by pid; the object store's shared pages a worker read count in it too)."""

    shuffled: dict[str, int] = field(default_factory=dict)
    worker_peak_mb: dict[int, float] = field(default_factory=dict)
    partitions: int = 0

    def note(self, stage: str, reports: Iterable[tuple[int, int, float]]) -> None:
        for nbytes, pid, peak in reports:
            if stage != "read":  # the map reads the inputs, and sends nothing on by itself
                self.shuffled[stage] = self.shuffled.get(stage, 0) + int(nbytes)
            self.worker_peak_mb[int(pid)] = max(self.worker_peak_mb.get(int(pid), 0.0), float(peak))


def _map_stage(
    files: list[str], listing_skips: list[Skip], config: Config, fingerprint: str, options: ReadOptions, engine: EngineStats
) -> tuple[_Summary, ray.data.Dataset, _Identity]:
    """Run the map over every file, keep its output in Ray's object store, and bring the small
    columns to the driver: counts, names, and the identities of the distinct texts."""
    import ray.data

    items = [{"shard": shard, "name": name} for shard, name in enumerate(files)]
    mapped = (
        ray.data.from_items(items, override_num_blocks=max(1, len(items)))
        .map_batches(_MAP, batch_size=1, batch_format="numpy", fn_kwargs={"config": config, "fingerprint": fingerprint, "options": options})
        .materialize()
    )
    rows = sorted(mapped.select_columns(list(_SUMMARY_COLUMNS)).take_all(), key=lambda row: row["shard"])
    summary = _Summary(
        names=[row["name"] for row in rows],
        paragraphs=np.array([row["paragraphs"] for row in rows], dtype=np.int64),
        documents=[json.loads(row["documents"]) for row in rows],
        doc_paragraphs=[_array(row["doc_paragraphs"], np.int64) for row in rows],
    )
    skipped = list(listing_skips)
    # Listing skips of a directory come before the skips of its files, as the local reader
    # records them; files skip in their reading order.
    for row in rows:
        skipped += [Skip(source, reason) for source, reason in json.loads(row["skipped"])]
        summary.warnings += json.loads(row["warnings"])
    summary.skipped = skipped
    engine.note("read", [(0, *json.loads(row["worker"])) for row in rows])
    starts = np.concatenate([[0], np.cumsum(summary.paragraphs)]).astype(np.int64)
    matched = [starts[k] + _array(row["rows"], np.int64) for k, row in enumerate(rows)]
    local_firsts = [starts[k] + _array(row["firsts"], np.int64) for k, row in enumerate(rows)]
    hashes = np.concatenate([_array(row["text_hashes"], np.uint64) for row in rows]) if rows else np.empty(0, np.uint64)
    lengths = np.concatenate([_array(row["lengths"], np.int64) for row in rows]) if rows else np.empty(0, np.int64)
    every_first = np.concatenate(local_firsts) if rows else np.empty(0, np.int64)
    # Exact copies across files: the first occurrence in input order of each (hash, length).
    order = np.lexsort((every_first, lengths, hashes))
    new_group = np.ones(len(order), dtype=bool)
    new_group[1:] = (hashes[order][1:] != hashes[order][:-1]) | (lengths[order][1:] != lengths[order][:-1])
    group_head = order[np.flatnonzero(new_group)[np.cumsum(new_group) - 1]]
    head_of = np.empty(len(order), dtype=np.int64)
    head_of[order] = group_head
    is_first = head_of == np.arange(len(order))
    number = np.cumsum(is_first) - 1  # distinct texts numbered in input order
    distinct_of = number[head_of]
    firsts = every_first[is_first]
    bases = np.concatenate([[0], np.cumsum([len(f) for f in local_firsts])]).astype(np.int64)
    canonical = (
        np.concatenate([distinct_of[bases[k] + _array(row["canonical"], np.int64)] for k, row in enumerate(rows)]) if rows else np.empty(0, np.int64)
    )
    all_rows = np.concatenate(matched) if rows else np.empty(0, np.int64)
    too_long = np.concatenate([starts[k] + _array(row["too_long"], np.int64) for k, row in enumerate(rows)]) if rows else np.empty(0, np.int64)
    short = sum(int(row["short"]) for row in rows)
    empty = sum(int(row["empty"]) for row in rows)
    # Per file, the run's number of each local first occurrence (-1: met in an earlier file).
    numbers = [np.where(is_first[bases[k] : bases[k + 1]], number[bases[k] : bases[k + 1]], -1) for k in range(len(rows))]
    return summary, mapped, _Identity(all_rows, canonical, firsts, numbers, short, empty, too_long)


@dataclass
class _Identity:
    """The run's paragraphs as the local engine numbers them: ``rows`` (matched, in input
    order), ``canonical[k]`` the distinct text of ``rows[k]``, ``firsts[t]`` the first
    occurrence of distinct text ``t``; ``numbers`` per file as :func:`_emit_keys` takes them."""

    rows: np.ndarray
    canonical: np.ndarray
    firsts: np.ndarray
    numbers: list[np.ndarray]
    short: int
    empty: int
    too_long: np.ndarray


# ---------------------------------------------------------------------------------------------
# The filter as a Ray Data step.


class _FilterBatches:
    """A Ray Data callable class: one open index per actor, one :class:`~dedup.filter.Filter`
    per batch of rows; each batch of rows is decided, yielded, and committed when Ray asks for
    what follows, as ``dedup filter`` writes a batch out before committing it."""

    def __init__(self, index: str, params: Any, filter_options: dict[str, Any]) -> None:
        from dedup.filter import Filter
        from dedup.index import open_index

        self.index = open_index(index, params)
        self.filter = Filter(self.index, **filter_options)

    def __call__(self, rows: dict[str, np.ndarray]) -> Iterator[dict[str, np.ndarray]]:
        text_field, id_field = self.filter.text_field, self.filter.id_field
        documents = [_document(record, text_field, id_field) for record in _records(rows)]
        for outcomes in self.filter.batches(documents):
            kept = [o.output.fields for o in outcomes if o.output is not None and o.output.fields is not None]
            if kept:
                yield {column: _column([record.get(column) for record in kept]) for column in rows}


def _column(values: list[Any]) -> np.ndarray:
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column


def _records(rows: dict[str, np.ndarray]) -> Iterator[dict[str, Any]]:
    columns = list(rows)
    for values in zip(*(rows[c].tolist() for c in columns)):
        yield dict(zip(columns, values))


def _document(record: dict[str, Any], text_field: str, id_field: str) -> Document:
    text, ident = record.get(text_field), record.get(id_field)
    if not isinstance(text, str):
        raise ValueError(f"row {ident!r}: field {text_field!r} is {type(text).__name__}, not a string")
    if isinstance(ident, bool) or not isinstance(ident, (str, int)):
        raise ValueError(f"a row's {id_field!r} is {type(ident).__name__}, not a string or an integer: each row needs an id to be indexed by")
    return Document(str(ident), text, fields=record)


def filter_dataset(
    ds: ray.data.Dataset,
    index: str,
    *,
    threshold: float | None = None,
    shingle: str | None = None,
    num_perm: int | None = None,
    seed: int | None = None,
    text_field: str = "text",
    id_field: str = "id",
    min_words: int = 0,
    max_chars: int | None = None,
    batch_paragraphs: int | None = None,
    batch_rows: int = 1024,
    concurrency: int = 1,
) -> ray.data.Dataset:
    """``ds`` with, in each row, only the paragraphs of ``text_field`` that no paragraph of
    the shared ``index`` (``redis://host:port/db``; a directory works on one machine) nor an
    earlier kept one near-duplicates; rows left with no paragraph are left out. Kept paragraphs
    are added to the index: first seen wins, as with ``dedup filter``, because the decisions
    are :class:`dedup.filter.Filter`'s, taken under the index's lock.

    ``concurrency`` actors each hold the index open and decide ``batch_rows`` rows at a time,
    in the order the rows reach the step; with one actor (the default) that is the dataset's
    order, exactly as ``dedup filter`` decides the same documents, when nothing before the step
    reorders rows: a parallel step before it may hand rows on in the order they finish unless
    Ray Data is told to keep them in order (``DataContext.get_current().execution_options.
    preserve_order = True``). With several actors, which of two copies in different batches is
    first is decided by the order in which their batches take the index's lock. Each row needs
    an id (``id_field``, a string or an integer).

    A batch is committed when Ray asks the step for the rows that follow its kept rows, so
    a step that fails is not retried (a retry would find its own paragraphs in the index): the
    pipeline stops with the error, and the index holds exactly the committed batches.
    """
    from dedup.config import DEFAULT_BATCH_PARAGRAPHS, DEFAULT_MAX_CHARS, DEFAULT_NUM_PERM, DEFAULT_SEED, DEFAULT_THRESHOLD
    from dedup.filter import index_params
    from dedup.shingling import DEFAULT_SHINGLE

    params = index_params(
        DEFAULT_THRESHOLD if threshold is None else threshold,
        str(DEFAULT_SHINGLE) if shingle is None else shingle,
        DEFAULT_NUM_PERM if num_perm is None else num_perm,
        DEFAULT_SEED if seed is None else seed,
    )
    options = {
        "min_words": min_words,
        "max_chars": DEFAULT_MAX_CHARS if max_chars is None else max_chars,
        "text_field": text_field,
        "id_field": id_field,
        "batch_paragraphs": DEFAULT_BATCH_PARAGRAPHS if batch_paragraphs is None else batch_paragraphs,
    }
    if concurrency < 1 or batch_rows < 1:
        raise ValueError("concurrency and batch_rows must be at least 1")
    # Opened once here: a wrong URL or settings that differ from the index's fail now, not in a worker.
    from dedup.index import open_index

    with open_index(index, params):
        pass
    import warnings

    with warnings.catch_warnings():
        # Ray Data's own way to keep an actor from restarting (max_restarts=0) goes through
        # the remote arguments it now calls deprecated, with no named parameter instead yet.
        warnings.filterwarnings("ignore", message="`ray_remote_args` is deprecated")
        return ds.map_batches(
            _FilterBatches,
            batch_size=batch_rows,
            batch_format="numpy",
            fn_constructor_kwargs={"index": index, "params": params, "filter_options": options},
            concurrency=concurrency,
            max_restarts=0,
            # Ray Data lets an actor run a later batch while an earlier one's input is still on
            # its way; first seen must be the dataset's order, so each actor takes its batches
            # in the order they were given to it. (Seen under load: a derived document's batch
            # ran first, and its source was dropped as the copy.)
            allow_out_of_order_execution=False,
        )
