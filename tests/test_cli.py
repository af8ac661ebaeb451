"""`dedup report` as users drive it: through click's CliRunner, and a few real subprocesses."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest
from click.testing import CliRunner

from dedup.cli import main

ROOT = Path(__file__).resolve().parent.parent
S003 = str(ROOT / "seeds" / "003_2475bc7a0b5db3b5.txt")
S004 = str(ROOT / "seeds" / "004_1bf6964548cc96ce.txt")
DUP = "Soldiers are on standby for armed police after scores of officers stood down.\n\n"


def invoke(*args: str, stdin: str | bytes | None = None):
    return CliRunner().invoke(main, list(args), input=stdin)


def no_traceback(result) -> None:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    (tmp_path / "a.txt").write_text("Intro of a.\n\n" + DUP + "Own text of a, unrelated.\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text(DUP + "Something b says alone.\n", encoding="utf-8")
    return tmp_path


def test_text_report_lists_members_with_positions(docs: Path) -> None:
    result = invoke("report", str(docs), "--width", "300")  # room for the whole temporary paths
    assert result.exit_code == 0
    assert f"{docs / 'a.txt'}:3" in result.stdout
    assert f"{docs / 'b.txt'}:1" in result.stdout
    assert "Summary" in result.stdout and "clusters              1" in result.stdout
    narrow = invoke("report", str(docs), "--width", "60").stdout
    assert "a.txt:3" in narrow and all(len(line) <= 60 for line in narrow.splitlines())


def test_text_report_can_be_cut_to_the_top_clusters(tmp_path: Path) -> None:
    for k in range(3):
        (tmp_path / f"d{k}.txt").write_text(f"Paragraph number {k} of its own here.\n\n" + DUP * (k + 2), encoding="utf-8")
    result = invoke("report", str(tmp_path), "--top", "1", "--max-members", "2")
    assert result.exit_code == 0, result.output
    assert "more members (--max-members)" in result.stdout


def test_json_report_schema(docs: Path) -> None:
    result = invoke("report", str(docs), "--format", "json")
    report = json.loads(result.stdout)
    (cluster,) = report["clusters"]
    assert set(cluster) == {"id", "size", "documents", "members"}
    member = cluster["members"][1]
    assert {"doc", "paragraph", "line", "text", "jaccard", "containment"} <= set(member)
    assert member["text"] == DUP.strip()  # exactly as in the source
    assert report["stats"]["documents"] == 2
    assert report["stats"]["paragraphs"] == 5


def test_jsonl_one_cluster_a_line_and_csv_one_member_a_row(docs: Path) -> None:
    lines = [json.loads(line) for line in invoke("report", str(docs), "--format", "jsonl", "--reuse").stdout.splitlines()]
    assert [line["size"] for line in lines if "type" not in line] == [2]
    # Then the reused paragraphs, one a line: the copy in b is wholly a's text.
    (reused,) = [line for line in lines if line.get("type") == "reuse"]
    assert (reused["doc"].endswith("b.txt"), reused["coverage"], reused["sources"][0]["doc"].endswith("a.txt")) == (True, 1.0, True)
    rows = list(csv.DictReader(io.StringIO(invoke("report", str(docs), "--format", "csv", "--reuse").stdout)))
    assert [r["representative"] for r in rows] == ["True", "False", ""]
    assert rows[1]["text"] == DUP.strip()
    assert (rows[2]["cluster"], rows[2]["coverage"]) == ("", "1.0")
    no_reuse = [json.loads(line) for line in invoke("report", str(docs), "--format", "jsonl").stdout.splitlines()]
    assert [line.get("size", line.get("type")) for line in no_reuse] == [2, "stats"]
    # The last line says what the run read and with which settings, as --format json does.
    assert (no_reuse[-1]["stats"]["paragraphs"], no_reuse[-1]["params"]["threshold"]) == (5, 0.4)


def test_output_file_is_written_whole(docs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "r.json"
    out.parent.mkdir()
    result = invoke("report", str(docs), "--format", "json", "-o", str(out))
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(out.read_text())["stats"]["clusters"] == 1
    assert [p.name for p in out.parent.iterdir()] == ["r.json"]  # no temporary file left


def test_output_keeps_the_mode_of_the_file_it_replaces(docs: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    out = tmp_path_factory.mktemp("out") / "r.txt"  # not among the inputs (that is refused)
    out.write_text("old")
    out.chmod(0o640)
    assert invoke("report", str(docs), "-o", str(out)).exit_code == 0
    assert (out.stat().st_mode & 0o777) == 0o640
    assert "Summary" in out.read_text()


def test_output_to_a_device_or_fifo_writes_in_place(docs: Path, tmp_path: Path) -> None:
    assert invoke("report", str(docs), "-o", os.devnull).exit_code == 0
    assert Path(os.devnull).is_char_device()  # not replaced by a regular file
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    assert invoke("report", str(docs), "--format", "jsonl", "-o", str(fifo)).exit_code == 0
    assert json.loads(reader.communicate(timeout=30)[0].splitlines()[0])["size"] == 2
    assert fifo.is_fifo()


def test_output_into_a_missing_directory_names_the_path(docs: Path, tmp_path: Path) -> None:
    out = tmp_path / "missing" / "r.json"
    result = invoke("report", str(docs), "-o", str(out))
    assert result.exit_code == 2
    assert f"dedup: error: {out}: No such file or directory" in result.stderr
    no_traceback(result)


def test_stdin_dash_reads_text(docs: Path) -> None:
    result = invoke("report", "-", str(docs / "b.txt"), "--format", "json", stdin=DUP)
    report = json.loads(result.stdout)
    assert report["clusters"][0]["documents"] == ["<stdin>", str(docs / "b.txt")]


def test_jsonl_input_uses_ids_and_text_field(tmp_path: Path) -> None:
    lines = [json.dumps({"id": "x", "body": DUP}), json.dumps({"id": "y", "body": "Intro.\n\n" + DUP})]
    result = invoke("report", "--jsonl", "--text-field", "body", "-", "--format", "json", stdin="\n".join(lines) + "\n")
    assert json.loads(result.stdout)["clusters"][0]["documents"] == ["x", "y"]


def test_fail_on_duplicates_exit_code(docs: Path) -> None:
    assert invoke("report", str(docs), "--fail-on-duplicates").exit_code == 1
    assert invoke("report", str(docs / "a.txt"), "--fail-on-duplicates").exit_code == 0


def test_scope_cross_doc_drops_within_document_clusters(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(DUP + DUP, encoding="utf-8")
    (tmp_path / "b.txt").write_text("Different words entirely here.\n", encoding="utf-8")
    assert json.loads(invoke("report", str(tmp_path), "--format", "json").stdout)["stats"]["clusters"] == 1
    assert json.loads(invoke("report", str(tmp_path), "--format", "json", "--scope", "cross-doc").stdout)["stats"]["clusters"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--threshold", "1.5"], "--threshold", id="threshold-1.5"),
        pytest.param(["--threshold", "0"], "--threshold", id="threshold-0"),
        pytest.param(["--num-perm", "0"], "--num-perm", id="num-perm-0"),
        pytest.param(["--shingle", "word:0"], "--shingle", id="shingle-word-0"),
        pytest.param(["--shingle", "bytes:3"], "--shingle", id="shingle-kind"),
        pytest.param(["--min-words", "-1"], "--min-words", id="min-words-negative"),
        pytest.param(["--format", "xml"], "--format", id="format"),
        pytest.param(["--threads", "0"], "--threads", id="threads-0"),
    ],
)
def test_out_of_range_options_are_usage_errors(docs: Path, args: list[str], message: str) -> None:
    result = invoke("report", str(docs), *args)
    assert result.exit_code == 2
    assert message in result.output
    no_traceback(result)


@pytest.mark.parametrize("command", ["report", "filter"])
def test_threads_caps_the_kernels_for_the_run_and_changes_no_result(docs: Path, tmp_path: Path, command: str) -> None:
    from dedup._kernel import _lib

    extra = ["--index", str(tmp_path / command)] if command == "filter" else ["--format", "json"]
    try:
        one = invoke(command, str(docs), *extra, "--threads", "1")
        assert one.exit_code in (0, 1), one.output
        assert _lib.threads() == 1
    finally:
        _lib.set_threads(None)
    extra = ["--index", str(tmp_path / f"{command}-all")] if command == "filter" else extra
    every = invoke(command, str(docs), *extra)
    assert _lib.threads() >= 1 and every.exit_code == one.exit_code
    strip = (lambda out: json.loads(out)["clusters"]) if command == "report" else (lambda out: out)
    assert strip(one.stdout) == strip(every.stdout)


def test_missing_path(tmp_path: Path) -> None:
    result = invoke("report", str(tmp_path / "nope.txt"))
    assert result.exit_code == 2
    assert "nope.txt: no such file or directory" in result.stderr
    no_traceback(result)


def test_directory_without_text(tmp_path: Path) -> None:
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    result = invoke("report", str(tmp_path))
    assert result.exit_code == 2
    assert "no files matching *.txt, *.md" in result.stderr


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param(b"\x00\x01\x02binary", "binary file", id="binary"),
        pytest.param(b"caf\xe9 au lait\n", "not valid UTF-8 (byte 0xe9 on line 1)", id="invalid-utf8"),
        pytest.param(b"", "empty file", id="empty"),
    ],
)
def test_unusable_file_is_warned_and_counted_while_the_rest_runs(docs: Path, content: bytes, reason: str) -> None:
    bad = docs / "bad.txt"
    bad.write_bytes(content)
    result = invoke("report", str(docs), "--format", "json")
    assert result.exit_code == 0
    assert f"dedup: warning: skipped {bad}: {reason}" in result.stderr
    report = json.loads(result.stdout)
    assert report["stats"]["skipped_inputs"] == 1
    assert report["stats"]["clusters"] == 1


def test_only_unusable_inputs_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    result = invoke("report", str(tmp_path / "empty.txt"))
    assert result.exit_code == 2
    assert "no documents" in result.stderr


def test_malformed_jsonl_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"id": "a", "text": DUP}) + "\n{not json\n" + json.dumps({"id": "c"}) + "\n", encoding="utf-8")
    result = invoke("report", "--jsonl", str(path), "--format", "json")
    assert result.exit_code == 0
    assert f"{path}:2: malformed JSON" in result.stderr
    assert f"{path}:3: no 'text' field" in result.stderr
    assert json.loads(result.stdout)["stats"]["skipped_inputs"] == 2


def test_huge_single_line_file_is_left_out_with_a_warning(docs: Path) -> None:
    big = docs / "big.txt"
    big.write_text("word " * 10_000_000, encoding="utf-8")  # 50 MB on one line
    result = invoke("report", str(docs), "--format", "json")
    assert result.exit_code == 0
    assert f"{big}:1: paragraph of 50,000,000 characters left out of matching" in result.stderr
    stats = json.loads(result.stdout)["stats"]
    assert stats["too_long_paragraphs"] == 1 and stats["clusters"] == 1


def test_profile_prints_every_stage(docs: Path) -> None:
    result = invoke("report", str(docs), "--profile")
    for stage in ("read", "segment", "normalize", "signatures", "lsh", "verify", "cluster", "output"):
        assert f"\n{stage} " in "\n" + result.stderr


def test_no_progress_bar_when_stderr_is_not_a_terminal(docs: Path) -> None:
    assert "Reading" not in invoke("report", str(docs)).stderr


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "dedup", *args], input=stdin, capture_output=True, cwd=ROOT, timeout=300, env={**os.environ, "TERM": "dumb"})


def test_subprocess_seed_report_and_exit_code() -> None:
    proc = run("report", S003, S004, "--fail-on-duplicates")
    assert proc.returncode == 1
    assert b"Soldiers are [-also-] on standby" in proc.stdout  # 004 lacks a word of 003
    assert proc.stderr == b""


def test_subprocess_missing_file_is_one_line() -> None:
    proc = run("report", "no/such/file.txt")
    assert proc.returncode == 2
    assert proc.stderr.decode().strip() == "dedup: error: no/such/file.txt: no such file or directory"


def test_subprocess_stdin_and_pipe_closed_early() -> None:
    text = (DUP * 3000).encode()
    proc = subprocess.run(
        f"{sys.executable} -m dedup report - | head -c 10",
        shell=True, input=text, capture_output=True, cwd=ROOT, timeout=300,
    )
    assert proc.returncode == 0
    assert b"Traceback" not in proc.stderr


@pytest.mark.parametrize("paths", [pytest.param([S003, S004], id="clusters"), pytest.param([S003], id="no-cluster")])
def test_json_output_is_the_result_as_a_dict(paths: list[str]) -> None:
    from dedup.documents import DocumentReader
    from dedup.pipeline import find_duplicates
    from dedup.report import result_dict

    result = find_duplicates(DocumentReader(paths))
    written = json.loads(invoke("report", *paths, "--format", "json").stdout)
    assert written == json.loads(json.dumps(result_dict(result)))
    assert written["clusters"] or len(paths) == 1


def run_on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run ``dedup ARGS`` with stderr on a pseudo-terminal (where the progress display is on);
    return the exit code and what the terminal showed."""
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "dedup", *args], cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=follower, env={**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm"})
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    return proc.wait(timeout=300), shown.decode("utf-8", "replace")


@pytest.mark.parametrize("command", [pytest.param(["report", "seeds"], id="report"), pytest.param(["filter", "--index", "{tmp}/idx", "seeds", "-o", "{tmp}/out.jsonl"], id="filter")])
def test_progress_on_a_terminal(command: list[str], tmp_path: Path) -> None:
    code, shown = run_on_a_terminal([arg.format(tmp=tmp_path) for arg in command], ROOT)
    assert code == 0, shown
    assert "Traceback" not in shown and "error" not in shown


def test_a_file_named_jsonl_is_read_as_json_lines(tmp_path: Path) -> None:
    (tmp_path / "docs.jsonl").write_text(json.dumps({"id": "x", "text": DUP}) + "\n" + json.dumps({"id": "y", "text": "Intro.\n\n" + DUP}) + "\n")
    report = json.loads(invoke("report", str(tmp_path / "docs.jsonl"), "--format", "json").stdout)
    assert report["clusters"][0]["documents"] == ["x", "y"]


def test_filter_with_every_input_skipped_is_an_error(tmp_path: Path) -> None:
    result = invoke("filter", "--index", str(tmp_path / "idx"), "--jsonl", stdin="plain text, not JSON\n\nmore\n")
    assert result.exit_code == 2
    assert "inputs skipped" in result.stderr
    assert "dedup: error: no documents to read (2 inputs skipped" in result.stderr


def test_many_overlong_paragraphs_are_warned_in_one_line_past_the_first(docs: Path) -> None:
    result = invoke("report", str(docs), "--max-chars", "5")
    warnings = [line for line in result.stderr.splitlines() if line.startswith("dedup: warning:")]
    assert result.exit_code == 0
    assert len(warnings) == 5 and all("--max-chars 5" in w for w in warnings)  # 5 paragraphs, all listed
    many = docs / "many.txt"
    many.write_text("\n\n".join(f"paragraph number {k}" for k in range(30)))
    result = invoke("report", str(many), "--max-chars", "5")
    warnings = [line for line in result.stderr.splitlines() if line.startswith("dedup: warning:")]
    assert len(warnings) == 21 and warnings[-1].startswith("dedup: warning: 10 more paragraphs over --max-chars 5")


def drawn(run: Callable[[IO[str]], None]) -> str:
    """What ``run`` draws on a real terminal (a pseudo-terminal's other end)."""
    import pty

    main_fd, other_fd = pty.openpty()
    with os.fdopen(other_fd, "w", encoding="utf-8") as terminal:
        run(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(main_fd, 65536)
        except OSError:  # the other end is closed and all was read
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main_fd)
    return b"".join(chunks).decode("utf-8")


def test_progress_draws_a_bar_when_the_total_is_known_and_a_count_when_not() -> None:
    from dedup.cli import Progress

    def known(terminal: IO[str]) -> None:
        bar = Progress(True, "Reading", total=4, file=terminal)
        bar.advance()
        bar.next_draw = 0.0  # draw now
        bar.advance()
        bar.close()

    shown = drawn(known)
    assert "Reading documents [############------------] 2/4   50%" in shown

    def unknown(terminal: IO[str]) -> None:
        count = Progress(True, "Filtering", file=terminal)
        for _ in range(3):
            count.next_draw = 0.0
            count.advance()
        count.close()

    assert "Filtering documents [" in drawn(unknown) and drawn(unknown).rstrip().endswith("] 3\x1b[?25h")

    def disabled(terminal: IO[str]) -> None:
        quiet = Progress(False, "Reading", total=3, file=terminal)
        quiet.advance()
        quiet.stage("verify")
        quiet.close()

    assert drawn(disabled) == ""


def test_file_count_is_known_for_text_files_only(docs: Path, tmp_path: Path) -> None:
    from dedup.documents import DocumentReader

    assert DocumentReader([str(docs)]).file_count() == 2
    assert DocumentReader([str(docs / "a.txt"), "-"]).file_count() is None
    (tmp_path / "x.jsonl").write_text("{}\n")
    assert DocumentReader([str(tmp_path / "x.jsonl")]).file_count() is None


def test_progress_names_each_stage_after_reading() -> None:
    from dedup.cli import Progress
    from dedup.pipeline import Timer

    def run(terminal: IO[str]) -> None:
        progress = Progress(True, "Reading", 2, file=terminal)
        timer = Timer(on_stage=progress.stage)
        progress.advance()
        with timer.stage("normalize"):
            pass
        with timer.stage("cluster"):
            pass
        progress.close()

    shown = drawn(run)
    assert "Reading: 1 document read; now normalize" in shown and "Reading: 1 document read; now cluster" in shown
    assert shown.endswith("\x1b[?25h\r\n")  # the cursor shown again, and the next line free
