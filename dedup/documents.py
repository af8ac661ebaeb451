"""Documents: what the user points ``dedup`` at, read into ``(name, text)`` pairs.

Sources are text files, directories (searched recursively), JSONL files and ``-`` for standard
input. A file that cannot be used is never dropped silently: it is recorded as a :class:`Skip`
(the CLI warns about each one and counts them) while the rest is read. A source that does not
exist at all is an :class:`InputError`, raised before any work is done.
"""

from __future__ import annotations

import codecs
import fnmatch
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, BinaryIO

__all__ = ["Document", "Skip", "InputError", "DocumentReader", "as_documents", "STDIN", "DEFAULT_GLOBS"]

STDIN = "-"
DEFAULT_GLOBS = ("*.txt", "*.md")
# Files named so are JSON Lines whatever ``jsonl`` says; ``jsonl`` makes every input JSON Lines.
JSONL_SUFFIXES = (".jsonl", ".ndjson")
# Bytes read to decide whether a file is binary, as git and grep do: a NUL byte is a sure sign.
SNIFF_BYTES = 8192


class InputError(Exception):
    """A source cannot be read at all: the run stops with this message."""


@dataclass(frozen=True)
class Document:
    """One document: its name (the path as given, or its JSONL id) and its text."""

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
        return f"{self.source}: {self.reason}"


@dataclass
class DocumentReader:
    """Reads documents from paths, in the order given (directories in sorted order).

    Iterating yields :class:`Document`\\ s; afterwards ``skipped`` lists what was left out.
    Files named ``*.jsonl`` or ``*.ndjson`` are read as JSON Lines, and with ``jsonl`` every
    input is, standard input included.

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
        """Raise :class:`InputError` for a source that does not exist or holds no input files."""
        for source in self.sources:
            if source == STDIN:
                continue
            path = Path(source)
            if not path.exists():
                raise InputError(f"{source}: no such file or directory")
            if path.is_dir() and not self._listing(path)[0]:
                patterns = ", ".join(self.globs)
                raise InputError(f"{source}: directory holds no files matching {patterns} (use --glob to choose others)")

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
            if os.path.isdir(source):
                files, unreadable = self._listing(Path(source))
                self.skipped.extend(unreadable)
            else:
                files = [source]
            for name in files:
                jsonl = self.jsonl or name.lower().endswith(JSONL_SUFFIXES)
                try:
                    # A text file is read whole: unbuffered, it costs one read call, no buffer.
                    with open(name, "rb", buffering=-1 if jsonl else 0) as stream:
                        yield from self._read_stream(name, stream, jsonl)
                except OSError as err:
                    self.skipped.append(Skip(name, f"cannot read: {err.strerror or err}"))

    def _listing(self, directory: Path) -> tuple[list[str], list[Skip]]:
        """The files under ``directory`` that match the globs, as paths ordered part by part
        (what sorting :class:`~pathlib.Path`\\ s gives), and the subdirectories that could not
        be listed. Listed once per reader, so checking, counting and reading see the same files."""
        top = str(directory)
        if top not in self._listings:
            matches = re.compile("|".join(fnmatch.translate(pattern) for pattern in self.globs)).match
            unreadable: list[Skip] = []

            def record(err: OSError) -> None:  # os.walk would pass over it without a word
                unreadable.append(Skip(str(err.filename), f"cannot read directory: {err.strerror or err}"))

            keyed = []
            for root, dirs, files in os.walk(top, onerror=record):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                relative = root[len(top) :].strip(os.sep)
                parts = tuple(relative.split(os.sep)) if relative else ()
                keyed.extend((parts + (name,), os.path.join(root, name)) for name in files if matches(name))
            keyed.sort()
            self._listings[top] = ([path for _, path in keyed], unreadable)
        return self._listings[top]

    def _read_stream(self, name: str, stream: IO[bytes], jsonl: bool) -> Iterator[Document]:
        if jsonl:
            yield from self._read_jsonl(name, stream)
            return
        raw = stream.read()
        text = self._decode(name, raw)
        if text is None:
            return
        if not text.strip():
            self.skipped.append(Skip(name, "empty file" if not raw else "file holds only whitespace"))
            return
        yield Document(name, text, utf8=raw[3:] if raw.startswith(codecs.BOM_UTF8) else raw)

    def _decode(self, name: str, raw: bytes) -> str | None:
        if b"\x00" in raw[:SNIFF_BYTES]:
            self.skipped.append(Skip(name, "binary file (it holds NUL bytes)"))
            return None
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            line = raw.count(b"\n", 0, err.start) + 1
            self.skipped.append(Skip(name, f"not valid UTF-8 (byte 0x{raw[err.start]:02x} on line {line})"))
            return None

    def _read_jsonl(self, name: str, stream: IO[bytes]) -> Iterator[Document]:
        for number, raw in enumerate(stream, start=1):
            where = f"{name}:{number}"
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as err:
                self.skipped.append(Skip(where, f"not valid UTF-8 (byte 0x{raw[err.start]:02x})"))
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                self.skipped.append(Skip(where, f"malformed JSON: {err.msg} (column {err.colno})"))
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
            doc_name = where if ident is None else str(ident)
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
