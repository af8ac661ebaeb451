"""`dedup filter` under crashes and concurrency, as real processes.

The corpus is built from *families*: a family is a paragraph of 30 random words, and its members
are copies with one word changed (Jaccard 0.65 or more between members, about 0 between
families). So "each distinct paragraph exactly once" reads: each family is kept exactly once.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from dedup.documents import DocumentReader
from dedup.filter import Filter, index_params
from dedup.index.sqlite import DB_NAME, SQLiteIndex

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def corpus(docs: int, seed: int) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Documents of 1 to 5 paragraphs, half of them members of families seen before; and the
    family of every paragraph text."""
    rng = random.Random(seed)
    vocab = ["".join(rng.choice("bcdfghjklmnprstvwz") + rng.choice("aeiou") for _ in range(3)) for _ in range(3000)]
    families: list[list[str]] = []
    family_of: dict[str, int] = {}
    out = []
    for d in range(docs):
        texts = []
        for _ in range(rng.randint(1, 5)):
            if families and rng.random() < 0.5:
                f = rng.randrange(len(families))
                words = list(families[f])
                words[rng.randrange(len(words))] = rng.choice(vocab)
            else:
                f = len(families)
                words = [rng.choice(vocab) for _ in range(30)]
                families.append(words)
            text = " ".join(words).capitalize() + "."
            family_of[text] = f
            texts.append(text)
        out.append({"id": f"doc-{d}", "text": "\n\n".join(texts), "n": d})
    return out, family_of


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def read_output(path: Path) -> list[dict[str, Any]]:
    """Complete lines only: a process killed mid-write may leave half a line, which it had not
    committed (it commits after writing and flushing)."""
    data = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = data.split("\n")
    return [json.loads(line) for line in lines[:-1] if line]


def kept_paragraphs(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(row["id"], p) for row in rows for p in row["text"].split("\n\n")]


def dedup(*args: str, **kwargs: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "dedup", *args], env=ENV, **kwargs)


def with_reuse(rows: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """``rows`` with a paragraph made of the trimmed text of two earlier paragraphs added to
    every fifth document: near no single paragraph, covered by earlier documents."""
    rng = random.Random(seed)
    out = []
    for k, row in enumerate(rows):
        row = dict(row)
        if k >= 10 and k % 5 == 0:
            a, b = (rng.choice(rows[rng.randrange(k)]["text"].split("\n\n")).split() for _ in range(2))
            row["text"] += "\n\n" + " ".join(a[3:] + b[:-3])
        out.append(row)
    return out


def clean_run(rows: list[dict[str, Any]], tmp_path: Path, **options: Any) -> tuple[set[tuple[str, str]], set[tuple[str, int]]]:
    """What an uninterrupted run keeps: (doc, text) written, and (doc, paragraph) indexed."""
    source = tmp_path / "clean-input.jsonl"
    write_jsonl(source, rows)
    with SQLiteIndex.open(tmp_path / "clean-idx", index_params(), background=False) as index:
        written = {p for doc in Filter(index, **options)(DocumentReader([str(source)], jsonl=True)) for p in kept_paragraphs([dict(doc.fields or {})])}
        indexed = {(row["doc"], row["paragraph"]) for row in index.export()}
    return written, indexed


def export(idx: Path) -> list[dict[str, Any]]:
    done = subprocess.run([sys.executable, "-m", "dedup", "index", "export", str(idx)], env=ENV, capture_output=True, text=True, timeout=120, check=True)
    return [json.loads(line) for line in done.stdout.splitlines()]


def killed_then_finished(
    tmp_path: Path, idx: Path, source: Path, options: list[str], kills: int, rng: random.Random, pause: float, seed: int
) -> list[list[dict[str, Any]]]:
    """Run ``dedup filter`` of ``source`` into ``idx`` ``kills`` times, each killed with SIGKILL
    a random while (up to ``pause`` seconds) after its first output, then once to the end; the
    rows each run wrote."""
    outputs = []
    for round_ in range(kills + 1):
        out = tmp_path / f"out{round_}.jsonl"
        with open(out, "wb") as sink:
            process = dedup("filter", "--index", str(idx), str(source), *options, stdout=sink, stderr=subprocess.DEVNULL)
            if round_ < kills:
                deadline = time.monotonic() + 60
                while out.stat().st_size == 0 and process.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.01)
                time.sleep(rng.uniform(0.0, pause))
                process.send_signal(signal.SIGKILL)
            process.wait(timeout=120)
        if round_ == kills:
            assert process.returncode == 0, f"seed {seed}"
        outputs.append(read_output(out))
    return outputs


# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_kill_9_at_random_points_then_replay_loses_nothing_and_keeps_nothing_twice(tmp_path: Path) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    rows, _ = corpus(3000, seed=11)
    source = tmp_path / "input.jsonl"
    write_jsonl(source, rows)
    expected_written, expected_indexed = clean_run(rows, tmp_path)

    idx = tmp_path / "idx"
    # Small segments and pairwise merges, so that kills also land in flushes and merges.
    SQLiteIndex.open(idx, index_params(), segment_rows=400, merge_fanout=2).close()
    batch = 60  # paragraphs: a batch holds at most 60 documents
    outputs = killed_then_finished(tmp_path, idx, source, ["--batch-size", str(batch)], kills=3, rng=rng, pause=1.0, seed=seed)

    # Consistent: it opens, and holds exactly what a clean run indexes, each paragraph once.
    stats = json.loads(subprocess.run([sys.executable, "-m", "dedup", "index", "stats", str(idx), "--json"], env=ENV, capture_output=True, text=True, check=True).stdout)
    rows_in_index = [(r["doc"], r["paragraph"]) for r in export(idx)]
    assert len(rows_in_index) == len(set(rows_in_index)) == stats["paragraphs"], f"seed {seed}"
    assert set(rows_in_index) == expected_indexed, f"seed {seed}"

    # Nothing lost, nothing kept that a clean run drops.
    written = [p for rows_ in outputs for p in kept_paragraphs(rows_)]
    assert set(written) == expected_written, f"seed {seed}"

    # Re-emission is bounded by the batch in flight at each kill.
    for before, after in zip(outputs, outputs[1:]):
        again = {r["id"] for r in before} & {r["id"] for r in after}
        assert len(again) <= batch, f"seed {seed}: {len(again)} documents emitted twice"


def test_kill_9_mid_batch_with_containment_then_replay_gives_the_clean_run_s_output(tmp_path: Path) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    rows = with_reuse(corpus(1500, seed=12)[0], seed=12)
    source = tmp_path / "input.jsonl"
    write_jsonl(source, rows)
    expected_written, expected_indexed = clean_run(rows, tmp_path, containment=0.5)
    with SQLiteIndex.open(tmp_path / "clean-idx", index_params()) as clean:
        expected_postings = clean.stats()["postings"]
        assert expected_postings > 0

    idx = tmp_path / "idx"
    SQLiteIndex.open(idx, index_params(), segment_rows=300, merge_fanout=2).close()
    outputs = killed_then_finished(tmp_path, idx, source, ["--containment", "0.5", "--batch-size", "50"], kills=2, rng=rng, pause=0.8, seed=seed)

    assert {(r["doc"], r["paragraph"]) for r in export(idx)} == expected_indexed, f"seed {seed}"
    assert {p for rows_ in outputs for p in kept_paragraphs(rows_)} == expected_written, f"seed {seed}"
    # The postings of exactly the paragraphs kept: none of a batch killed before its commit.
    stats = json.loads(subprocess.run([sys.executable, "-m", "dedup", "index", "stats", str(idx), "--json"], env=ENV, capture_output=True, text=True, check=True).stdout)
    assert stats["postings"] == expected_postings, f"seed {seed}"


def test_two_processes_with_containment_drop_reuse_of_each_other_s_text(tmp_path: Path) -> None:
    rows, family_of = corpus(600, seed=8)
    rows = with_reuse(rows, seed=8)
    # Both read the same stream: whichever of them gets to a paragraph's sources first stores
    # them, and the other finds them in the index, so every added reuse is dropped by both.
    source = tmp_path / "input.jsonl"
    write_jsonl(source, rows)
    idx = tmp_path / "idx"
    SQLiteIndex.open(idx, index_params(), segment_rows=200, merge_fanout=2).close()
    outs = [tmp_path / "out1.jsonl", tmp_path / "out2.jsonl"]
    processes = []
    for out in outs:
        with open(out, "wb") as sink:
            processes.append(dedup("filter", "--index", str(idx), str(source), "--containment", "0.5", "--batch-size", "40", stdout=sink, stderr=subprocess.PIPE))
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode()
    written = [text for out in outs for _, text in kept_paragraphs(read_output(out))]
    merged = {row["text"].split("\n\n")[-1] for k, row in enumerate(rows) if k >= 10 and k % 5 == 0}
    assert not merged & set(written)
    kept = Counter(family_of[text] for text in written)
    assert [f for f, count in kept.items() if count > 1] == []  # each family once
    indexed = export(idx)
    assert len({(r["doc"], r["paragraph"]) for r in indexed}) == len(indexed) == len(written)


def test_two_processes_on_one_index_keep_each_paragraph_once(tmp_path: Path) -> None:
    rows, family_of = corpus(1600, seed=5)
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    write_jsonl(first, rows[:1000])
    write_jsonl(second, list(reversed(rows[600:])))  # overlapping, met in the other order
    idx = tmp_path / "idx"
    SQLiteIndex.open(idx, index_params(), segment_rows=300, merge_fanout=2).close()
    outs = [tmp_path / "out1.jsonl", tmp_path / "out2.jsonl"]
    processes = []
    for source, out in zip((first, second), outs):
        with open(out, "wb") as sink:
            processes.append(dedup("filter", "--index", str(idx), str(source), "--batch-size", "40", stdout=sink, stderr=subprocess.PIPE))
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode()

    kept = Counter(family_of[text] for out in outs for _, text in kept_paragraphs(read_output(out)))
    assert set(kept) == set(family_of.values())  # every family made it through
    assert [f for f, count in kept.items() if count > 1] == []  # and only once

    texts = {(row["id"], k): p for row in rows for k, p in enumerate(row["text"].split("\n\n"), start=1)}
    indexed = Counter(family_of[texts[(r["doc"], r["paragraph"])]] for r in export(idx))
    assert indexed == Counter(set(family_of.values()))


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param("file", id="a file"),
        pytest.param("truncated", id="truncated database"),
        pytest.param("garbage", id="garbage database"),
    ],
)
def test_a_damaged_index_is_a_clear_error_and_stays_as_it_was(tmp_path: Path, damage: str) -> None:
    idx = tmp_path / "idx"
    if damage == "file":
        idx.write_bytes(b'{"not": "an index"}\n')
        target = idx
    else:
        with SQLiteIndex.open(idx, index_params(), background=False) as index:
            with index.batch():
                pass
        target = idx / DB_NAME
        data = target.read_bytes()
        target.write_bytes(data[: len(data) // 3] if damage == "truncated" else os.urandom(len(data)))
    before = hashlib.sha256(target.read_bytes()).hexdigest()
    process = dedup("filter", "--index", str(idx), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = process.communicate(b'{"id": "a", "text": "Some text to filter."}\n', timeout=120)
    assert process.returncode == 2
    message = err.decode()
    assert message.startswith("dedup: error: ") and message.count("\n") == 1 and "Traceback" not in message
    assert out == b""
    assert hashlib.sha256(target.read_bytes()).hexdigest() == before
