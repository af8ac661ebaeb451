"""Documents: what the user points ``dedup`` at, read into ``(name, text)`` pairs.

Sources are text files, directories (searched recursively), JSONL files and ``-`` for standard
input. A file that cannot be used is never dropped silently: it is recorded as a :class:`Skip`
(the CLI warns about each one and counts them) while the rest is read. A source that does not
exist at all is an :class:`InputError`, raised before any work is done.

Directories give their regular files only (a link to one is followed): a named pipe or a device
found in a directory could block a run or feed it without end, so it is recorded as a skip and
never opened. A pipe named on the command line (bash's ``<(cmd)``) is read; a device or socket
never is.

Names and texts are kept exactly as read. What prints them for people (warnings, the text
report) passes them through :func:`escape_controls`, so that a file name or a line of someone
else's text cannot move the cursor, retitle the window or reorder what the terminal shows.
"""

from __future__ import annotations

import codecs
import contextlib
import fnmatch
import json
import os
import re
import stat
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, BinaryIO

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
    "MAX_JSON_DEPTH",
]

STDIN = "-"
DEFAULT_GLOBS = ("*.txt", "*.md")
# Files named so are JSON Lines whatever ``jsonl`` says; ``jsonl`` makes every input JSON Lines.
JSONL_SUFFIXES = (".jsonl", ".ndjson")
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


@dataclass
class DocumentReader:
    """Reads documents from paths, in the order given (directories in sorted order).

    Iterating yields :class:`Document`\\ s; afterwards ``skipped`` lists what was left out.
    Files named ``*.jsonl`` or ``*.ndjson`` are read as JSON Lines, and with ``jsonl`` every
    input is, standard input included.

    A JSON Lines document is named by its ``id_field``: a string as it is, an integer by its
    decimal digits, so ``7`` and ``"7"`` name the same document; with no id, or ``null``, by
    its place, ``file:line``. Any other id (``true``, ``1.0``, an object, an array) makes the
    line a skip, since no string stands for it unambiguously. The document's ``fields`` keep
    the id as it was, for ``dedup filter`` to write back.

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
    _listings: dict[str, tuple[list[str], list[Skip]]] = field(default_factory=dict, init=False, repr=False)

    def check(self) -> None:
        """Raise :class:`InputError` for a source that does not exist, or a directory that holds
        nothing to read (no file matching the globs, and nothing matching that was left out)."""
        for source in self.sources:
            if source == STDIN:
                continue
            path = Path(source)
            if not path.exists():
                raise InputError(escape_controls(f"{source}: no such file or directory"))
            if path.is_dir() and self._listing(path) == ([], []):
                patterns = ", ".join(self.globs)
                raise InputError(escape_controls(f"{source}: directory holds no files matching {patterns} (use --glob to choose others)"))

    def files(self) -> list[str]:
        """The files the sources name or hold (directories listed as reading lists them), in
        reading order; standard input is not among them."""
        files: list[str] = []
        for source in self.sources:
            if source != STDIN:
                files += self._listing(Path(source))[0] if os.path.isdir(source) else [source]
        return files

    def file_count(self) -> int | None:
        """How many documents the sources hold, when that is known before reading them: text
        files are one document each; standard input and JSON Lines are not known (``None``)."""
        if self.jsonl or STDIN in self.sources:
            return None
        count = 0
        for source in self.sources:
            path = Path(source)
            files = self._listing(path)[0] if path.is_dir() else [source]
            if any(f.lower().endswith(JSONL_SUFFIXES) for f in files):
                return None
            count += len(files)
        return count

    def __iter__(self) -> Iterator[Document]:
        self.check()
        for source in self.sources:
            if source == STDIN:
                stream = self.stdin if self.stdin is not None else sys.stdin.buffer
                yield from self._read_stream("<stdin>", stream, self.jsonl)
                continue
            named = not os.path.isdir(source)
            if named:
                files = [source]
            else:
                files, left_out = self._listing(Path(source))
                self.skipped.extend(left_out)
            for name in files:
                jsonl = self.jsonl or name.lower().endswith(JSONL_SUFFIXES)
                try:
                    opened = self._open(name, named, jsonl)
                    if opened is None:
                        continue
                    with opened as stream:
                        yield from self._read_stream(name, stream, jsonl)
                except OSError as err:
                    self.skipped.append(Skip(name, f"cannot read: {err.strerror or err}"))

    def _open(self, name: str, named: bool, jsonl: bool) -> IO[bytes] | None:
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
            return open(fd, "rb", buffering=-1 if jsonl else 0)
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise

    def _listing(self, directory: Path) -> tuple[list[str], list[Skip]]:
        """The regular files under ``directory`` that match the globs, as paths ordered part by
        part (what sorting :class:`~pathlib.Path`\\ s gives), and what was left out with its
        reason: subdirectories that could not be listed, and entries matching the globs that
        are not regular files (nor links to one). Hidden subdirectories are not searched, and
        links to directories not followed. Listed once per reader, so checking, counting and
        reading see the same files."""
        top = str(directory)
        if top not in self._listings:
            matches = re.compile("|".join(fnmatch.translate(pattern) for pattern in self.globs)).match
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

    def _read_stream(self, name: str, stream: IO[bytes], jsonl: bool) -> Iterator[Document]:
        if jsonl:
            yield from self._read_jsonl(name, stream)
            return
        raw = stream.read()
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
        decode; without one, the file is UTF-8 (its byte-order mark, if any, removed), and NUL
        bytes mean it is binary."""
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
        if b"\x00" in raw[:SNIFF_BYTES]:
            self.skipped.append(Skip(name, "binary file (it holds NUL bytes)"))
            return None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            line = raw.count(b"\n", 0, err.start) + 1
            self.skipped.append(Skip(name, f"not valid UTF-8 (byte 0x{raw[err.start]:02x} on line {line})"))
            return None
        return text, raw[3:] if raw.startswith(codecs.BOM_UTF8) else raw

    def _read_jsonl(self, name: str, stream: IO[bytes]) -> Iterator[Document]:
        for number, raw in enumerate(stream, start=1):
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
            ident = obj.get(self.id_field)
            if ident is None:
                doc_name = where
            elif isinstance(ident, str):
                doc_name = ident
            elif isinstance(ident, int) and not isinstance(ident, bool):
                doc_name = str(ident)  # within int's digit limit: decode_json_line saw to that
            else:
                self.skipped.append(
                    Skip(where, f"field {self.id_field!r} is {_json_kind(ident)}, not a string or an integer (use --id-field to name the id field)")
                )
                continue
            yield Document(doc_name, text, fields=obj)


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
