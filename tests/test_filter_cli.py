"""`dedup filter` and `dedup index` as users drive them: click's CliRunner and real subprocesses."""

from __future__ import annotations

import hashlib
import json
import re
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from dedup.cli import main

ROOT = Path(__file__).resolve().parent.parent
S003 = str(ROOT / "seeds" / "003_2475bc7a0b5db3b5.txt")
S004 = str(ROOT / "seeds" / "004_1bf6964548cc96ce.txt")

# 004's paragraphs that reuse 003's, by their opening words, with the number of 003's paragraph.
REUSED = {
    "Soldiers are on standby": 3,
    "The crisis has emerged after an unnamed officer": 6,  # reworded: J = 0.49
    "The officer accused of his murder": 7,
    "The force’s commissioner Sir Mark Rowley": 8,
    "Please use Chrome browser": 14,
    "“It is essential": 22,
    "“Of course, where wrongdoing": 23,
    "“I have been clear": 24,
    "“The system that judges": 25,
    "“A review is needed": 26,
    "Articles You May Like": 30,
}


def invoke(*args: str, stdin: str | bytes | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=stdin)


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def paragraphs(text: str) -> list[str]:
    return text.split("\n\n")


def check_004(kept: dict[str, Any], rejects: list[dict[str, Any]]) -> None:
    """004's output lost exactly its reused paragraphs, each traced to 003."""
    original = Path(S004).read_text(encoding="utf-8")
    own = [p for p in paragraphs(original) if not p.startswith(tuple(REUSED))]
    assert paragraphs(kept["text"]) == own
    assert any(p.startswith("Ms Braverman said") for p in own)
    assert sorted(r["text"][:60] for r in rejects) == sorted(p[:60] for p in paragraphs(original) if p.startswith(tuple(REUSED)))
    for row in rejects:
        (opening,) = [o for o in REUSED if row["text"].startswith(o)]
        assert row["reason"] == "index"
        assert row["match"]["doc"].endswith("003_2475bc7a0b5db3b5.txt") and row["match"]["paragraph"] == REUSED[opening]
        assert row["match"]["ingested_at"].endswith("Z") and 0.4 <= row["jaccard"] <= 1.0


# ---------------------------------------------------------------------------------------------
# The seeds: 003, then 004


def test_seed_004_loses_exactly_what_it_reuses_from_003(tmp_path: Path) -> None:
    idx, rejects = str(tmp_path / "idx"), tmp_path / "rejects.jsonl"
    first = invoke("filter", "--index", idx, S003)
    assert first.exit_code == 0, first.output
    (doc,) = jsonl(first.stdout)
    assert doc == {"id": S003, "text": Path(S003).read_text(encoding="utf-8")}  # nothing dropped: untouched

    second = invoke("filter", "--index", idx, S004, "--rejects", str(rejects))
    assert second.exit_code == 0, second.output
    (kept,) = jsonl(second.stdout)
    assert kept["id"] == S004
    check_004(kept, jsonl(rejects.read_text(encoding="utf-8")))
    assert "26 read, 15 kept, 11 dropped" in second.stderr
    assert "11 already in the index" in second.stderr

    third = invoke("filter", "--index", idx, S004)
    assert third.exit_code == 0 and third.stdout == ""
    assert "1 read, 0 written, 1 emptied" in third.stderr and "26 dropped" in third.stderr


def test_seed_004_through_a_real_process_reading_jsonl_on_stdin(tmp_path: Path) -> None:
    idx, out, rejects = tmp_path / "idx", tmp_path / "out.jsonl", tmp_path / "rejects.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def filter_(name: str, extra: list[str]) -> subprocess.CompletedProcess[str]:
        line = json.dumps({"id": Path(name).name, "text": Path(name).read_text(encoding="utf-8"), "source": "sky"}) + "\n"
        command = [sys.executable, "-m", "dedup", "filter", "--index", str(idx), *extra]
        return subprocess.run(command, input=line, capture_output=True, text=True, env=env, timeout=120, check=False)

    assert filter_(S003, ["-o", str(out)]).returncode == 0
    done = filter_(S004, ["-o", str(out), "--rejects", str(rejects)])
    assert done.returncode == 0, done.stderr
    (kept,) = jsonl(out.read_text(encoding="utf-8"))
    assert (kept["id"], kept["source"]) == ("004_1bf6964548cc96ce.txt", "sky")  # other fields kept
    check_004(kept, jsonl(rejects.read_text(encoding="utf-8")))
    assert "Traceback" not in done.stderr


# ---------------------------------------------------------------------------------------------
# Options


def test_jsonl_fields_are_preserved_and_field_names_configurable(tmp_path: Path) -> None:
    docs = tmp_path / "docs.jsonl"
    rows = [
        {"key": "a", "body": "One paragraph here about armed police in London.\n\nA second one.", "n": 1},
        {"key": "b", "body": "One paragraph here about armed police in London.\n\nOnly in b.", "tags": ["x"]},
    ]
    docs.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = invoke("filter", "--index", str(tmp_path / "idx"), str(docs), "--text-field", "body", "--id-field", "key")
    assert result.exit_code == 0
    assert jsonl(result.stdout) == [rows[0], {"key": "b", "body": "Only in b.", "tags": ["x"]}]


def test_mark_adds_the_list_of_duplicates(tmp_path: Path) -> None:
    idx = str(tmp_path / "idx")
    invoke("filter", "--index", idx, S003)
    result = invoke("filter", "--index", idx, S004, "--mark")
    (doc,) = jsonl(result.stdout)
    assert doc["text"] == Path(S004).read_text(encoding="utf-8")
    assert len(doc["duplicates"]) == 11 and {d["reason"] for d in doc["duplicates"]} == {"index"}
    assert doc["duplicates"][0]["match"]["paragraph"] == 3
    # Nothing was dropped, and the summary says so.
    assert "15 new, 11 marked as duplicates" in result.stderr and "marked      11 already in the index" in result.stderr
    assert "dropped" not in result.stderr and "emptied" not in result.stderr


def test_drop_doc_above_leaves_a_mostly_reused_document_out(tmp_path: Path) -> None:
    idx = str(tmp_path / "idx")
    invoke("filter", "--index", idx, S003)
    above = invoke("filter", "--index", idx, S004, "--drop-doc-above", "0.4")  # 11 of 26 = 0.42
    assert above.exit_code == 0 and above.stdout == ""
    assert "1 dropped whole" in above.stderr and "15 with their document" in above.stderr
    below = invoke("filter", "--index", idx, S004, "--drop-doc-above", "0.5")  # not indexed: same again
    assert len(jsonl(below.stdout)) == 1


def test_text_files_and_directories_are_read_too(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("Alpha paragraph with several words in it.\n\nShared paragraph with several words in it.\n")
    (tmp_path / "docs" / "b.txt").write_text("Shared paragraph with several words in it.\n")
    result = invoke("filter", "--index", str(tmp_path / "idx"), str(tmp_path / "docs"))
    assert [d["id"] for d in jsonl(result.stdout)] == [str(tmp_path / "docs" / "a.md")]
    assert "1 emptied" in result.stderr


def test_malformed_lines_are_skipped_with_a_warning(tmp_path: Path) -> None:
    result = invoke("filter", "--index", str(tmp_path / "idx"), stdin='{"id": "a", "text": "Fine text here."}\nnot json\n[1]\n')
    assert result.exit_code == 0
    assert len(jsonl(result.stdout)) == 1
    assert "skipped <stdin>:2: malformed JSON" in result.stderr and "skipped <stdin>:3" in result.stderr


def test_empty_input_is_not_an_error(tmp_path: Path) -> None:
    result = invoke("filter", "--index", str(tmp_path / "idx"), stdin="")
    assert result.exit_code == 0 and result.stdout == ""
    assert "0 read" in result.stderr


# ---------------------------------------------------------------------------------------------
# dedup index


def test_index_stats_remove_prune_export(tmp_path: Path) -> None:
    idx = str(tmp_path / "idx")
    invoke("filter", "--index", idx, S003)
    invoke("filter", "--index", idx, S004)

    stats = json.loads(invoke("index", "stats", idx, "--json").stdout)
    assert (stats["paragraphs"], stats["documents"]) == (31 + 15, 2)
    text = invoke("index", "stats", idx).stdout
    assert "paragraphs" in text and "46" in text and "threshold 0.4" in text

    rows = jsonl(invoke("index", "export", idx).stdout)
    assert len(rows) == 46 and {r["doc"] for r in rows} == {S003, S004}
    assert set(rows[0]) == {"pid", "doc", "paragraph", "ingested_at", "shingles"}
    # Times are ISO 8601 UTC everywhere: in the export, the stats and the rejects file.
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rows[0]["ingested_at"])
    assert stats["oldest"] <= stats["newest"] and stats["oldest"].endswith("Z")

    removed = invoke("index", "remove", idx, S003, "no-such-doc")
    assert removed.exit_code == 0 and "removed 31 paragraphs" in removed.stderr
    unknown = invoke("index", "remove", idx, "no-such-doc")
    assert unknown.exit_code == 0 and "warning: none of these document ids is in the index" in unknown.stderr
    # 003 is forgotten: 004's reused paragraphs are new again; its own were indexed.
    again = invoke("filter", "--index", idx, S004)
    (kept,) = jsonl(again.stdout)
    assert [p for p in paragraphs(kept["text"]) if p.startswith(tuple(REUSED))] == [
        p for p in paragraphs(Path(S004).read_text(encoding="utf-8")) if p.startswith(tuple(REUSED))
    ]

    kept_before = invoke("index", "prune", idx, "--before", "2000-01-01")
    assert kept_before.exit_code == 0 and "pruned 0 paragraphs" in kept_before.stderr
    pruned = invoke("index", "prune", idx, "--before", "2999-01-01T00:00:00+01:00")
    assert "pruned 26 paragraphs ingested before 2998-12-31T23:00:00.000Z" in pruned.stderr
    assert json.loads(invoke("index", "stats", idx, "--json").stdout)["paragraphs"] == 0
    lines = invoke("index", "stats", idx).stdout.splitlines()
    assert "oldest                     -" in lines and not any(line.endswith("None") for line in lines)


def test_export_to_a_file(tmp_path: Path) -> None:
    idx, out = str(tmp_path / "idx"), tmp_path / "export.jsonl"
    invoke("filter", "--index", idx, S003)
    assert invoke("index", "export", idx, "-o", str(out)).exit_code == 0
    assert len(jsonl(out.read_text(encoding="utf-8"))) == 31


# ---------------------------------------------------------------------------------------------
# Bad input: one line, exit 2, nothing damaged


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["filter", "--index", "{idx}", "{tmp}/missing.jsonl"], "no such file or directory", id="missing input"),
        pytest.param(["filter", "--index", "{idx}", "-", "-"], "only once", id="stdin twice"),
        pytest.param(["filter", "{tmp}/a.txt"], "Missing option '--index'", id="no index"),
        pytest.param(["filter", "--index", "{idx}", "--threshold", "2", "{tmp}/a.txt"], "threshold", id="bad threshold"),
        pytest.param(["index", "stats", "{tmp}/nothing"], "no index here", id="stats of nothing"),
        pytest.param(["index", "remove", "{tmp}/nothing", "a"], "no index here", id="remove from nothing"),
        pytest.param(["index", "prune", "{idx}", "--before", "last tuesday"], "not an ISO 8601 date", id="bad date"),
        pytest.param(["index", "export", "{tmp}/a.txt"], "it is a file", id="export of a file"),
    ],
)
def test_usage_and_input_errors_exit_2_in_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "a.txt").write_text("Some text.\n")
    idx = tmp_path / "idx"
    invoke("filter", "--index", str(idx), str(tmp_path / "a.txt"))
    result = invoke(*[a.format(idx=idx, tmp=tmp_path) for a in args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    no_traceback(result)


def test_other_settings_for_an_existing_index_are_refused(tmp_path: Path) -> None:
    idx = str(tmp_path / "idx")
    invoke("filter", "--index", idx, S003)
    result = invoke("filter", "--index", idx, S004, "--shingle", "char:5", "--threshold", "0.5")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "was built with other settings" in result.stderr and "shingle 'word:3' (asked for 'char:5')" in result.stderr


def test_a_file_that_is_not_an_index_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    target = tmp_path / "important.db"
    target.write_bytes(b"SQLite format 3\x00" + os.urandom(4000))
    before = hashlib.sha256(target.read_bytes()).hexdigest()
    for index_path in (target, tmp_path):  # the file itself; a directory holding other things
        result = invoke("filter", "--index", str(index_path), S003)
        assert result.exit_code == 2 and "not a dedup index" in result.stderr
        no_traceback(result)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["important.db"]


@pytest.mark.parametrize("spec", ["redis:/localhost/0", "REDIS:localhost", "unix:/tmp/sock", "redis:/:secret@localhost/0", "rediss:secret@host"])
def test_a_mistyped_redis_url_is_refused_not_made_a_directory(spec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("filter", "--index", spec, S003)
    assert result.exit_code == 2
    assert "not a Redis URL" in result.stderr
    assert "secret" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_redis_scheme_in_capitals_is_a_redis_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("index", "stats", "REDIS://127.0.0.1:1/0")  # nothing listens on port 1
    assert result.exit_code == 2 and "not a Redis URL" not in result.output and "Redis" in result.output
    assert list(tmp_path.iterdir()) == []


REPEATED = "Soldiers are on standby for armed police after scores of officers stood down.\n"


def test_document_ids_that_are_not_valid_text_round_trip(tmp_path: Path) -> None:
    # A file name with a byte that is not UTF-8 becomes an id with a lone surrogate; so does a
    # JSON id such as "\udcff". The index keeps it, and every output writes it as an escape.
    idx = str(tmp_path / "idx")
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "bad\udcff", "text": REPEATED}) + "\n" + json.dumps({"id": "ok", "text": REPEATED}) + "\n")
    rejects = tmp_path / "rejects.jsonl"
    first = invoke("filter", "--index", idx, str(source), "--rejects", str(rejects))
    assert first.exit_code == 0, first.stderr
    assert [row["id"] for row in jsonl(first.stdout)] == ["bad\udcff"]
    assert [row["match"]["doc"] for row in jsonl(rejects.read_text())] == ["bad\udcff"]
    assert {row["doc"] for row in jsonl(invoke("index", "export", idx).stdout)} == {"bad\udcff"}
    assert invoke("index", "remove", idx, "bad\udcff").stderr.startswith("removed 1 paragraphs")


def test_a_run_with_nothing_readable_stops_before_making_an_index(tmp_path: Path) -> None:
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"not\x00text")
    idx = tmp_path / "idx"
    result = invoke("filter", "--index", str(idx), str(binary))
    assert result.exit_code == 2
    assert "no documents to read" in result.stderr
    assert "binary file" in result.stderr
    assert not idx.exists()


# ---------------------------------------------------------------------------------------------
# Outputs and other processes


def _dedup(*args: str, **popen: Any) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "dedup", *args], env=env, **popen)


def _many_documents(path: Path, count: int) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for k in range(count):
            words = " ".join(f"w{k}x{j}" for j in range(60))
            f.write(json.dumps({"id": f"doc{k}", "text": f"{words}\n\nThe same line in every document."}) + "\n")


def test_an_output_closed_part_way_is_an_error_and_loses_nothing(tmp_path: Path) -> None:
    source, idx = tmp_path / "in.jsonl", tmp_path / "idx"
    _many_documents(source, 3000)  # about 1.3 MB of output: far more than a pipe holds
    process = _dedup("filter", "--index", str(idx), str(source), "--batch-size", "200", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    head = process.stdout.read(1000)
    process.stdout.close()  # as `| head -c 1000` does
    err = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=120) == 2, err
    assert "output was closed" in err and "Traceback" not in err
    assert len(head) == 1000
    # What the reader did not get was not committed: a rerun emits it.
    rerun = invoke("filter", "--index", str(idx), str(source), "-o", str(tmp_path / "rest.jsonl"))
    assert rerun.exit_code == 0, rerun.output
    committed = json.loads(invoke("index", "stats", "--json", str(idx)).output)["documents"]
    rest = jsonl((tmp_path / "rest.jsonl").read_text(encoding="utf-8"))
    assert committed == 3000 and len(rest) > 0


def test_a_filter_waiting_for_another_says_whom_it_waits_for(tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    assert invoke("filter", "--index", str(idx), S003, "-o", os.devnull).exit_code == 0
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from dedup.index import open_index\n"
            "with open_index(sys.argv[1]) as index, index.batch():\n"
            "    print('holding', flush=True)\n"
            "    time.sleep(6)\n",
            str(idx),
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"holding\n"
        waiting = _dedup("filter", "--index", str(idx), S004, "-o", os.devnull, stderr=subprocess.PIPE)
        _, err = waiting.communicate(timeout=120)
    finally:
        holder.wait(timeout=60)
        if holder.stdout is not None:
            holder.stdout.close()
    assert waiting.returncode == 0, err.decode()
    assert f"waiting for the index, held by process {holder.pid}" in err.decode()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "outputs",
    [
        pytest.param(lambda src, tmp: ["-o", str(src)], id="-o the input"),
        pytest.param(lambda src, tmp: ["-o", str(tmp / "link.jsonl")], id="-o a hard link to it"),
        pytest.param(lambda src, tmp: ["-o", str(tmp / "sym.jsonl")], id="-o a symbolic link to it"),
        pytest.param(lambda src, tmp: ["--rejects", str(src)], id="--rejects the input"),
        pytest.param(lambda src, tmp: ["-o", str(tmp / "out.jsonl"), "--rejects", str(tmp / "out.jsonl")], id="-o and --rejects one file"),
    ],
)
def test_an_output_that_would_destroy_an_input_is_refused(tmp_path: Path, outputs: Any) -> None:
    source = tmp_path / "in.jsonl"
    _many_documents(source, 50)
    os.link(source, tmp_path / "link.jsonl")
    os.symlink(source, tmp_path / "sym.jsonl")
    (tmp_path / "out.jsonl").write_text("earlier output\n")
    before = _digest(source)
    result = invoke("filter", "--index", str(tmp_path / "idx"), str(source), *outputs(source, tmp_path))
    assert result.exit_code == 2, result.output
    assert "would destroy" in result.output or "same file" in result.output
    assert _digest(source) == before
    assert not (tmp_path / "idx").exists()


def test_an_output_inside_a_directory_being_read_is_refused(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text(Path(S003).read_text(encoding="utf-8"))
    (docs / "kept.txt").write_text("yesterday's output\n")
    result = invoke("filter", "--index", str(tmp_path / "idx"), str(docs), "-o", str(docs / "kept.txt"))
    assert result.exit_code == 2 and "is the input" in result.output
    assert (docs / "kept.txt").read_text() == "yesterday's output\n"


def test_standard_input_and_output_are_checked_too(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    _many_documents(source, 50)
    before = _digest(source)
    with open(source, "rb") as stdin:  # dedup filter - < in.jsonl -o in.jsonl
        process = _dedup("filter", "--index", str(tmp_path / "idx"), "-o", str(source), stdin=stdin, stderr=subprocess.PIPE)
        _, err = process.communicate(timeout=120)
    assert process.returncode == 2 and b"standard input" in err
    with open(source, "ab") as stdout:  # dedup filter in.jsonl >> in.jsonl: it would read its own output
        process = _dedup("filter", "--index", str(tmp_path / "idx"), str(source), stdout=stdout, stderr=subprocess.PIPE)
        _, err = process.communicate(timeout=120)
    assert process.returncode == 2 and b"standard output is the input" in err
    assert _digest(source) == before


def test_devices_may_take_every_output(tmp_path: Path) -> None:
    result = invoke("filter", "--index", str(tmp_path / "idx"), S003, "-o", os.devnull, "--rejects", os.devnull)
    assert result.exit_code == 0, result.output


def test_report_refuses_to_write_over_its_input(tmp_path: Path) -> None:
    source = tmp_path / "a.txt"
    source.write_text(Path(S003).read_text(encoding="utf-8"))
    result = invoke("report", str(source), "-o", str(source))
    assert result.exit_code == 2 and "would destroy" in result.output
    assert source.read_text(encoding="utf-8") == Path(S003).read_text(encoding="utf-8")
