"""dedup.documents: files, directories, JSONL and stdin read into documents; nothing dropped silently."""

from __future__ import annotations

import io
import json
import os
import resource
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dedup.cli import main
from dedup.documents import DEFAULT_GLOBS, Document, DocumentReader, InputError, Skip, as_documents


def write(path: Path, data: bytes | str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return str(path)


def read(sources: list[str], **kwargs: object) -> tuple[list[Document], list[Skip]]:
    reader = DocumentReader(sources, **kwargs)  # type: ignore[arg-type]
    documents = list(reader)
    return documents, reader.skipped


def test_file_is_read_under_the_name_given(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "Hello\n\nWorld\n")
    documents, skipped = read([path])
    assert documents == [Document(path, "Hello\n\nWorld\n")]
    assert skipped == []


def test_missing_path_stops_before_anything_is_read(tmp_path: Path) -> None:
    good = write(tmp_path / "good.txt", "text")
    missing = str(tmp_path / "missing.txt")
    iterator = iter(DocumentReader([good, missing]))
    with pytest.raises(InputError, match="missing.txt: no such file or directory"):
        next(iterator)


@pytest.mark.parametrize(
    "files",
    [
        pytest.param([], id="empty-directory"),
        pytest.param(["data.csv", "notes.rst"], id="no-matching-names"),
        pytest.param([".git/readme.txt"], id="only-in-hidden-directory"),
    ],
)
def test_directory_without_input_files_is_an_input_error(tmp_path: Path, files: list[str]) -> None:
    root = tmp_path / "corpus"
    root.mkdir()
    for name in files:
        write(root / name, "some text")
    with pytest.raises(InputError, match=r"\*\.txt, \*\.md"):
        read([str(root)])


def test_unusable_files_are_skipped_with_a_reason_and_the_rest_is_read(tmp_path: Path) -> None:
    write(tmp_path / "a_good.txt", "Good text.\n")
    write(tmp_path / "b_binary.txt", b"PK\x03\x04\x00\x00binary")
    write(tmp_path / "c_latin1.txt", "line one\nline two\ncaf\xe9\n".encode("latin-1"))
    write(tmp_path / "d_empty.txt", b"")
    write(tmp_path / "e_blank.txt", " \n\t\r\n\n")
    write(tmp_path / "f_good.md", "More text.")
    documents, skipped = read([str(tmp_path)])
    assert [Path(d.name).name for d in documents] == ["a_good.txt", "f_good.md"]
    assert [(Path(s.source).name, s.reason) for s in skipped] == [
        ("b_binary.txt", "binary file (it holds NUL bytes)"),
        ("c_latin1.txt", "not valid UTF-8 (byte 0xe9 on line 3); try --encoding latin-1 if that is its encoding"),
        ("d_empty.txt", "empty file"),
        ("e_blank.txt", "file holds only whitespace"),
    ]
    assert str(skipped[0]) == f"{tmp_path / 'b_binary.txt'}: binary file (it holds NUL bytes)"


def test_byte_order_mark_is_stripped(tmp_path: Path) -> None:
    path = write(tmp_path / "bom.txt", b"\xef\xbb\xbfTitle\r\n\r\nBody")
    [document], _ = read([path])
    assert document.text == "Title\r\n\r\nBody"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"\xef\xbb\xbfTitle\r\n\r\nBody", id="bom"),
        pytest.param("Ça été, naïve “quote”, 𝔘𝔫𝔦\n".encode(), id="non-ascii"),
        pytest.param(b"plain\n\nascii", id="ascii"),
    ],
)
def test_a_file_documents_bytes_are_its_text_encoded(tmp_path: Path, raw: bytes) -> None:
    """The reader hands the file's bytes on (segmentation reads them, not a new encoding):
    they must be exactly the text's UTF-8."""
    [document], _ = read([write(tmp_path / "doc.txt", raw)])
    assert document.utf8 == document.text.encode("utf-8")


def test_file_holding_only_a_bom_is_skipped(tmp_path: Path) -> None:
    path = write(tmp_path / "bom.txt", b"\xef\xbb\xbf")
    documents, skipped = read([path])
    assert documents == []
    assert skipped == [Skip(path, "file holds only whitespace")]


def test_directories_are_walked_recursively_in_sorted_order(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    for name in ["b.txt", "a.md", "sub/d.txt", "sub/c.md", "sub/deeper/e.txt", "z.csv", ".hidden/x.txt", "sub/.cache/y.md"]:
        write(root / name, f"text of {name}")
    documents, skipped = read([str(root)])
    assert [d.name for d in documents] == [
        str(root / "a.md"),
        str(root / "b.txt"),
        str(root / "sub" / "c.md"),
        str(root / "sub" / "d.txt"),
        str(root / "sub" / "deeper" / "e.txt"),
    ]
    assert [d.text for d in documents] == [f"text of {n}" for n in ["a.md", "b.txt", "sub/c.md", "sub/d.txt", "sub/deeper/e.txt"]]
    assert skipped == []


def test_sources_are_read_in_the_order_given(tmp_path: Path) -> None:
    b = write(tmp_path / "b.txt", "bee")
    a = write(tmp_path / "a.txt", "ay")
    documents, _ = read([b, a])
    assert [d.name for d in documents] == [b, a]


@pytest.mark.parametrize(
    ("globs", "expected"),
    [
        pytest.param(DEFAULT_GLOBS, ["a.md", "b.txt"], id="default"),
        pytest.param(("*.rst",), ["c.rst"], id="one-pattern"),
        pytest.param(("*.rst", "*.txt"), ["b.txt", "c.rst"], id="two-patterns"),
        pytest.param(("b*",), ["b.txt"], id="name-prefix"),
    ],
)
def test_globs_choose_the_files_of_a_directory(tmp_path: Path, globs: tuple[str, ...], expected: list[str]) -> None:
    for name in ["a.md", "b.txt", "c.rst", "d.csv"]:
        write(tmp_path / name, f"text of {name}")
    documents, _ = read([str(tmp_path)], globs=globs)
    assert [Path(d.name).name for d in documents] == expected


def test_file_named_explicitly_is_read_whatever_its_extension(tmp_path: Path) -> None:
    path = write(tmp_path / "notes.csv", "a,b\n")
    documents, _ = read([path])
    assert [d.name for d in documents] == [path]


def jsonl(*lines: object) -> bytes:
    return b"".join((line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n" for line in lines)


def test_jsonl_records_and_skips(tmp_path: Path) -> None:
    path = write(
        tmp_path / "f.jsonl",
        jsonl(
            {"id": "doc-1", "text": "first"},
            b"",
            b'{"id": "doc-3", "text": ',
            {"id": "doc-4", "body": "no text field"},
            {"id": "doc-5", "text": 5},
            {"text": "no id"},
            [1, 2],
            {"id": 8, "text": "numeric id"},
            {"id": None, "text": "null id"},
            b'{"id": "doc-10", "text": "caf\xe9"}',
        ),
    )
    documents, skipped = read([path], jsonl=True)
    assert [(d.name, d.text) for d in documents] == [
        ("doc-1", "first"),
        (f"{path}:6", "no id"),
        ("8", "numeric id"),
        (f"{path}:9", "null id"),
    ]
    assert documents[0].fields == {"id": "doc-1", "text": "first"}
    assert [s.source for s in skipped] == [f"{path}:3", f"{path}:4", f"{path}:5", f"{path}:7", f"{path}:10"]
    reasons = [s.reason for s in skipped]
    assert reasons[0].startswith("malformed JSON")
    assert reasons[1] == "no 'text' field (use --text-field to name it)"
    assert reasons[2] == "field 'text' is int, not a string"
    assert reasons[3] == "expected a JSON object, got list"
    assert reasons[4] == "not valid UTF-8 (byte 0xe9)"


def test_jsonl_custom_fields(tmp_path: Path) -> None:
    path = write(tmp_path / "f.jsonl", jsonl({"url": "https://a", "body": "A body", "text": "ignored"}, {"id": "x", "body": "no url"}))
    documents, skipped = read([path], jsonl=True, text_field="body", id_field="url")
    assert [(d.name, d.text) for d in documents] == [("https://a", "A body"), (f"{path}:2", "no url")]
    assert skipped == []


def test_jsonl_custom_text_field_missing_names_the_field(tmp_path: Path) -> None:
    path = write(tmp_path / "f.jsonl", jsonl({"text": "has text, not body"}))
    documents, skipped = read([path], jsonl=True, text_field="body")
    assert documents == []
    assert skipped == [Skip(f"{path}:1", "no 'body' field (use --text-field to name it)")]


def test_jsonl_bom_on_first_line_is_stripped(tmp_path: Path) -> None:
    path = write(tmp_path / "f.jsonl", b"\xef\xbb\xbf" + jsonl({"id": "a", "text": "x"}, {"id": "b", "text": "y"}))
    documents, skipped = read([path], jsonl=True)
    assert [d.name for d in documents] == ["a", "b"]
    assert skipped == []


def test_jsonl_directory_uses_the_globs(tmp_path: Path) -> None:
    write(tmp_path / "b.jsonl", jsonl({"id": "b1", "text": "x"}))
    write(tmp_path / "a.jsonl", jsonl({"id": "a1", "text": "y"}))
    write(tmp_path / "c.txt", "not JSON")
    documents, skipped = read([str(tmp_path)], jsonl=True, globs=("*.jsonl",))
    assert [d.name for d in documents] == ["a1", "b1"]
    assert skipped == []


def test_stdin_text() -> None:
    documents, skipped = read(["-"], stdin=io.BytesIO(b"\xef\xbb\xbfFrom stdin\n"))
    assert [(d.name, d.text) for d in documents] == [("<stdin>", "From stdin\n")]
    assert skipped == []


def test_empty_stdin_read_as_text_is_skipped() -> None:
    documents, skipped = read(["-"], text=True, stdin=io.BytesIO(b""))
    assert documents == []
    assert skipped == [Skip("<stdin>", "empty file")]


@pytest.mark.parametrize("data", [pytest.param(b"", id="empty"), pytest.param(b"\n \n\t\n", id="blank-lines")])
def test_empty_stdin_holds_no_documents_and_is_no_skip(data: bytes) -> None:
    """Nothing on standard input tells text from JSON Lines: it holds no documents either way,
    which a filter at the end of a pipeline with nothing to send takes as no error."""
    assert read(["-"], stdin=io.BytesIO(data)) == ([], [])


def test_stdin_jsonl_names_lines_after_stdin() -> None:
    documents, skipped = read(["-"], jsonl=True, stdin=io.BytesIO(jsonl({"text": "a"}, b"oops")))
    assert [d.name for d in documents] == ["<stdin>:1"]
    assert [s.source for s in skipped] == ["<stdin>:2"]


def test_stdin_among_files(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "file text")
    documents, _ = read([path, "-"], stdin=io.BytesIO(b"stdin text"))
    assert [(d.name, d.text) for d in documents] == [(path, "file text"), ("<stdin>", "stdin text")]


@pytest.mark.parametrize(
    ("name", "text"),
    [pytest.param(1, "text", id="name-not-str"), pytest.param("a", b"bytes", id="text-not-str")],
)
def test_document_rejects_non_strings(name: object, text: object) -> None:
    with pytest.raises(TypeError):
        Document(name, text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "source",
    [
        pytest.param({"a": "x", "b": "y"}, id="mapping"),
        pytest.param([("a", "x"), ("b", "y")], id="pairs"),
        pytest.param(iter([("a", "x"), ("b", "y")]), id="iterator-of-pairs"),
        pytest.param([Document("a", "x"), Document("b", "y")], id="documents"),
    ],
)
def test_as_documents_accepts_the_api_forms(source: object) -> None:
    assert list(as_documents(source)) == [Document("a", "x"), Document("b", "y")]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(["just a string"], id="strings"),
        pytest.param([("a", "x", "extra")], id="triples"),
        pytest.param([("a", 3)], id="text-not-str"),
    ],
)
def test_as_documents_rejects_other_items(source: object) -> None:
    with pytest.raises(TypeError):
        list(as_documents(source))  # type: ignore[arg-type]


def test_unreadable_file_in_a_directory_is_skipped(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "readable")
    (tmp_path / "b.txt").symlink_to(tmp_path / "gone.txt")  # a dangling link cannot be opened
    documents, skipped = read([str(tmp_path)])
    assert [Path(d.name).name for d in documents] == ["a.txt"]
    assert [(Path(s.source).name, s.reason.startswith("cannot read: ")) for s in skipped] == [("b.txt", True)]


def test_an_unreadable_subdirectory_is_skipped_with_its_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.txt").write_text("Readable text.\n")
    locked = tmp_path / "locked"
    locked.mkdir()
    real_scandir = os.scandir

    def scandir(path: str) -> object:  # as for a directory this user may not list (tests may run as root)
        if path == str(locked):
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr("dedup.documents.os.scandir", scandir)
    reader = DocumentReader([str(tmp_path)])
    assert [d.name for d in reader] == [str(tmp_path / "a.txt")]
    assert [(s.source, s.reason) for s in reader.skipped] == [(str(locked), "cannot read directory: Permission denied")]


# ---------------------------------------------------------------------------------------------
# JSON Lines: one line that json cannot take is one skip, never the end of the run.

DEEP = 5000
GOOD_BEFORE = {"id": "before", "text": "Read before the bad line."}
GOOD_AFTER = {"id": "after", "text": "Read after the bad line."}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        pytest.param(b"[" * DEEP + b"]" * DEEP, "JSON nested too deeply (more than 128 levels)", id="deep-array"),
        pytest.param(b'{"text": "x", "a": ' + b'{"a": ' * DEEP + b"1" + b"}" * DEEP + b"}", "JSON nested too deeply (more than 128 levels)", id="deep-object-in-object"),
        pytest.param(b'{"text": "x", "a": ' + b"[" * 128 + b"]" * 128 + b"}", "JSON nested too deeply (more than 128 levels)", id="one-level-too-deep"),
        pytest.param(b'{"id": "n", "text": "x", "n": ' + b"7" * DEEP + b"}", "number too long", id="long-integer"),
        pytest.param(b'{"id": -' + b"7" * DEEP + b', "text": "x"}', "number too long", id="long-negative-id"),
    ],
)
def test_a_jsonl_line_json_cannot_take_is_skipped_and_the_rest_is_read(tmp_path: Path, line: bytes, reason: str) -> None:
    path = write(tmp_path / "f.jsonl", jsonl(GOOD_BEFORE, line, GOOD_AFTER))
    documents, skipped = read([path])
    assert [d.name for d in documents] == ["before", "after"]
    assert len(skipped) == 1 and skipped[0].source == f"{path}:2"
    assert skipped[0].reason.startswith(reason)


def test_jsonl_nesting_up_to_the_limit_is_read(tmp_path: Path) -> None:
    """128 levels in all, the document's own object counted: deeper than real documents go."""
    line = b'{"text": "x", "a": ' + b"[" * 127 + b"]" * 127 + b"}"
    documents, skipped = read([write(tmp_path / "f.jsonl", jsonl(line))])
    assert [d.text for d in documents] == ["x"] and skipped == []


def test_a_jsonl_line_of_brackets_in_strings_is_not_nesting(tmp_path: Path) -> None:
    text = "[" * 1000 + "{" * 1000
    documents, skipped = read([write(tmp_path / "f.jsonl", jsonl({"id": "a", "text": text}))])
    assert [d.text for d in documents] == [text] and skipped == []


def test_a_long_integer_is_skipped_through_stdin_too() -> None:
    data = jsonl(GOOD_BEFORE, b'{"text": "x", "n": ' + b"9" * DEEP + b"}", GOOD_AFTER)
    documents, skipped = read(["-"], jsonl=True, stdin=io.BytesIO(data))
    assert [d.name for d in documents] == ["before", "after"]
    assert [s.source for s in skipped] == ["<stdin>:2"]


# ---------------------------------------------------------------------------------------------
# Through the command line: report and filter both carry on past a bad line.

BAD_LINES = [
    pytest.param(b"[" * DEEP + b"]" * DEEP, "JSON nested too deeply", id="deep-array"),
    pytest.param(b'{"id": "x", "text": "y", "a": ' + b'{"a": ' * DEEP + b"1" + b"}" * DEEP + b"}", "JSON nested too deeply", id="deep-object"),
    pytest.param(b'{"id": "x", "text": "y", "n": ' + b"1" * DEEP + b"}", "number too long", id="long-integer"),
    pytest.param(b'{"id": true, "text": "y"}', "field 'id' is a boolean", id="boolean-id"),
]
SHARED = "Soldiers are on standby for armed police after scores of officers stood down."


@pytest.mark.parametrize(("line", "reason"), BAD_LINES)
def test_report_reads_past_a_bad_jsonl_line(line: bytes, reason: str) -> None:
    data = jsonl({"id": "first", "text": "Nothing shared here."}, line, {"id": "a", "text": SHARED}, {"id": "b", "text": SHARED})
    result = CliRunner().invoke(main, ["report", "--jsonl", "-", "--format", "json"], input=data)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["clusters"][0]["documents"] == ["a", "b"]
    assert report["stats"]["documents"] == 3
    assert f"dedup: warning: skipped <stdin>:2: {reason}" in result.stderr


@pytest.mark.parametrize(("line", "reason"), BAD_LINES)
def test_filter_reads_past_a_bad_jsonl_line(tmp_path: Path, line: bytes, reason: str) -> None:
    data = jsonl({"id": 1, "text": "Nothing shared here."}, line, {"id": "a", "text": SHARED}, {"id": "b", "text": SHARED})
    result = CliRunner().invoke(main, ["filter", "--index", str(tmp_path / "idx")], input=data)
    assert result.exit_code == 0, result.output
    kept = [json.loads(row) for row in result.stdout.splitlines()]
    assert kept == [{"id": 1, "text": "Nothing shared here."}, {"id": "a", "text": SHARED}]  # b repeats a; ids keep their type
    assert f"dedup: warning: skipped <stdin>:2: {reason}" in result.stderr
    assert "1 inputs skipped" in result.stderr

# ---------------------------------------------------------------------------------------------
# JSON Lines ids: a string as is, an integer as its digits, anything else a skip.


@pytest.mark.parametrize(
    ("ident", "name"),
    [
        pytest.param("doc-1", "doc-1", id="string"),
        pytest.param("", "", id="empty-string"),
        pytest.param(42, "42", id="integer"),
        pytest.param(-7, "-7", id="negative-integer"),
        pytest.param(10**40, "1" + "0" * 40, id="big-integer"),
        pytest.param("True", "True", id="string-that-looks-like-a-bool"),
    ],
)
def test_jsonl_string_and_integer_ids_name_the_document(tmp_path: Path, ident: object, name: str) -> None:
    documents, skipped = read([write(tmp_path / "f.jsonl", jsonl({"id": ident, "text": "x"}))])
    assert [d.name for d in documents] == [name] and skipped == []
    assert documents[0].fields == {"id": ident, "text": "x"}  # written back with its own type


@pytest.mark.parametrize(
    ("ident", "kind"),
    [
        pytest.param(True, "a boolean", id="true"),
        pytest.param(False, "a boolean", id="false"),
        pytest.param(1.0, "a number with a fraction or exponent", id="float"),
        pytest.param(1e300, "a number with a fraction or exponent", id="exponent"),
        pytest.param({"a": 1}, "an object", id="object"),
        pytest.param([1], "an array", id="array"),
    ],
)
def test_jsonl_ids_of_other_types_are_skipped_naming_the_type_and_the_option(tmp_path: Path, ident: object, kind: str) -> None:
    path = write(tmp_path / "f.jsonl", jsonl({"id": ident, "text": "x"}, GOOD_AFTER))
    documents, skipped = read([path])
    assert [d.name for d in documents] == ["after"]
    assert skipped == [Skip(f"{path}:1", f"field 'id' is {kind}, not a string or an integer (use --id-field to name the id field)")]


def test_jsonl_id_type_is_checked_in_the_field_named_by_id_field(tmp_path: Path) -> None:
    path = write(tmp_path / "f.jsonl", jsonl({"id": True, "url": "u", "text": "x"}, {"id": "s", "url": False, "text": "y"}))
    documents, skipped = read([path], id_field="url")
    assert [d.name for d in documents] == ["u"]
    assert skipped == [Skip(f"{path}:2", "field 'url' is a boolean, not a string or an integer (use --id-field to name the id field)")]


def test_jsonl_integer_id_and_its_digits_name_the_same_document(tmp_path: Path) -> None:
    documents, _ = read([write(tmp_path / "f.jsonl", jsonl({"id": 7, "text": "x"}, {"id": "7", "text": "x"}))])
    assert documents[0].name == documents[1].name == "7"


# ---------------------------------------------------------------------------------------------
# What a path is: directories give their regular files only; a pipe named on the command line
# is read, a device or socket never.

ROOT = Path(__file__).resolve().parent.parent


def run_dedup(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    """``dedup ARGS`` in a process of its own with a time and memory limit, so that a run that
    would block on a pipe or read a device forever fails the test instead of hanging it."""

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    return subprocess.run(
        [sys.executable, "-m", "dedup", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limit_memory,
    )


@pytest.fixture
def hostile_directory(tmp_path: Path) -> Path:
    """Two readable files and, between them, what a directory scan must not open: a FIFO with
    no writer (opening it blocks), a link to /dev/zero (reading it never ends) and a socket."""
    root = tmp_path / "corpus"
    write(root / "a.txt", "Shared paragraph that both files carry, word for word.\n")
    os.mkfifo(root / "p.txt")
    (root / "z.txt").symlink_to("/dev/zero")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(root / "s.txt"))
    write(root / "zz.txt", "Shared paragraph that both files carry, word for word.\n")
    return root


def test_a_directory_scan_reads_regular_files_only_and_says_what_it_left(hostile_directory: Path) -> None:
    root = hostile_directory
    try:
        result = run_dedup("report", str(root), "--format", "json")
    except subprocess.TimeoutExpired:
        pytest.fail("the scan blocked on a FIFO or read a device")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["clusters"][0]["documents"] == [str(root / "a.txt"), str(root / "zz.txt")]
    assert report["stats"]["skipped"] == [
        {"source": str(root / "p.txt"), "reason": "a named pipe (FIFO), not a regular file: directories are read for their regular files only"},
        {"source": str(root / "s.txt"), "reason": "a socket, not a regular file: directories are read for their regular files only"},
        {"source": str(root / "z.txt"), "reason": "a symbolic link to a character device, not a regular file: directories are read for their regular files only"},
    ]
    assert f"dedup: warning: skipped {root / 'p.txt'}: a named pipe (FIFO)" in result.stderr


def test_a_directory_scan_follows_links_to_regular_files(tmp_path: Path) -> None:
    target = write(tmp_path / "elsewhere" / "target.dat", "Linked text.")
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "link.txt").symlink_to(target)
    (tmp_path / "corpus" / "dir.txt").symlink_to(tmp_path / "elsewhere")
    documents, skipped = read([str(tmp_path / "corpus")])
    assert [(d.name, d.text) for d in documents] == [(str(tmp_path / "corpus" / "link.txt"), "Linked text.")]
    assert skipped == [Skip(str(tmp_path / "corpus" / "dir.txt"), "a symbolic link to a directory, not a regular file: directories are read for their regular files only")]


def test_a_directory_holding_only_a_fifo_says_so_rather_than_no_files(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "p.txt")
    try:
        result = run_dedup("report", str(tmp_path))
    except subprocess.TimeoutExpired:
        pytest.fail("the scan blocked on a FIFO")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"dedup: warning: skipped {tmp_path / 'p.txt'}: a named pipe (FIFO), not a regular file: directories are read for their regular files only",
        "dedup: error: no documents to read (1 input skipped, see the warnings above)",
    ]


def test_a_fifo_named_on_the_command_line_is_read(tmp_path: Path) -> None:
    """As bash's process substitution, ``dedup report <(cmd)``, passes one."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", 'printf "From a pipe.\\n" > "$1"', "sh", str(fifo)])
    try:
        documents, skipped = read([str(fifo)])
    finally:
        writer.kill()
        writer.wait()
    assert [(d.name, d.text) for d in documents] == [(str(fifo), "From a pipe.\n")]
    assert skipped == []


@pytest.mark.parametrize(
    ("device", "kind"),
    [pytest.param("/dev/null", "a character device", id="dev-null"), pytest.param("/dev/zero", "a character device", id="dev-zero")],
)
def test_a_device_named_on_the_command_line_is_refused_unread(tmp_path: Path, device: str, kind: str) -> None:
    try:
        result = run_dedup("report", device, str(write(tmp_path / "a.txt", "Some text.")))
    except subprocess.TimeoutExpired:
        pytest.fail(f"{device} was read")
    assert result.returncode == 0, result.stderr
    assert f"dedup: warning: skipped {device}: {kind}, not read: only regular files, directories and pipes are" in result.stderr


def test_a_file_replaced_by_a_fifo_after_the_listing_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "a.txt", "Listed as a regular file.")
    real_fstat = os.fstat

    def fstat(fd: int) -> os.stat_result:  # what opening it finds, had it been swapped meanwhile
        found = real_fstat(fd)
        return os.stat_result((stat.S_IFIFO | 0o644, *found[1:]))

    monkeypatch.setattr("dedup.documents.os.fstat", fstat)
    documents, skipped = read([str(tmp_path)])
    assert documents == []
    assert skipped == [Skip(str(tmp_path / "a.txt"), "replaced while being opened (now a named pipe (FIFO)), not read")]


def test_a_socket_named_on_the_command_line_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        documents, skipped = read([str(path)])
    assert documents == []
    assert skipped == [Skip(str(path), "a socket, not read: only regular files, directories and pipes are")]


# ---------------------------------------------------------------------------------------------
# UTF-16 and UTF-32 text, known by its byte-order mark


@pytest.mark.parametrize(
    "codec",
    [
        pytest.param("utf-16-le", id="utf-16-le"),
        pytest.param("utf-16-be", id="utf-16-be"),
        pytest.param("utf-32-le", id="utf-32-le"),
        pytest.param("utf-32-be", id="utf-32-be"),
    ],
)
def test_utf16_and_utf32_files_with_a_bom_are_text(tmp_path: Path, codec: str) -> None:
    text = "Title\r\n\r\nÇa été, “quoted”, 𝔘𝔫𝔦.\n"
    path = write(tmp_path / "doc.txt", "\ufeff".encode(codec) + text.encode(codec))
    documents, skipped = read([path])
    assert skipped == []
    assert [d.text for d in documents] == [text]
    assert documents[0].utf8 in (None, text.encode("utf-8"))


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param(b"\xff\xfeA\x00B", "not valid UTF-16 (truncated data at byte 4)", id="odd-length"),
        pytest.param(b"\xff\xfeA\x00\x00\xdcB\x00", "not valid UTF-16 (illegal encoding at byte 4)", id="lone-low-surrogate"),
        pytest.param(b"\x00\x00\xfe\xff\x00\x11\x00\x00", "not valid UTF-32 (code point not in range(0x110000) at byte 4)", id="beyond-unicode"),
        pytest.param(b"A\x00B\x00", "binary file (it holds NUL bytes)", id="utf-16-without-bom-is-binary"),
        pytest.param(b"\xff\xfeA\x00\x00\x00B\x00", "binary file (it holds NUL characters after a UTF-16 byte-order mark)", id="binary-after-a-bom"),
    ],
)
def test_a_bom_file_that_does_not_decode_is_skipped_saying_where(tmp_path: Path, raw: bytes, reason: str) -> None:
    path = write(tmp_path / "doc.txt", raw)
    assert read([path]) == ([], [Skip(path, reason)])


def test_utf16_spans_are_characters_of_the_decoded_text(tmp_path: Path) -> None:
    text = "Première ligne.\n\nSoldiers are on standby for armed police after scores of officers.\n"
    utf16 = write(tmp_path / "a.txt", text.encode("utf-16"))
    utf8 = write(tmp_path / "b.txt", text)
    result = CliRunner().invoke(main, ["report", utf16, utf8, "--format", "json"])
    assert result.exit_code == 0, result.output
    members = {m["doc"]: m for c in json.loads(result.stdout)["clusters"] for m in c["members"]}
    start, end = members[utf16]["start"], members[utf16]["end"]
    assert Path(utf16).read_text(encoding="utf-16")[start:end] == members[utf16]["text"] == members[utf8]["text"]


# ---------------------------------------------------------------------------------------------
# Warnings name files and lines that others chose: they must not drive the terminal.


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        pytest.param("a\x1b[2J\x1b[31m.txt", "a\\x1b[2J\\x1b[31m.txt", id="ansi-escape"),
        pytest.param("bell\x07back\x08cr\rnl\nend", "bell\\x07back\\x08cr\\rnl\\nend", id="c0-controls"),
        pytest.param("c1\x9b31m\x85\x90", "c1\\x9b31m\\x85\\x90", id="c1-controls"),
        pytest.param("evil\u202etxt.exe", "evil\\u202etxt.exe", id="bidi-override"),
        pytest.param("café 𝔘𝔫𝔦 日本 👩\u200d👩\u200d👧 a\\b", "café 𝔘𝔫𝔦 日本 👩\u200d👩\u200d👧 a\\b", id="ordinary-text-untouched"),
    ],
)
def test_a_skip_is_printed_with_control_characters_escaped(source: str, shown: str) -> None:
    skip = Skip(source, "binary file (it holds NUL bytes)")
    assert str(skip) == f"{shown}: binary file (it holds NUL bytes)"
    assert skip.source == source  # kept exact for JSON output


def test_a_file_named_with_escapes_is_warned_about_harmlessly(tmp_path: Path) -> None:
    bad = write(tmp_path / "x\x1b]0;owned\x07.txt", b"\x00binary")
    result = CliRunner().invoke(main, ["report", str(tmp_path), "--format", "json"])
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert f"skipped {tmp_path}/x\\x1b]0;owned\\x07.txt: binary file" in result.stderr
    assert bad not in result.stderr


def test_a_missing_path_is_named_with_control_characters_escaped(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        read([str(tmp_path / "gone\x1b[2J.txt")])
    assert str(caught.value) == f"{tmp_path}/gone\\x1b[2J.txt: no such file or directory"
