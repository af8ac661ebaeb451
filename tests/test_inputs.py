"""What both commands read: standard input told apart (text or JSON Lines), text files in any
encoding, compressed files, documentation names in directory scans, Parquet, and how the
skipped inputs are reported."""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import json
import lzma
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import zstandard
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dedup.cli import main
from dedup.documents import DOC_NAMES, Document, DocumentReader, InputError, Skip

ROOT = Path(__file__).resolve().parents[1]
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
SHARED = "Soldiers are on standby for armed police after scores of officers handed in their weapons permits."


def invoke(*args: str, stdin: str | bytes | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=stdin)


def jsonl(*rows: object) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def read(sources: list[str], **kwargs: Any) -> tuple[list[Document], list[Skip]]:
    reader = DocumentReader(sources, **kwargs)
    return list(reader), reader.skipped


def warnings(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("dedup: warning:")]


TWO_DOCS = jsonl({"id": "x", "text": SHARED}, {"id": "y", "text": "Intro.\n\n" + SHARED})


# ---------------------------------------------------------------------------------------------
# Standard input: one rule for both commands


def test_report_reads_json_lines_on_stdin_without_being_told() -> None:
    result = invoke("report", "-", "--format", "json", stdin=TWO_DOCS)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["clusters"][0]["documents"] == ["x", "y"]
    assert warnings(result) == []


def test_report_reads_text_on_stdin_as_one_document() -> None:
    result = invoke("report", "-", "--format", "json", stdin=f"{SHARED}\n\nMiddle.\n\n{SHARED}\n")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["clusters"][0]["documents"] == ["<stdin>"]


def test_filter_reads_text_on_stdin_as_one_document_not_lines_of_bad_json(tmp_path: Path) -> None:
    text = "".join(f"Line {k} of a plain text, not JSON.\n" for k in range(300))
    result = invoke("filter", "--index", str(tmp_path / "idx"), stdin=text)
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{"id": "<stdin>", "text": text}]
    assert warnings(result) == []


def test_json_lines_without_the_text_field_is_read_as_text_with_a_warning_naming_the_option() -> None:
    rows = jsonl({"id": "x", "body": SHARED}, {"id": "y", "body": SHARED})
    result = invoke("report", "-", "--format", "json", stdin=rows)
    assert result.exit_code == 0
    [warning] = warnings(result)
    assert "JSON objects with no 'text' field" in warning and "--text-field" in warning and "'id', 'body'" in warning
    named = invoke("report", "-", "--text-field", "body", "--format", "json", stdin=rows)
    assert json.loads(named.stdout)["clusters"][0]["documents"] == ["x", "y"] and warnings(named) == []


def test_one_json_object_without_the_text_field_is_warned_about_in_the_filter(tmp_path: Path) -> None:
    result = invoke("filter", "--index", str(tmp_path / "idx"), stdin=jsonl({"id": "x", "content": SHARED}))
    assert result.exit_code == 0
    assert any("--text-field" in w for w in warnings(result))


def test_json_lines_behind_a_bad_first_line_is_read_as_text_with_a_warning_naming_jsonl(tmp_path: Path) -> None:
    data = '{"id": "x", "text": "cut off\n' + TWO_DOCS + jsonl({"id": "z", "text": "More."})
    result = invoke("filter", "--index", str(tmp_path / "idx"), stdin=data)
    assert result.exit_code == 0
    assert any("3 of its first 4 lines are JSON objects with a 'text' field" in w and "--jsonl" in w for w in warnings(result))
    fixed = invoke("filter", "--index", str(tmp_path / "idx2"), "--jsonl", stdin=data)
    assert [json.loads(line)["id"] for line in fixed.stdout.splitlines()] == ["x", "y", "z"]
    assert any("skipped <stdin>:1: malformed JSON" in w for w in warnings(fixed))


@pytest.mark.parametrize(
    "data",
    [
        pytest.param('{"id": 1, "text": "x"\n', id="one object cut off"),
        pytest.param('{"id": 1, "text": "a",}\n{"id": 2 "text": "b"}\n', id="every line malformed"),
    ],
)
def test_lines_that_start_like_json_objects_but_do_not_parse_are_warned_about(tmp_path: Path, data: str) -> None:
    # Read as one text document, they would otherwise pass into the output without a word.
    result = invoke("filter", "--index", str(tmp_path / "idx"), stdin=data)
    assert result.exit_code == 0
    assert any("start like JSON objects" in w and "not valid JSON" in w and "--jsonl" in w for w in warnings(result))
    quiet = invoke("filter", "--index", str(tmp_path / "idx2"), "--text", stdin=data)
    assert warnings(quiet) == []


def test_text_flag_reads_json_lines_on_stdin_as_text_without_a_warning() -> None:
    result = invoke("report", "-", "--text", "--format", "json", stdin=TWO_DOCS)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["stats"]["documents"] == 1 and warnings(result) == []


@pytest.mark.parametrize("command", [["report", "-"], ["filter", "--index", "{idx}"]])
def test_jsonl_and_text_together_are_a_usage_error(command: list[str], tmp_path: Path) -> None:
    result = invoke(*[arg.format(idx=tmp_path / "idx") for arg in command], "--jsonl", "--text", stdin=TWO_DOCS)
    assert result.exit_code == 2 and "--jsonl and --text" in result.stderr


def test_blank_lines_before_the_first_json_line_are_replayed_and_counted() -> None:
    documents, skipped = read(["-"], stdin=io.BytesIO(b"\n  \n" + TWO_DOCS.encode() + b"[1]\n"))
    assert [d.name for d in documents] == ["x", "y"]
    assert skipped == [Skip("<stdin>:5", "expected a JSON object, got list")]


def test_a_pipe_is_read_once_whole_through_a_real_process(tmp_path: Path) -> None:
    rows = "".join(json.dumps({"id": f"d{k}", "text": f"Document number {k} with words of its own.\n\n{SHARED}"}) + "\n" for k in range(2000))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "dumb"}
    command = [sys.executable, "-m", "dedup", "filter", "--index", str(tmp_path / "idx")]
    done = subprocess.run(command, input=rows.encode(), capture_output=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 2000  # every document, none lost to the look ahead
    assert b"2,000 read" in done.stderr


STDIN_LINES = st.one_of(
    st.binary(max_size=30),
    st.builds(lambda text, ident: json.dumps({"id": ident, "text": text}).encode(), st.text(max_size=20), st.text(max_size=5) | st.integers()),
    st.builds(lambda body: json.dumps({"body": body}).encode(), st.text(max_size=20)),
    st.sampled_from([b"", b" ", b"\r", b"{", b"[]", b"{}", b"\xef\xbb\xbf", b'\xef\xbb\xbf{"text": "a"}', b'{"text": 1}', b'{"text": "a"} x']),
)


@FUZZ
@given(st.lists(STDIN_LINES, max_size=8), st.booleans())
def test_detected_stdin_reads_as_the_format_it_is_detected_as_would(lines: list[bytes], final_newline: bool) -> None:
    data = b"\n".join(lines) + (b"\n" if final_newline else b"")
    detected = DocumentReader(["-"], stdin=io.BytesIO(data))
    documents = list(detected)
    kind = DocumentReader(["-"]).stdin_format(io.BytesIO(data))
    told = DocumentReader(["-"], jsonl=kind == "jsonl", text=kind == "text", stdin=io.BytesIO(data))
    assert documents == list(told)  # the look ahead is replayed exactly
    assert detected.skipped == told.skipped
    if kind == "text":
        assert len(documents) + len(detected.skipped) == 1
    else:
        nonblank = [line for line in data.split(b"\n") if line.strip()]
        assert len(documents) + len(detected.skipped) == len(nonblank)
    first = next((line for line in data.split(b"\n") if line.strip()), None)
    if first is not None and first.lstrip().startswith(b'{"id"') and b'"text"' in first and b"\\" not in first:
        assert kind == "jsonl"


# ---------------------------------------------------------------------------------------------
# --encoding


def test_encoding_decodes_text_files(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes("Déjà vu, café crème.\n".encode("latin-1"))
    [document], skipped = read([str(path)], encoding="latin-1")
    assert document.text == "Déjà vu, café crème.\n" and skipped == []
    result = invoke("report", str(path), "--encoding", "latin-1", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["stats"]["documents"] == 1


def test_a_file_not_in_utf8_is_a_skip_that_suggests_encoding(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes(b"one\ntwo\ncaf\xe9\n")
    result = invoke("report", str(path))
    assert result.exit_code == 2
    assert f"skipped {path}: not valid UTF-8 (byte 0xe9 on line 3); try --encoding latin-1 if that is its encoding" in result.stderr


def test_a_file_not_in_the_encoding_given_is_a_skip_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "cp.txt"
    path.write_bytes(b"first\nsecond \x81 byte\n")  # 0x81 is undefined in cp1252
    _, skipped = read([str(path)], encoding="cp1252")
    assert skipped == [Skip(str(path), "not valid cp1252 (byte 0x81 on line 2); name its encoding with --encoding")]


def test_a_byte_order_mark_overrides_the_encoding_and_json_lines_stay_utf8(tmp_path: Path) -> None:
    marked = tmp_path / "marked.txt"
    marked.write_bytes("Été".encode("utf-16"))  # with its byte-order mark
    utf8 = tmp_path / "utf8.txt"
    utf8.write_bytes(codecs.BOM_UTF8 + "Été".encode())
    lines = tmp_path / "docs.jsonl"
    lines.write_text(json.dumps({"id": "é", "text": "Été"}, ensure_ascii=False) + "\n", encoding="utf-8")
    documents, skipped = read([str(marked), str(utf8), str(lines)], encoding="latin-1")
    assert [(d.name, d.text) for d in documents] == [(str(marked), "Été"), (str(utf8), "Été"), ("é", "Été")] and skipped == []


def test_stdin_text_is_decoded_with_the_encoding() -> None:
    documents, _ = read(["-"], encoding="cp1252", stdin=io.BytesIO("“Quoted” – café\n".encode("cp1252")))
    assert [d.text for d in documents] == ["“Quoted” – café\n"]


@pytest.mark.parametrize("name", ["no-such-codec", "base64", "rot13"])
@pytest.mark.parametrize("command", [["report", "{file}"], ["filter", "--index", "{idx}", "{file}"]])
def test_an_unknown_or_non_text_encoding_is_a_usage_error(tmp_path: Path, command: list[str], name: str) -> None:
    (tmp_path / "a.txt").write_text("text")
    args = [arg.format(file=tmp_path / "a.txt", idx=tmp_path / "idx") for arg in command]
    result = invoke(*args, "--encoding", name)
    assert result.exit_code == 2 and "--encoding" in result.stderr and "not a text encoding" in result.stderr
    assert not (tmp_path / "idx").exists()
    with pytest.raises(ValueError, match="unknown text encoding"):
        DocumentReader(["-"], encoding=name)


@FUZZ
@given(st.text(st.characters(codec="cp1252", exclude_characters="\x00"), min_size=1, max_size=60), st.sampled_from(["latin-1", "cp1252"]))
def test_text_in_a_single_byte_encoding_reads_back_as_written(text: str, codec: str) -> None:
    try:
        raw = text.encode(codec)
    except UnicodeEncodeError:
        return
    # A file that starts with a byte-order mark says its own encoding, whatever --encoding says.
    assume(not raw.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)))
    documents, skipped = read(["-"], text=True, encoding=codec, stdin=io.BytesIO(raw))
    if text.strip():
        assert [d.text for d in documents] == [text] and skipped == []
    else:
        assert documents == [] and [s.reason for s in skipped] == ["file holds only whitespace"]


# ---------------------------------------------------------------------------------------------
# Compressed files


COMPRESS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress, ".zst": lambda data: zstandard.ZstdCompressor().compress(data)}


@pytest.mark.parametrize("suffix", list(COMPRESS))
def test_compressed_files_are_read_by_their_inner_name(tmp_path: Path, suffix: str) -> None:
    text = tmp_path / f"a.txt{suffix}"
    text.write_bytes(COMPRESS[suffix](f"Intro.\n\n{SHARED}\n".encode()))
    lines = tmp_path / f"b.jsonl{suffix}"
    lines.write_bytes(COMPRESS[suffix](jsonl({"id": "x", "text": SHARED}).encode()))
    documents, skipped = read([str(text), str(lines)])
    assert [(d.name, d.text) for d in documents] == [(str(text), f"Intro.\n\n{SHARED}\n"), ("x", SHARED)] and skipped == []
    result = invoke("report", str(text), str(lines), "--format", "json")
    assert json.loads(result.stdout)["clusters"][0]["documents"] == [str(text), "x"]


def test_directory_globs_match_the_inner_name_of_a_compressed_file(tmp_path: Path) -> None:
    (tmp_path / "notes.txt.gz").write_bytes(gzip.compress(b"Gzipped notes."))
    (tmp_path / "plain.txt").write_text("Plain notes.")
    (tmp_path / "image.png.gz").write_bytes(gzip.compress(b"\x89PNG"))
    documents, skipped = read([str(tmp_path)], globs=("*.txt",), doc_names=())
    assert [(Path(d.name).name, d.text) for d in documents] == [("notes.txt.gz", "Gzipped notes."), ("plain.txt", "Plain notes.")]
    assert skipped == []


@pytest.mark.parametrize(
    ("suffix", "data", "reason"),
    [
        pytest.param(".gz", b"not gzip at all", "corrupt gzip data: Not a gzipped file", id="gzip-not-gzip"),
        pytest.param(".gz", gzip.compress(b"some text " * 100)[:-12], "corrupt gzip data: Compressed file ended", id="gzip-truncated"),
        pytest.param(".bz2", b"BZh9 garbage", "corrupt bzip2 data: Invalid data stream", id="bzip2"),
        pytest.param(".xz", b"\xfd7zXZ\x00garbage", "corrupt xz data", id="xz"),
        pytest.param(".zst", b"(\xb5/\xfd garbage", "corrupt zstd data", id="zstd"),
    ],
)
def test_a_corrupt_compressed_file_is_a_skip_with_its_reason(tmp_path: Path, suffix: str, data: bytes, reason: str) -> None:
    bad = tmp_path / f"bad.txt{suffix}"
    bad.write_bytes(data)
    good = tmp_path / "good.txt"
    good.write_text("Fine.")
    documents, [skip] = read([str(bad), str(good)])
    assert [d.name for d in documents] == [str(good)]
    assert skip.source == str(bad) and skip.reason.startswith(reason)


def test_json_lines_read_before_damage_are_kept_and_the_damage_says_where(tmp_path: Path) -> None:
    whole = gzip.compress(jsonl(*({"id": f"d{k}", "text": f"Text {k}."} for k in range(2000))).encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    documents, [skip] = read([str(path)])
    assert 0 < len(documents) < 2000 and [d.name for d in documents] == [f"d{k}" for k in range(len(documents))]
    assert skip.reason.startswith(f"corrupt gzip data after {len(documents):,} documents")


def test_zstandard_input_without_zstandard_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "notes.txt.zst"
    path.write_bytes(COMPRESS[".zst"](b"Some notes."))
    monkeypatch.setitem(sys.modules, "zstandard", None)  # as if it were not installed
    result = invoke("report", str(path))
    assert result.exit_code == 2 and "reading Zstandard needs zstandard: pip install 'dedup[zstd]'" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("name", ["bomb.txt.gz", "bomb.jsonl.gz", "bomb.txt.zst", "bomb.jsonl.zst"])
@pytest.mark.parametrize("data", [pytest.param(b"\n" * 5000, id="lines"), pytest.param(b"a" * 5000, id="one-line")])
def test_a_file_that_expands_past_the_limit_is_refused(tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(COMPRESS[path.suffix](data))
    documents, skipped = read([str(path)], max_decompressed=4096)
    assert documents == []
    assert skipped == [Skip(str(path), "expands to more than 4,096 bytes when decompressed: not read (a decompression bomb?)")]
    assert read([str(path)], max_decompressed=5000)[1] != skipped  # at the limit it is read


def test_a_real_bomb_is_refused_at_the_default_limit_without_holding_it(tmp_path: Path) -> None:
    path = tmp_path / "bomb.txt.gz"
    with gzip.open(path, "wb", compresslevel=9) as f:
        chunk = b"\0" * (1 << 24)
        for _ in range(65):  # 1,040 MiB of NUL bytes in about 1 MB
            f.write(chunk)
    documents, [skip] = read([str(path)])
    assert documents == [] and "expands to more than 1,073,741,824 bytes" in skip.reason


@FUZZ
@given(st.binary(max_size=300), st.sampled_from(list(COMPRESS)))
def test_a_compressed_file_reads_as_its_contents_would(data: bytes, suffix: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "x.txt"
        plain.write_bytes(data)
        packed = Path(tmp) / f"x.txt{suffix}"
        packed.write_bytes(COMPRESS[suffix](data))
        documents, skipped = read([str(plain)])
        packed_documents, packed_skipped = read([str(packed)])
    assert [d.text for d in packed_documents] == [d.text for d in documents]
    assert [s.reason for s in packed_skipped] == [s.reason for s in skipped]


# ---------------------------------------------------------------------------------------------
# Directory scans: documentation names; skipped inputs counted


def test_default_scan_reads_documentation_files_with_no_extension(tmp_path: Path) -> None:
    for name in ["README", "README-hacking", "copyright", "COPYING", "LICENSE", "AUTHORS", "NEWS", "CHANGELOG", "notes.md"]:
        (tmp_path / "pkg" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "pkg" / name).write_text(f"Text of {name}.")
    (tmp_path / "pkg" / "changelog.gz").write_bytes(gzip.compress(b"Text of changelog."))
    for name in ["README.html", "LICENSE.pdf", "copyright.bak", "Makefile", "NEWS.Debian.gz", "readme"]:
        (tmp_path / "pkg" / name).write_bytes(b"\x00 not to be read")
    documents, skipped = read([str(tmp_path)])
    assert sorted(Path(d.name).name for d in documents) == sorted(
        ["AUTHORS", "CHANGELOG", "COPYING", "LICENSE", "NEWS", "README", "README-hacking", "changelog.gz", "copyright", "notes.md"]
    )
    assert skipped == []
    assert DOC_NAMES == ("README*", "CHANGELOG*", "changelog*", "NEWS*", "copyright", "COPYING*", "LICENSE*", "AUTHORS*")


def test_a_glob_given_replaces_the_documentation_names(tmp_path: Path) -> None:
    (tmp_path / "README").write_text("Readme.")
    (tmp_path / "a.rst").write_text("Restructured.")
    result = invoke("report", str(tmp_path), "--glob", "*.rst", "--format", "json")
    assert list(json.loads(result.stdout)["stats"]["per_document"]) == [str(tmp_path / "a.rst")]
    empty = tmp_path / "empty"
    empty.mkdir()
    message = invoke("report", str(empty)).stderr
    assert "no files matching *.txt, *.md or files with no extension named README*, CHANGELOG*" in message


@pytest.fixture
def noisy(tmp_path: Path) -> Path:
    (tmp_path / "good.txt").write_text(f"{SHARED}\n\nOther.\n\n{SHARED}\n")
    for k in range(22):
        (tmp_path / f"bin{k:02}.txt").write_bytes(b"\x00binary")
    for k in range(3):
        (tmp_path / f"latin{k}.txt").write_bytes(b"caf\xe9")
    (tmp_path / "void.txt").write_bytes(b"")
    return tmp_path


def test_past_twenty_skips_the_rest_are_counted_by_reason_in_one_line(noisy: Path) -> None:
    result = invoke("report", str(noisy), "--format", "json")
    assert result.exit_code == 0
    lines = warnings(result)
    assert len(lines) == 21 and all(line.startswith("dedup: warning: skipped ") for line in lines)
    assert lines[-1] == "dedup: warning: skipped 6 more inputs: 3 not valid UTF-8, 2 binary file, 1 empty file"
    assert json.loads(result.stdout)["stats"]["skipped_inputs"] == 26


@pytest.mark.parametrize("command", [["report", "{dir}", "--format", "json"], ["filter", "--index", "{idx}", "{dir}"]])
def test_quiet_counts_the_skips_in_one_line(noisy: Path, tmp_path_factory: pytest.TempPathFactory, command: list[str]) -> None:
    idx = tmp_path_factory.mktemp("index") / "idx"
    result = invoke(*[arg.format(dir=noisy, idx=idx) for arg in command], "--quiet")
    assert result.exit_code == 0
    assert warnings(result) == ["dedup: warning: skipped 26 inputs: 22 binary file, 3 not valid UTF-8, 1 empty file"]


@pytest.mark.parametrize("command", [["report", "{dir}", "--format", "json"], ["filter", "--index", "{idx}", "{dir}"]])
def test_verbose_lists_every_skip_and_quiet_with_verbose_is_refused(noisy: Path, tmp_path_factory: pytest.TempPathFactory, command: list[str]) -> None:
    idx = tmp_path_factory.mktemp("index") / "idx"
    args = [arg.format(dir=noisy, idx=idx) for arg in command]
    result = invoke(*args, "-v")
    assert result.exit_code == 0
    lines = warnings(result)
    assert len(lines) == 26 and all(line.startswith("dedup: warning: skipped ") and " more " not in line for line in lines)
    fresh = tmp_path_factory.mktemp("index") / "idx"
    both = invoke(*[arg.format(dir=noisy, idx=fresh) for arg in command], "-q", "-v")
    assert both.exit_code == 2 and "--quiet and --verbose contradict each other" in both.stderr
    assert not fresh.exists()  # refused before anything was opened


def test_quiet_with_nothing_read_still_says_why(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"\x00")
    result = invoke("filter", "--index", str(tmp_path / "idx"), str(tmp_path), "--quiet")
    assert result.exit_code == 2
    assert "skipped 1 input: 1 binary file" in result.stderr and "no documents to read (1 input skipped" in result.stderr


# ---------------------------------------------------------------------------------------------
# Parquet


def write_parquet(path: Path, columns: dict[str, list[Any]], row_group_size: int | None = None) -> str:
    pa = pytest.importorskip("pyarrow")
    parquet = pytest.importorskip("pyarrow.parquet")
    parquet.write_table(pa.table(columns), str(path), row_group_size=row_group_size)
    return str(path)


def test_parquet_rows_are_documents_named_by_their_id(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "docs.parquet", {"id": ["a", "b", None], "text": [SHARED, "Intro.\n\n" + SHARED, "Third."], "extra": [1, 2, 3]})
    documents, skipped = read([path])
    assert [(d.name, d.text) for d in documents] == [("a", SHARED), ("b", "Intro.\n\n" + SHARED), (f"{path}:3", "Third.")]
    assert [d.fields for d in documents][0] == {"id": "a", "text": SHARED} and skipped == []
    result = invoke("report", path, "--format", "json")
    assert json.loads(result.stdout)["clusters"][0]["documents"] == ["a", "b"]


def test_parquet_fields_are_named_by_the_options_and_nulls_are_skips(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "docs.parquet", {"key": [7, 8], "body": ["Seven.", None]})
    documents, skipped = read([path], text_field="body", id_field="key")
    assert [(d.name, d.text) for d in documents] == [("7", "Seven.")]
    assert skipped == [Skip(f"{path}:2", "field 'body' is null, not a string")]
    _, [missing] = read([path])
    assert missing == Skip(path, "no 'text' column (use --text-field to name it; it has 'key', 'body')")


def test_parquet_through_the_filter_keeps_id_and_text(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "docs.parquet", {"id": ["a", "b"], "text": [SHARED, SHARED]})
    result = invoke("filter", "--index", str(tmp_path / "idx"), path)
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{"id": "a", "text": SHARED}]


def test_parquet_is_read_a_batch_of_rows_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parquet = pytest.importorskip("pyarrow.parquet")
    path = write_parquet(tmp_path / "many.parquet", {"id": [f"d{k}" for k in range(5000)], "text": [f"Row {k}." for k in range(5000)]}, row_group_size=1000)

    def whole(*args: object, **kwargs: object) -> None:
        raise AssertionError("the whole file was read at once")

    monkeypatch.setattr(parquet.ParquetFile, "read", whole)
    monkeypatch.setattr(parquet, "read_table", whole)
    reader = iter(DocumentReader([path]))
    assert next(reader).name == "d0"
    assert sum(1 for _ in reader) == 4999


@pytest.mark.parametrize(
    ("columns", "reason"),
    [
        pytest.param({"text": [1, 2]}, "column 'text' is int64, not a string", id="text-not-string"),
        pytest.param({"text": ["a"], "id": [1.5]}, "column 'id' is double, not a string or an integer (use --id-field", id="id-float"),
    ],
)
def test_parquet_columns_of_the_wrong_type_are_a_skip(tmp_path: Path, columns: dict[str, list[Any]], reason: str) -> None:
    path = write_parquet(tmp_path / "bad.parquet", columns)
    documents, [skip] = read([path])
    assert documents == [] and skip.reason.startswith(reason)


def test_a_file_named_parquet_that_is_not_is_a_skip(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    path = tmp_path / "fake.parquet"
    path.write_text("not parquet")
    _, [skip] = read([str(path)])
    assert skip.reason.startswith("not a readable Parquet file")


def test_without_pyarrow_parquet_is_an_error_that_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "docs.parquet"
    path.write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(InputError, match=r"reading Parquet needs pyarrow: pip install 'dedup\[parquet\]'"):
        read([str(path)])
    result = invoke("report", str(path))
    assert result.exit_code == 2 and "pip install 'dedup[parquet]'" in result.stderr


def test_a_file_reached_twice_is_read_once_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("A paragraph that appears in one file only.\n", encoding="utf-8")
    (tmp_path / "docs" / "b.txt").write_text("Another paragraph, in another file.\n", encoding="utf-8")
    os.link(tmp_path / "docs" / "a.txt", tmp_path / "hard-link.txt")
    docs = str(tmp_path / "docs")
    # The same directory twice, one of its files again, and a hard link to another.
    result = invoke("report", docs, docs, str(tmp_path / "docs" / "b.txt"), str(tmp_path / "hard-link.txt"), "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    # Each file counted once: no cluster of a file with itself.
    assert (report["stats"]["documents"], report["clusters"]) == (2, [])
    warned = [line for line in result.stderr.splitlines() if "read once" in line]
    assert len(warned) == 4 and all("the same file as" in line for line in warned)
    reader = DocumentReader([docs, docs])
    assert reader.files() == [f"{docs}/a.txt", f"{docs}/b.txt"] and reader.file_count() == 2  # for the progress bar
    assert [d.name for d in reader] == [f"{docs}/a.txt", f"{docs}/b.txt"] and len(reader.warnings) == 2
