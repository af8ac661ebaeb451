"""Documents: what the user points ``dedup`` at, read into ``(name, text)`` pairs.

Sources are text files, directories (searched recursively), JSON Lines and Parquet files, any
of them but Parquet compressed (gzip, bzip2, xz), and ``-`` for standard input, which is JSON
Lines or text as its first line says (:meth:`DocumentReader.stdin_format`). A file that cannot be
used is never dropped silently: it is recorded as a :class:`Skip` (the CLI warns about each one
and counts them) while the rest is read. A source that does not exist at all is an
:class:`InputError`, raised before any work is done.

Directories give their regular files only (a link to one is followed): a named pipe or a device
found in a directory could block a run or feed it without end, so it is recorded as a skip and
never opened. A pipe named on the command line (bash's ``<(cmd)``) is read; a device or socket
never is.

Names and texts are kept exactly as read. What prints them for people (warnings, the text
report) passes them through :func:`escape_controls`, so that a file name or a line of someone
else's text cannot move the cursor, retitle the window or reorder what the terminal shows.
"""

from __future__ import annotations

import bz2
import codecs
import contextlib
import fnmatch
import gzip
import io
import itertools
import json
import lzma
import os
import re
import stat
import sys
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

__all__ = [
    "Document",
    "Skip",
    "InputError",
    "DocumentReader",
    "as_documents",
    "decode_json_line",
    "UnreadableLine",
    "escape_controls",
    "STDIN",
    "DEFAULT_GLOBS",
    "DOC_NAMES",
    "MAX_JSON_DEPTH",
    "MAX_DECOMPRESSED",
    "skip_warnings",
    "text_codec",
]

STDIN = "-"
DEFAULT_GLOBS = ("*.txt", "*.md")
# Documentation that Unix projects ship under these names with no extension (Debian's
# /usr/share/doc holds a copyright file per package, and changelogs, gzipped): read from
# directories beside DEFAULT_GLOBS when the name holds no dot, so README.html or LICENSE.pdf
# are not taken for text.
DOC_NAMES = ("README*", "CHANGELOG*", "changelog*", "NEWS*", "copyright", "COPYING*", "LICENSE*", "AUTHORS*")
# Files named so are JSON Lines whatever ``jsonl`` says; ``jsonl`` makes every input JSON Lines.
JSONL_SUFFIXES = (".jsonl", ".ndjson")
PARQUET_SUFFIX = ".parquet"
# Compressed files are read by the name inside: a.txt.gz is text, a.jsonl.xz JSON Lines.
COMPRESSIONS: dict[str, tuple[str, Callable[[IO[bytes]], io.BufferedIOBase]]] = {
    ".gz": ("gzip", lambda raw: gzip.GzipFile(fileobj=raw, mode="rb")),
    ".bz2": ("bzip2", lambda raw: bz2.BZ2File(raw, mode="rb")),
    ".xz": ("xz", lambda raw: lzma.LZMAFile(raw, mode="rb")),
    ".zst": ("zstd", lambda raw: io.BufferedReader(_zstd_module(".zst").ZstdDecompressor().stream_reader(raw))),  # type: ignore[arg-type]
}
# What a compressed file may expand to before it is refused: a few kilobytes of gzip can
# expand to gigabytes (a decompression bomb), and a text file is held whole in memory.
MAX_DECOMPRESSED = 1 << 30
# Parquet rows converted to Python at a time: the reader holds one batch of texts, not a file.
PARQUET_BATCH_ROWS = 1024
# Lines of standard input looked at to tell whether text was JSON Lines after all.
SNIFF_LINES = 10
# Bytes read to decide whether a file is binary, as git and grep do: a NUL byte is a sure sign.
SNIFF_BYTES = 8192
# Byte-order marks that make a file text whatever NUL bytes it holds, with the codec that reads
# it (and drops the mark). UTF-32's little-endian mark begins with UTF-16's, so it comes first.
UNICODE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)
_BOM_FIRST_BYTES = frozenset(bom[:1] for bom, _, _ in UNICODE_BOMS)
# Levels of arrays and objects a JSON Lines document may nest, its own object counted: serde_json's
# default limit. Real documents nest a few levels; anything near Python's recursion limit (1,000)
# would fail later anyway, where ``dedup filter`` writes the fields back with ``json.dumps``.
MAX_JSON_DEPTH = 128


def escape_controls(text: str) -> str:
    """``text`` safe to print on a terminal: every character that could act on it instead of
    showing (C0 and C1 controls, newline and tab included, DEL, the bidirectional overrides,
    embeddings and isolates, the line and paragraph separators, and lone surrogates, which
    have no encoding) is written as Python writes it in a string literal: ``\\x1b``,
    ``\\n``, ``\\u202e``. All else, printable Unicode of every script, is left as it is.

    Only for what people read: JSON, JSON Lines and CSV output keep the exact text. A
    backslash is not escaped, so a name that holds the four characters ``\\x1b`` prints the
    same as one that holds the escape character itself.

    >>> print(escape_controls("report\\x1b[2J.txt"))
    report\\x1b[2J.txt
    >>> print(escape_controls("invoice\\u202efdp.exe: ok\\tthen\\nnext"))
    invoice\\u202efdp.exe: ok\\tthen\\nnext
    >>> print(escape_controls("Ça été, 日本, C:\\\\notes"))
    Ça été, 日本, C:\\notes
    """
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_escaped, text)


_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
_SHORT_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _SHORT_ESCAPES.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


class UnreadableLine(ValueError):
    """A line of JSON Lines that holds no JSON value dedup can use; the message says why."""


def decode_json_line(raw: bytes, first: bool = False) -> object:
    """The JSON value on one line of JSON Lines (``first``: the file's first line, which may
    start with a UTF-8 byte-order mark), or :class:`UnreadableLine` saying why there is none.

    Every way a line can fail is this one exception: invalid UTF-8, malformed JSON, nesting
    deeper than :data:`MAX_JSON_DEPTH` levels (which would otherwise exhaust the recursion of
    ``json.loads``, or of ``json.dumps`` when ``dedup filter`` writes it back), and an integer
    longer than Python converts (``sys.get_int_max_str_digits()``, 4,300 digits by default,
    the guard against quadratic-time conversion). So a reader skips the line and goes on.

    >>> decode_json_line(b'{"id": 7, "text": "caf\\\\u00e9"}')
    {'id': 7, 'text': 'café'}
    >>> decode_json_line(b"[" * 5000 + b"]" * 5000)
    Traceback (most recent call last):
    ...
    dedup.documents.UnreadableLine: JSON nested too deeply (more than 128 levels)
    >>> decode_json_line(b'{"n": ' + b"9" * 5000 + b"}")
    Traceback (most recent call last):
    ...
    dedup.documents.UnreadableLine: number too long (an integer of more than 4300 digits)
    """
    try:
        line = raw.decode("utf-8-sig" if first else "utf-8")
    except UnicodeDecodeError as err:
        raise UnreadableLine(f"not valid UTF-8 (byte 0x{raw[err.start]:02x})") from None
    try:
        value = json.loads(line)
    except json.JSONDecodeError as err:
        raise UnreadableLine(f"malformed JSON: {err.msg} (column {err.colno})") from None
    except RecursionError:
        raise UnreadableLine(f"JSON nested too deeply (more than {MAX_JSON_DEPTH} levels)") from None
    except ValueError:
        # The one ValueError json.loads raises that is not a JSONDecodeError: int() refusing a
        # literal of more digits than its limit.
        raise UnreadableLine(f"number too long (an integer of more than {sys.get_int_max_str_digits()} digits)") from None
    # Nesting needs as many brackets: most lines have too few to be worth walking.
    if line.count("[") + line.count("{") > MAX_JSON_DEPTH and _deeper_than(value, MAX_JSON_DEPTH):
        raise UnreadableLine(f"JSON nested too deeply (more than {MAX_JSON_DEPTH} levels)")
    return value


def _deeper_than(value: object, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels in ``value``; without recursion."""
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _json_kind(value: object) -> str:
    """What a JSON value is, in JSON's words."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number with a fraction or exponent"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null" if value is None else type(value).__name__


def _file_kind(mode: int) -> str:
    """What kind of file a ``st_mode`` says, in words for a warning."""
    for test, kind in (
        (stat.S_ISREG, "a regular file"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return kind
    return "an unknown kind of file"


# Why a path is not read: found in a directory, or named on the command line.
SCANNED_ONLY = "not a regular file: directories are read for their regular files only"
NAMED_ONLY = "not read: only regular files, directories and pipes are"
# How inputs are opened: never as the controlling terminal, and, but for a pipe named on the
# command line, without blocking, so that a FIFO swapped in for a listed file cannot stall a run
# (the kind is checked on the open file before anything is read).
_OPEN_PIPE = os.O_RDONLY | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
_OPEN_FILE = _OPEN_PIPE | getattr(os, "O_NONBLOCK", 0)


class InputError(Exception):
    """A source cannot be read at all: the run stops with this message."""


@dataclass(frozen=True)
class Document:
    """One document: its name (the path as given, or its JSONL id) and its text.

    The text is the file decoded: UTF-8 (a byte-order mark removed), or UTF-16 or UTF-32 when
    the file starts with that byte-order mark. Paragraph positions (``start``/``end``) count
    characters of this text, so for a UTF-16 or UTF-32 file they are offsets in the decoded
    text, not in the file's bytes or code units (read it with ``encoding="utf-16"``, or
    ``"utf-32"``, and ``newline=""`` to slice it the same way).
    """

    name: str
    text: str
    fields: Mapping[str, object] | None = field(default=None, compare=False, repr=False)
    # The text as UTF-8, when the reader had it already (a file's bytes): it spares encoding
    # the text again. It must be exactly ``text.encode("utf-8")``.
    utf8: bytes | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(f"document name must be a string, not {type(self.name).__name__}")
        if not isinstance(self.text, str):
            raise TypeError(f"text of document {self.name!r} must be a string, not {type(self.text).__name__}")


@dataclass(frozen=True)
class Skip:
    """Input that was not used, and why."""

    source: str
    reason: str

    def __str__(self) -> str:
        """What the CLI prints: the source as :func:`escape_controls` shows it (a file's name,
        a JSON id, is someone else's text); ``source`` and ``reason`` themselves stay exact."""
        return escape_controls(f"{self.source}: {self.reason}")

    @property
    def kind(self) -> str:
        """The reason without its particulars, to count skips by: what comes before the first
        parenthesis, colon, comma or semicolon.

        >>> Skip("a.txt", "not valid UTF-8 (byte 0xe9 on line 3); try --encoding latin-1").kind
        'not valid UTF-8'
        >>> Skip("d.jsonl:2", "malformed JSON: Expecting value (column 1)").kind
        'malformed JSON'
        """
        return _KIND_END.split(self.reason, maxsplit=1)[0].strip() or self.reason


_KIND_END = re.compile(r" \(|[:;,]")


def skip_warnings(skipped: list[Skip], listed: int) -> list[str]:
    """Lines that tell a person what was skipped: the first ``listed`` skips one a line, and
    the rest, if any, in one line counted by :attr:`Skip.kind` (most frequent first), so a
    directory of thousands of unusable files costs a screen, not thousands of lines.

    >>> skips = [Skip("a", "binary file (NUL)"), Skip("b", "empty file"), Skip("c", "binary file (NUL)")]
    >>> for line in skip_warnings(skips, listed=1):
    ...     print(line)
    skipped a: binary file (NUL)
    skipped 2 more inputs: 1 empty file, 1 binary file
    >>> skip_warnings(skips, listed=0)
    ['skipped 3 inputs: 2 binary file, 1 empty file']
    """
    lines = [f"skipped {skip}" for skip in skipped[:listed]]
    rest = skipped[listed:]
    if rest:
        counts = Counter(skip.kind for skip in rest).most_common()
        more = " more" if listed else ""
        by_kind = ", ".join(f"{count:,} {escape_controls(kind)}" for kind, count in counts)
        lines.append(f"skipped {len(rest):,}{more} input{'s' if len(rest) != 1 else ''}: {by_kind}")
    return lines


@dataclass
class DocumentReader:
    """Reads documents from paths, in the order given (directories in sorted order).

    Iterating yields :class:`Document`\\ s; afterwards ``skipped`` lists what was left out, and
    ``warnings`` what was read but may not have been read as meant. Files named ``*.jsonl`` or
    ``*.ndjson`` are read as JSON Lines, and with ``jsonl`` every input is; ``*.parquet`` files
    are Parquet, one document a row (with pyarrow: ``pip install 'dedup[parquet]'``); the rest
    is text, decoded with ``encoding``. A name ending ``.gz``, ``.bz2``, ``.xz`` or ``.zst``
    (with zstandard: ``pip install 'dedup[zstd]'``) is decompressed and read by the name inside it, up to ``max_decompressed`` bytes.

    Standard input is JSON Lines with ``jsonl``, text with ``text``, and otherwise as its first
    non-blank line says: JSON Lines when that line is a JSON object holding ``text_field``.

    A JSON Lines document is named by its ``id_field``: a string as it is, an integer by its
    decimal digits, so ``7`` and ``"7"`` name the same document; with no id, or ``null``, by
    its place, ``file:line``. Any other id (``true``, ``1.0``, an object, an array) makes the
    line a skip, since no string stands for it unambiguously. The document's ``fields`` keep
    the id as it was, for ``dedup filter`` to write back. Parquet rows are named the same way,
    by their row number (from 1) when they have no id.

    >>> reader = DocumentReader(["seeds/003_2475bc7a0b5db3b5.txt"])
    >>> [d.name for d in reader]
    ['seeds/003_2475bc7a0b5db3b5.txt']
    """

    sources: list[str]
    globs: tuple[str, ...] = DEFAULT_GLOBS
    jsonl: bool = False
    text_field: str = "text"
    id_field: str = "id"
    stdin: BinaryIO | None = None
    skipped: list[Skip] = field(default_factory=list)
    # Directories also give files with no extension (no dot in the name) matching these.
    doc_names: tuple[str, ...] = DOC_NAMES
    # Standard input is text, without looking at it.
    text: bool = False
    # How text files are decoded when they have no UTF-16 or UTF-32 byte-order mark; JSON
    # Lines is always UTF-8.
    encoding: str = "utf-8"
    max_decompressed: int = MAX_DECOMPRESSED
    warnings: list[str] = field(default_factory=list)
    _listings: dict[str, tuple[list[str], list[Skip]]] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def choosing(cls, sources: Sequence[str], globs: Sequence[str] = (), **options: Any) -> DocumentReader:
        """A reader of directories as ``--glob`` chooses: the patterns given replace both
        defaults (:data:`DEFAULT_GLOBS` and the extensionless :data:`DOC_NAMES`); none given,
        both apply. ``options``: the other fields.

        >>> DocumentReader.choosing(["docs"], ["*.rst"]).doc_names
        ()
        """
        return cls(list(sources), globs=tuple(globs) or DEFAULT_GLOBS, doc_names=() if globs else DOC_NAMES, **options)

    def __post_init__(self) -> None:
        if self.jsonl and self.text:
            raise ValueError("jsonl and text contradict each other: standard input is one or the other")
        self._utf8 = text_codec(self.encoding) == "utf-8"
        if self.max_decompressed < 1:
            raise ValueError(f"max_decompressed must be positive, not {self.max_decompressed}")

    def check(self) -> None:
        """Raise :class:`InputError` for a source that does not exist, a directory that holds
        nothing to read (no file matching the globs, and nothing matching that was left out),
        or a Parquet file when pyarrow is not installed."""
        for source in self.sources:
            if source == STDIN:
                continue
            path = Path(source)
            if not path.exists():
                raise InputError(escape_controls(f"{source}: no such file or directory"))
            if path.is_dir() and self.listing(path) == ([], []):
                patterns = ", ".join(self.globs)
                names = f" or files with no extension named {', '.join(self.doc_names)}" if self.doc_names else ""
                raise InputError(escape_controls(f"{source}: directory holds no files matching {patterns}{names} (use --glob to choose others)"))
        files = self.files()
        parquet = next((name for name in files if _inner_name(name)[1].lower().endswith(PARQUET_SUFFIX)), None)
        if parquet is not None:
            _parquet_module(parquet)
        zstd = next((name for name in files if _inner_name(name)[0] == ".zst"), None)
        if zstd is not None:
            _zstd_module(zstd)

    def files(self) -> list[str]:
        """The files the sources name or hold (directories listed as reading lists them), in
        reading order, each once; standard input is not among them."""
        files: list[str] = []
        seen: dict[tuple[int, int], str] = {}
        for source in self.sources:
            if source != STDIN:
                listed = self.listing(Path(source))[0] if os.path.isdir(source) else [source]
                files += [name for name in listed if self._seen_before(name, seen) is None]
        return files

    def file_count(self) -> int | None:
        """How many documents the sources hold, when that is known before reading them: text
        files are one document each; standard input, JSON Lines and Parquet are not known
        (``None``)."""
        if self.jsonl or STDIN in self.sources:
            return None
        files = self.files()
        if any(_inner_name(f)[1].lower().endswith((*JSONL_SUFFIXES, PARQUET_SUFFIX)) for f in files):
            return None
        return len(files)

    def __iter__(self) -> Iterator[Document]:
        self.check()
        seen: dict[tuple[int, int], str] = {}  # (device, inode) of each file read, and its name
        for source in self.sources:
            if source == STDIN:
                stream = self.stdin if self.stdin is not None else sys.stdin.buffer
                yield from self._read_stdin(stream)
                continue
            named = not os.path.isdir(source)
            if named:
                files = [source]
            else:
                files, left_out = self.listing(Path(source))
                self.skipped.extend(left_out)
            for name in files:
                if (first := self._seen_before(name, seen)) is not None:
                    self.warnings.append(escape_controls(f"{name}: the same file as {first}, read once"))
                    continue
                try:
                    opened = self._open(name, named, buffered=self._kind(name) != "text")
                    if opened is None:
                        continue
                    with opened as stream:
                        yield from self.read_stream(name, stream)
                except OSError as err:
                    self.skipped.append(Skip(name, f"cannot read: {err.strerror or err}"))

    def _kind(self, name: str) -> str:
        """How the file ``name`` is read, by its name: ``parquet``, ``compressed``, ``jsonl``
        or ``text``."""
        compression, inner = _inner_name(name)
        if inner.lower().endswith(PARQUET_SUFFIX):
            return "parquet"
        if compression is not None:
            return "compressed"
        return "jsonl" if self.jsonl or inner.lower().endswith(JSONL_SUFFIXES) else "text"

    def read_stream(self, name: str, stream: IO[bytes]) -> Iterator[Document]:
        """The documents of the file ``name``, read from ``stream`` (binary; seekable for
        Parquet): Parquet, compressed, JSON Lines or text, as its name says (see the class's
        doc), as iterating the reader reads each file. What cannot be read is a skip, in
        ``skipped``. For files that are not on a local path, such as those of a remote file
        system."""
        compression, inner = _inner_name(name)
        kind = self._kind(name)
        if kind == "parquet":
            yield from self._read_parquet(name, stream, compression)
        elif kind == "compressed":
            assert compression is not None
            jsonl = self.jsonl or inner.lower().endswith(JSONL_SUFFIXES)
            yield from self._read_compressed(name, stream, compression, jsonl)
        elif kind == "jsonl":
            yield from self._read_jsonl(name, stream)
        else:
            yield from self._read_text(name, stream.read())

    @staticmethod
    def _seen_before(name: str, seen: dict[tuple[int, int], str]) -> str | None:
        """The name under which the regular file ``name`` was read already (the same directory
        given twice, a file named and in a directory given, a link), else ``None``, and
        ``name`` is noted as read."""
        try:
            info = os.stat(name)
        except OSError:
            return None  # opening it says what is wrong
        if not stat.S_ISREG(info.st_mode):
            return None
        key = (info.st_dev, info.st_ino)
        if key in seen:
            return seen[key]
        seen[key] = name
        return None

    def _open(self, name: str, named: bool, buffered: bool) -> IO[bytes] | None:
        """``name`` opened for reading, or ``None`` with a :class:`Skip` recorded when it is not
        to be read. A regular file is read; so is a pipe, when ``named`` on the command line;
        nothing else is. The kind is checked before opening (opening a device can act on it)
        and again on what was opened, in case the path was replaced between the two: a file
        from a directory is opened without blocking, so a FIFO put in its place cannot stall
        the run."""
        if named:
            mode = os.stat(name).st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
                self.skipped.append(Skip(name, f"{_file_kind(mode)}, {NAMED_ONLY}"))
                return None
        else:
            mode = stat.S_IFREG  # as the listing found it
        fd = os.open(name, _OPEN_PIPE if stat.S_ISFIFO(mode) else _OPEN_FILE)
        try:
            actual = os.fstat(fd).st_mode
            if stat.S_IFMT(actual) != stat.S_IFMT(mode):
                os.close(fd)
                self.skipped.append(Skip(name, f"replaced while being opened (now {_file_kind(actual)}), not read"))
                return None
            # A text file is read whole: unbuffered, it costs one read call, no buffer.
            return open(fd, "rb", buffering=-1 if buffered else 0)
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise

    def matcher(self) -> Callable[[str], bool]:
        """Whether a file name found in a directory is to be read: it, or the name inside it when
        it is compressed, matches a glob, or is a documentation name with no extension."""
        globbed = re.compile("|".join(fnmatch.translate(pattern) for pattern in self.globs)).match if self.globs else None
        named = re.compile("|".join(fnmatch.translate(pattern) for pattern in self.doc_names)).match if self.doc_names else None

        def matches(name: str) -> bool:
            inner = _inner_name(name)[1]
            if globbed is not None and (globbed(name) or globbed(inner)):
                return True
            return named is not None and "." not in inner and named(inner) is not None

        return matches

    def listing(self, directory: Path) -> tuple[list[str], list[Skip]]:
        """The regular files under ``directory`` that match the globs, as paths ordered part by
        part (what sorting :class:`~pathlib.Path`\\ s gives), and what was left out with its
        reason: subdirectories that could not be listed, and entries matching the globs that
        are not regular files (nor links to one). Hidden subdirectories are not searched, and
        links to directories not followed. Listed once per reader, so checking, counting and
        reading see the same files."""
        top = str(directory)
        if top not in self._listings:
            matches = self.matcher()
            left_out: list[Skip] = []
            keyed: list[tuple[tuple[str, ...], str]] = []
            pending: list[tuple[str, tuple[str, ...]]] = [(top, ())]
            while pending:
                root, parts = pending.pop()
                try:
                    with os.scandir(root) as listing:
                        entries = list(listing)
                except OSError as err:
                    left_out.append(Skip(root, f"cannot read directory: {err.strerror or err}"))
                    continue
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            if not entry.name.startswith("."):
                                pending.append((entry.path, parts + (entry.name,)))
                            continue
                        if not matches(entry.name):
                            continue
                        # No system call but for a link (or on a file system whose listings
                        # do not say what each entry is).
                        if entry.is_file():
                            keyed.append((parts + (entry.name,), entry.path))
                            continue
                        kind = _file_kind(entry.stat().st_mode)
                    except OSError as err:  # a dangling link, a loop of links
                        left_out.append(Skip(entry.path, f"cannot read: {err.strerror or err}"))
                        continue
                    if entry.is_symlink():
                        kind = f"a symbolic link to {kind}"
                    left_out.append(Skip(entry.path, f"{kind}, {SCANNED_ONLY}"))
            keyed.sort()
            left_out.sort(key=lambda skip: skip.source)
            self._listings[top] = ([path for _, path in keyed], left_out)
        return self._listings[top]

    def stdin_format(self, first_lines: Iterable[bytes]) -> str:
        """``"jsonl"`` or ``"text"``: how standard input is read, from the lines it starts with
        (only those up to the first non-blank one are looked at), unless ``jsonl`` or ``text``
        says. It is JSON Lines when its first non-blank line is a JSON object holding
        ``text_field``: a document of text does not start so, and JSON Lines of documents
        without that field is better read as text and warned about than skipped line by line.

        >>> reader = DocumentReader(["-"])
        >>> reader.stdin_format([b"\\n", b'{"id": 1, "text": "a"}\\n'])
        'jsonl'
        >>> reader.stdin_format([b'{"id": 1, "body": "a"}\\n']), reader.stdin_format([b"Dear all,\\n"])
        ('text', 'text')
        >>> reader.stdin_format([b"\\n"]), DocumentReader(["-"], text=True).stdin_format([b"\\n"])
        ('jsonl', 'text')
        """
        if self.jsonl or self.text:
            return "jsonl" if self.jsonl else "text"
        for number, line in enumerate(first_lines, start=1):
            if line.strip():
                return "jsonl" if self._holds_text_field(line, first=number == 1) else "text"
        # Nothing but blank lines: no documents either way, and not an error for a filter fed
        # by a pipeline that had nothing to send.
        return "jsonl"

    def _holds_text_field(self, line: bytes, first: bool) -> bool:
        obj = _json_object(line, first)
        return obj is not None and self.text_field in obj

    def _read_stdin(self, stream: IO[bytes]) -> Iterator[Document]:
        """Standard input, in the format :meth:`stdin_format` gives: the lines up to the first
        non-blank one are read to decide, then replayed, so a pipe is read once."""
        name = "<stdin>"
        head: list[bytes] = []
        if not (self.jsonl or self.text):
            while line := stream.readline():
                head.append(line)
                if line.strip():
                    break
        if self.stdin_format(head) == "jsonl":
            yield from self._read_jsonl(name, itertools.chain(head, stream))
            return
        raw = b"".join(head) + stream.read()
        if not self.text:
            self._warn_if_json_lines(raw)
        yield from self._read_text(name, raw)

    def _warn_if_json_lines(self, raw: bytes) -> None:
        """Warn when standard input read as text looks like JSON Lines: most of its first
        non-blank lines are JSON objects. Its documents would otherwise be one long text,
        and the report or the filter would answer as if that were what was meant."""
        lines: list[bytes] = []
        position = 0
        while len(lines) < SNIFF_LINES and position < len(raw):
            end = raw.find(b"\n", position)
            end = len(raw) if end < 0 else end + 1
            if raw[position:end].strip():
                lines.append(raw[position:end])
            position = end
        objects = [value for value in (_json_object(line, first=k == 0 and raw.startswith(line)) for k, line in enumerate(lines)) if value is not None]
        if not lines:
            return
        if 2 * len(objects) <= len(lines):
            # Lines that start like JSON objects but do not parse are JSON Lines gone wrong far
            # more often than text: read as one text, they would pass without a word.
            braced = sum(line.lstrip().startswith(b"{") for line in lines)
            if 2 * braced > len(lines):
                self.warnings.append(
                    f"standard input was read as text, but {braced} of its first {len(lines)} lines start like JSON objects and "
                    f"{braced - len(objects)} of those are not valid JSON: give --jsonl to read it as JSON Lines (each bad line is "
                    "then skipped with its reason), or --text to read it as text without this warning"
                )
            return
        holding = sum(self.text_field in value for value in objects)
        if 2 * holding > len(lines):
            self.warnings.append(
                f"standard input was read as text, but {holding} of its first {len(lines)} lines are JSON objects with a {self.text_field!r} field "
                "(the first is not one): give --jsonl to read it as JSON Lines, or --text to read it as text without this warning"
            )
            return
        fields = ", ".join(repr(key) for key in list(objects[0])[:5])
        self.warnings.append(
            escape_controls(
                f"standard input was read as text, but {len(objects)} of its first {len(lines)} lines are JSON objects with no {self.text_field!r} field "
                f"(the first has {fields or 'no fields'}): if it is JSON Lines, name the field that holds the text with --text-field; "
                "--text reads it as text without this warning"
            )
        )

    def _read_text(self, name: str, raw: bytes) -> Iterator[Document]:
        decoded = self._decode(name, raw)
        if decoded is None:
            return
        text, utf8 = decoded
        if not text.strip():
            self.skipped.append(Skip(name, "empty file" if not raw else "file holds only whitespace"))
            return
        yield Document(name, text, utf8=utf8)

    def _decode(self, name: str, raw: bytes) -> tuple[str, bytes | None] | None:
        """A file's text and, when they are at hand, its UTF-8 bytes; ``None`` (with a
        :class:`Skip`) when it is not text. A UTF-16 or UTF-32 byte-order mark says how to
        decode, and so does UTF-8's, whatever ``encoding`` says (the file says what it is);
        without one, the file is in ``encoding``, and NUL characters mean it is binary."""
        for bom, codec, label in UNICODE_BOMS if raw[:1] in _BOM_FIRST_BYTES else ():
            if raw.startswith(bom):
                try:
                    text = raw.decode(codec)
                except UnicodeDecodeError as err:
                    self.skipped.append(Skip(name, f"not valid {label} ({err.reason} at byte {err.start})"))
                    return None
                # Binary data that happens to start like a mark still holds NUL characters, decoded.
                if "\x00" in text[:SNIFF_BYTES]:
                    self.skipped.append(Skip(name, f"binary file (it holds NUL characters after a {label} byte-order mark)"))
                    return None
                return text, None
        if self._utf8 or raw.startswith(codecs.BOM_UTF8):
            if b"\x00" in raw[:SNIFF_BYTES]:
                self.skipped.append(Skip(name, "binary file (it holds NUL bytes)"))
                return None
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError as err:
                line = raw.count(b"\n", 0, err.start) + 1
                self.skipped.append(Skip(name, f"not valid UTF-8 (byte 0x{raw[err.start]:02x} on line {line}); try --encoding latin-1 if that is its encoding"))
                return None
            return text, raw[3:] if raw.startswith(codecs.BOM_UTF8) else raw
        try:
            text = raw.decode(self.encoding)
        except UnicodeDecodeError as err:
            line = raw[: err.start].decode(self.encoding, errors="replace").count("\n") + 1
            self.skipped.append(Skip(name, f"not valid {self.encoding} (byte 0x{raw[err.start]:02x} on line {line}); name its encoding with --encoding"))
            return None
        if "\x00" in text[:SNIFF_BYTES]:
            self.skipped.append(Skip(name, f"binary file (it holds NUL characters, decoded as {self.encoding})"))
            return None
        return text, None

    def _read_jsonl(self, name: str, lines: Iterable[bytes]) -> Iterator[Document]:
        for number, raw in enumerate(lines, start=1):
            where = f"{name}:{number}"
            if not raw.strip():
                continue
            try:
                obj = decode_json_line(raw, first=number == 1)
            except UnreadableLine as err:
                self.skipped.append(Skip(where, str(err)))
                continue
            if not isinstance(obj, dict):
                self.skipped.append(Skip(where, f"expected a JSON object, got {type(obj).__name__}"))
                continue
            if self.text_field not in obj:
                self.skipped.append(Skip(where, f"no {self.text_field!r} field (use --text-field to name it)"))
                continue
            text = obj[self.text_field]
            if not isinstance(text, str):
                self.skipped.append(Skip(where, f"field {self.text_field!r} is {type(text).__name__}, not a string"))
                continue
            doc_name = self._document_name(where, obj.get(self.id_field))
            if doc_name is not None:
                yield Document(doc_name, text, fields=obj)

    def _document_name(self, where: str, ident: object) -> str | None:
        """A record's name from its id (its place, ``where``, when it has none), or ``None``
        with a :class:`Skip` when the id is of a type no string stands for."""
        if ident is None:
            return where
        if isinstance(ident, str):
            return ident
        if isinstance(ident, int) and not isinstance(ident, bool):
            return str(ident)  # within int's digit limit: decode_json_line saw to that
        self.skipped.append(Skip(where, f"field {self.id_field!r} is {_json_kind(ident)}, not a string or an integer (use --id-field to name the id field)"))
        return None

    def _read_compressed(self, name: str, stream: IO[bytes], compression: str, jsonl: bool) -> Iterator[Document]:
        """A compressed file, decompressed as it is read and refused past ``max_decompressed``
        bytes; damage is a skip that says where (JSON Lines read before it are kept)."""
        label, opener = COMPRESSIONS[compression]
        lines = 0
        try:
            with opener(stream) as decompressed:
                if jsonl:
                    for document in self._read_jsonl(name, self._bounded_lines(decompressed)):
                        lines += 1
                        yield document
                else:
                    raw = self._bounded_read(decompressed)
                    yield from self._read_text(name, raw)
        except _TooLarge:
            self.skipped.append(Skip(name, f"expands to more than {self.max_decompressed:,} bytes when decompressed: not read (a decompression bomb?)"))
        except (OSError, EOFError, lzma.LZMAError, zlib.error, _ZstdError) as err:
            after = f" after {lines:,} documents" if lines else ""
            self.skipped.append(Skip(name, f"corrupt {label} data{after}: {err}"))

    def _bounded_read(self, stream: io.BufferedIOBase) -> bytes:
        """All of a decompressed stream, in pieces, so a bomb is stopped at the limit."""
        chunks: list[bytes] = []
        total = 0
        while chunk := stream.read(min(1 << 20, self.max_decompressed - total + 1)):
            total += len(chunk)
            if total > self.max_decompressed:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    def _bounded_lines(self, stream: io.BufferedIOBase) -> Iterator[bytes]:
        """The lines of a decompressed stream; each read is capped, so that a line without end
        is stopped at the limit too."""
        total = 0
        while line := stream.readline(self.max_decompressed - total + 1):
            total += len(line)
            if total > self.max_decompressed:
                raise _TooLarge
            yield line

    def _read_parquet(self, name: str, stream: IO[bytes], compression: str | None) -> Iterator[Document]:
        """A Parquet file, one document a row: its text in ``text_field``, its name in
        ``id_field`` (a string or an integer column; the row number, from 1, without one).
        Only those two columns are read, a batch of rows at a time."""
        if compression is not None:
            self.skipped.append(Skip(name, f"a compressed Parquet file, not read: decompress it first (Parquet compresses its own pages)"))
            return
        parquet = _parquet_module(name)
        import pyarrow as pa  # type: ignore[import-untyped]

        try:
            table = parquet.ParquetFile(stream)
        except (pa.ArrowException, OSError) as err:
            self.skipped.append(Skip(name, f"not a readable Parquet file: {err}"))
            return
        schema = table.schema_arrow
        if self.text_field not in schema.names:
            self.skipped.append(Skip(name, f"no {self.text_field!r} column (use --text-field to name it; it has {', '.join(map(repr, schema.names[:8]))})"))
            return
        text_type = schema.field(self.text_field).type
        if not (pa.types.is_string(text_type) or pa.types.is_large_string(text_type)):
            self.skipped.append(Skip(name, f"column {self.text_field!r} is {text_type}, not a string"))
            return
        has_id = self.id_field in schema.names
        if has_id:
            id_type = schema.field(self.id_field).type
            if not (pa.types.is_string(id_type) or pa.types.is_large_string(id_type) or pa.types.is_integer(id_type)):
                self.skipped.append(Skip(name, f"column {self.id_field!r} is {id_type}, not a string or an integer (use --id-field to name the id column)"))
                return
        columns = [self.text_field, self.id_field] if has_id else [self.text_field]
        row = 0
        try:
            for batch in table.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=columns):
                texts = batch.column(0).to_pylist()
                ids = batch.column(1).to_pylist() if has_id else [None] * len(texts)
                for text, ident in zip(texts, ids):
                    row += 1
                    where = f"{name}:{row}"
                    if text is None:
                        self.skipped.append(Skip(where, f"field {self.text_field!r} is null, not a string"))
                        continue
                    fields: dict[str, Any] = {self.id_field: ident, self.text_field: text} if has_id else {self.text_field: text}
                    yield Document(str(ident) if ident is not None else where, text, fields=fields)
        except (pa.ArrowException, OSError) as err:
            self.skipped.append(Skip(name, f"corrupt Parquet data after {row:,} rows: {err}"))


def text_codec(name: str) -> str:
    """The canonical name of the text encoding ``name``, or a ``ValueError`` when Python knows
    no text encoding of that name (``base64`` and ``rot13`` are codecs, but not from bytes to
    text).

    >>> text_codec("Latin-1"), text_codec("UTF8")
    ('iso8859-1', 'utf-8')
    >>> text_codec("base64")
    Traceback (most recent call last):
    ...
    ValueError: unknown text encoding 'base64'
    """
    try:
        codec = codecs.lookup(name)
        b"a".decode(name, "ignore")  # only text encodings decode bytes to str
    except LookupError:
        raise ValueError(f"unknown text encoding {name!r}") from None
    return codec.name


class _TooLarge(Exception):
    """A compressed file expands beyond the reader's limit."""


def _inner_name(name: str) -> tuple[str | None, str]:
    """The compression a file's name says (``.gz``, ``.bz2``, ``.xz``, ``.zst``) and the name inside.

    >>> _inner_name("notes.txt.gz"), _inner_name("notes.txt")
    (('.gz', 'notes.txt'), (None, 'notes.txt'))
    """
    lowered = name.lower()
    for suffix in COMPRESSIONS:
        if lowered.endswith(suffix):
            return suffix, name[: -len(suffix)]
    return None, name


def _json_object(line: bytes, first: bool) -> dict[str, object] | None:
    """The JSON object a line holds, if it holds one (looked at only when the line starts like
    one, so that a long line of text is not parsed)."""
    if not line.lstrip(b" \t\r\xef\xbb\xbf").startswith(b"{"):
        return None
    try:
        value = decode_json_line(line, first=first)
    except UnreadableLine:
        return None
    return value if isinstance(value, dict) else None


def _parquet_module(name: str) -> Any:
    """``pyarrow.parquet``, or an :class:`InputError` that says how to install it."""
    try:
        import pyarrow.parquet  # type: ignore[import-untyped]
    except ImportError:
        raise InputError(escape_controls(f"{name}: reading Parquet needs pyarrow: pip install 'dedup[parquet]'")) from None
    return pyarrow.parquet


def _zstd_module(name: str) -> Any:
    """``zstandard``, or an :class:`InputError` that says how to install it."""
    try:
        import zstandard
    except ImportError:
        raise InputError(escape_controls(f"{name}: reading Zstandard needs zstandard: pip install 'dedup[zstd]'")) from None
    return zstandard


try:  # damage in a .zst file, when zstandard is there to read one
    from zstandard import ZstdError as _ZstdError
except ImportError:  # pragma: no cover - then no .zst file is read at all

    class _ZstdError(Exception):  # type: ignore[no-redef]
        pass


def as_documents(documents: Mapping[str, str] | Iterable[tuple[str, str]] | Iterable[Document]) -> Iterator[Document]:
    """Accept what the Python API takes: a mapping of name to text, ``(name, text)`` pairs, or
    :class:`Document`\\ s.

    >>> [d.name for d in as_documents({"a": "x", "b": "y"})]
    ['a', 'b']
    """
    items: Iterable[object] = documents.items() if isinstance(documents, Mapping) else documents
    for item in items:
        if isinstance(item, Document):
            yield item
        elif isinstance(item, tuple) and len(item) == 2:
            yield Document(str(item[0]), item[1])
        else:
            raise TypeError("documents must be a mapping of name to text, (name, text) pairs or Document objects")
