"""dedup filter --containment (dedup/filter.py with the postings of dedup/index/sqlite/): a
paragraph covered by earlier documents, in the index or earlier in the input, is dropped with
its sources and spans, whatever the batch size."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup.cli import main
from dedup.filter import Drop, Filter, Outcome, index_params
from dedup.index import IndexError_
from dedup.index.sqlite import SQLiteIndex
from dedup.paragraphs import segment

ROOT = Path(__file__).resolve().parent.parent
SEED_000 = str(ROOT / "seeds" / "000_53e23ff8a8af2345.txt")
SEED_003 = str(ROOT / "seeds" / "003_2475bc7a0b5db3b5.txt")
SEED_004 = str(ROOT / "seeds" / "004_1bf6964548cc96ce.txt")
# Jaccard drops only near-exact copies here, so that what containment adds shows.
PARAMS = index_params(threshold=0.9)


def text_of(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def paragraph(path: str, number: int) -> str:
    return segment(text_of(path))[number - 1].text


@pytest.fixture
def index(tmp_path: Path) -> Iterator[SQLiteIndex]:
    with SQLiteIndex.open(tmp_path / "idx", PARAMS, background=False) as idx:
        yield idx


def run(index: SQLiteIndex, docs: Any, **options: Any) -> list[Outcome]:
    step = Filter(index, **options)
    return [o for batch in step.batches(docs) for o in batch]


def drops(outcomes: list[Outcome]) -> dict[tuple[str, int], Drop]:
    return {(d.paragraph.doc, d.paragraph.number): d for o in outcomes for d in o.drops}


def explained(d: Drop) -> tuple[Any, ...]:
    """What a drop says, but for ingest times (which are the clock's)."""
    return (
        d.paragraph.doc,
        d.paragraph.number,
        d.reason,
        None if d.match is None else (d.match.doc, d.match.paragraph),
        d.coverage,
        tuple((s.doc, s.origin, s.coverage, s.added, s.paragraphs, s.lines, s.spans) for s in d.sources),
    )


# ---------------------------------------------------------------------------------------------
# The Sky seeds


def test_the_trimmed_rowley_paragraph_of_004_is_covered_whole_by_003(index: SQLiteIndex) -> None:
    run(index, [(SEED_003, text_of(SEED_003))])
    outcomes = run(index, [(SEED_004, text_of(SEED_004))], containment=0.5)
    (drop,) = [d for o in outcomes for d in o.drops if "Sir Mark Rowley welcomed a review" in d.paragraph.text]
    assert drop.reason == "reuse" and drop.coverage == 1.0 and drop.match is None
    (source,) = drop.sources
    assert (source.doc, source.origin, source.coverage, source.paragraphs, source.lines) == (SEED_003, "index", 1.0, (8, 8), None)
    (span,) = source.spans
    assert (span.start, span.end) == (0, len(drop.paragraph.text))  # the whole paragraph
    assert span.source_paragraphs == (8, 8) and span.words == span.source_stop - span.source_first == 17
    # Without containment it is kept: as a whole it is not near enough to 003's paragraph.
    with SQLiteIndex.open(Path(index.path).parent / "plain", PARAMS, background=False) as plain:
        run(plain, [(SEED_003, text_of(SEED_003))])
        assert not [d for o in run(plain, [(SEED_004, text_of(SEED_004))]) for d in o.drops if d.paragraph.number == drop.paragraph.number]


def test_the_rejects_line_names_reason_coverage_sources_and_spans(index: SQLiteIndex) -> None:
    run(index, [(SEED_003, text_of(SEED_003))])
    outcomes = run(index, [(SEED_004, text_of(SEED_004))], containment=0.5)
    row = next(d for o in outcomes for d in o.drops if d.reason == "reuse" and d.coverage == 1.0).as_dict()
    assert row["reason"] == "reuse" and row["coverage"] == 1.0 and row["match"] is None
    (source,) = row["sources"]
    assert source["doc"] == SEED_003 and source["paragraphs"] == [8, 8] and source["origin"] == "index"
    (span,) = source["spans"]
    assert set(span) == {"start", "end", "words", "source_words", "source_paragraphs"}
    assert row["text"][span["start"] : span["end"]].startswith("The force’s commissioner")
    json.dumps(row)  # plain JSON


def test_a_paragraph_merged_from_two_indexed_documents_is_traced_to_both(index: SQLiteIndex) -> None:
    run(index, [(SEED_003, text_of(SEED_003)), (SEED_000, text_of(SEED_000))])
    first, second = paragraph(SEED_003, 6), paragraph(SEED_000, 5)
    merged = first.rstrip(".") + ", and " + second[0].lower() + second[1:]
    (outcome,) = run(index, [("merged", "An opening of its own, kept as it is.\n\n" + merged)], containment=0.5)
    (drop,) = outcome.drops
    assert drop.reason == "reuse" and drop.paragraph.number == 2 and drop.coverage is not None and drop.coverage > 0.9
    assert {s.doc for s in drop.sources} == {SEED_003, SEED_000}
    by_doc = {s.doc: s for s in drop.sources}
    assert by_doc[SEED_003].paragraphs == (6, 6) and by_doc[SEED_000].paragraphs == (5, 5)
    # Each source's span is where its text lies in the merged paragraph.
    (a,) = by_doc[SEED_003].spans
    (b,) = by_doc[SEED_000].spans
    assert a.start == 0 and a.end <= len(first) and b.start >= len(first) - 5 and b.end == len(drop.paragraph.text)


def test_a_paragraph_split_over_two_source_paragraphs_is_one_run_across_them(index: SQLiteIndex) -> None:
    run(index, [(SEED_003, text_of(SEED_003))])
    joined = paragraph(SEED_003, 22) + " " + paragraph(SEED_003, 23)
    (outcome,) = run(index, [("joined", joined)], containment=0.5)
    (drop,) = outcome.drops
    (source,) = drop.sources
    assert drop.reason == "reuse" and source.paragraphs == (22, 23)
    assert any(span.source_paragraphs == (22, 23) for span in source.spans)


def test_an_unrelated_paragraph_sharing_names_and_stock_phrases_is_kept(index: SQLiteIndex) -> None:
    run(index, [(SEED_003, text_of(SEED_003))])
    unrelated = (
        "Home Secretary Suella Braverman and Sir Mark Rowley met the Metropolitan Police Federation on Monday "
        "to talk about overtime, new radios and the cost of training, a spokesman said after the meeting."
    )
    (outcome,) = run(index, [("unrelated", unrelated)], containment=0.5)
    assert outcome.drops == () and outcome.status == "kept"


def test_earlier_input_of_the_same_run_is_a_source_and_dropped_paragraphs_are_not(index: SQLiteIndex) -> None:
    rowley = paragraph(SEED_003, 8)
    trimmed = paragraph(SEED_004, 4)
    docs = [("first", rowley), ("second", trimmed), ("third", trimmed + " Extra words at the end.")]
    outcomes = run(index, docs, containment=0.5)
    found = drops(outcomes)
    assert set(found) == {("second", 1), ("third", 1)}
    assert [s.doc for s in found[("second", 1)].sources] == ["first"] and found[("second", 1)].sources[0].origin == "input"
    assert found[("second", 1)].sources[0].lines == (1, 1)
    # "second" was dropped, never written: "third" is traced to "first", its one kept source.
    assert [s.doc for s in found[("third", 1)].sources] == ["first"]


def test_a_near_duplicate_is_dropped_as_one_whatever_its_coverage(index: SQLiteIndex) -> None:
    rowley = paragraph(SEED_003, 8)
    outcomes = run(index, [("a", rowley), ("b", rowley)], containment=0.5)
    assert [(d.paragraph.doc, d.reason) for d in drops(outcomes).values()] == [("b", "input")]


def test_containment_is_checked(index: SQLiteIndex) -> None:
    for bad in (0.0, 1.5, -1.0):
        with pytest.raises(ValueError, match="containment"):
            Filter(index, containment=bad)


# ---------------------------------------------------------------------------------------------
# The same decisions whatever the batch


def _pool() -> list[str]:
    three, four = [p.text for p in segment(text_of(SEED_003))], [p.text for p in segment(text_of(SEED_004))]
    merged = [three[k].rstrip(".") + " and " + three[k + 3] for k in (1, 5, 7)]
    return three[:12] + four[:10] + merged + ["Short.", "A paragraph of its own with nothing reused in it at all, really."]


POOL = _pool()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.sampled_from(POOL), min_size=1, max_size=5), min_size=1, max_size=7), st.integers(1, 6), st.booleans())
def test_the_batch_size_changes_nothing(tmp_path: Path, docs: list[list[str]], batch: int, whole: bool) -> None:
    named = [(f"d{k}", "\n\n".join(paragraphs)) for k, paragraphs in enumerate(docs)]
    decisions = []
    for size in (batch, 10_000):
        path = tmp_path / f"idx{len(list(tmp_path.iterdir()))}"
        with SQLiteIndex.open(path, PARAMS, background=False) as index:
            outcomes = run(index, named, batch_paragraphs=size, containment=0.5, drop_doc_above=0.7 if whole else None)
        decisions.append([(o.status, [explained(d) for d in o.drops]) for o in outcomes])
    assert decisions[0] == decisions[1]


def test_a_document_split_into_parts_is_decided_and_stored_as_in_one_batch(tmp_path: Path) -> None:
    three = [p.text for p in segment(text_of(SEED_003))]
    rng = random.Random(3)
    # A long document that reuses the index's text here and there, and a later one that reuses
    # its text across the boundary of its parts.
    long_doc = "\n\n".join(three[k] if k % 4 else f"Paragraph {k} of the long document, {rng.random()}, nothing reused." for k in range(1, 16))
    later = three[6] + " " + three[7]
    results = []
    for size in (3, 10_000):
        with SQLiteIndex.open(tmp_path / f"idx{size}", PARAMS, background=False) as index:
            run(index, [("base", "\n\n".join(three[:8]))])
            outcomes = run(index, [("long", long_doc), ("later", later)], batch_paragraphs=size, containment=0.5)
            results.append(([(o.status, [explained(d) for d in o.drops]) for o in outcomes], index.stats()["postings"]))
    assert results[0] == results[1]
    assert any(d[2] == "reuse" for o in results[0][0] for d in o[1])


# ---------------------------------------------------------------------------------------------
# Indexes that cannot answer


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_an_index_with_paragraphs_stored_without_postings_says_so_and_still_filters_without(tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    with SQLiteIndex.open(idx, index_params(), background=False) as index:
        run(index, [(SEED_003, text_of(SEED_003))], postings=False)
    code, output = _cli("filter", "--index", str(idx), "--containment", "0.5", SEED_004, "-o", os.devnull)
    assert code == 2 and "have no n-gram postings" in output and "Traceback" not in output
    assert output.count("\n") == 1
    code, output = _cli("filter", "--index", str(idx), SEED_004, "-o", os.devnull)
    assert code == 0 and "26 read, 15 kept, 11 dropped" in output


def test_filter_refuses_containment_on_an_index_that_keeps_no_postings(tmp_path: Path) -> None:
    with SQLiteIndex.open(tmp_path / "idx", PARAMS, background=False) as index:
        run(index, [("a", "Some words to store without postings.")], postings=False)
        with pytest.raises(IndexError_, match="no n-gram postings"):
            Filter(index, containment=0.5)


def test_the_cli_drops_for_reuse_and_writes_the_rejects_line(tmp_path: Path) -> None:
    idx, rejects = tmp_path / "idx", tmp_path / "rejects.jsonl"
    # Postings are stored with --containment or --postings only: without either, a later
    # --containment is refused, saying why, rather than missing what it cannot see.
    bare = tmp_path / "bare"
    assert _cli("filter", "--index", str(bare), "--threshold", "0.9", SEED_003, "-o", os.devnull)[0] == 0
    code, output = _cli("filter", "--index", str(bare), "--threshold", "0.9", "--containment", "0.5", SEED_004, "-o", os.devnull)
    assert code == 2 and "have no n-gram postings" in output and "Traceback" not in output
    assert _cli("filter", "--index", str(idx), "--threshold", "0.9", "--postings", SEED_003, "-o", os.devnull)[0] == 0
    code, output = _cli("filter", "--index", str(idx), "--threshold", "0.9", "--containment", "0.5", SEED_004, "-o", os.devnull, "--rejects", str(rejects))
    assert code == 0, output
    rows = [json.loads(line) for line in rejects.read_text().splitlines()]
    reused = [r for r in rows if r["reason"] == "reuse"]
    assert reused and all(r["coverage"] >= 0.5 and r["sources"] for r in reused)
    assert f"{len(reused)} reusing earlier documents" in output
    assert any(r["coverage"] == 1.0 and r["sources"][0]["paragraphs"] == [8, 8] for r in reused)


words = st.sampled_from(["police", "officers", "the", "Sir", "Mark", "review", "armed", "é", "–", "ﬁre", "x", "1,2", "\u00a0", "Ωmega"])
texts = st.lists(st.lists(words, min_size=0, max_size=40).map(" ".join) | st.text(max_size=80), min_size=1, max_size=4).map("\n\n".join)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(texts, min_size=1, max_size=5))
def test_any_text_is_decided_and_every_span_lies_in_its_paragraph(tmp_path: Path, docs: list[str]) -> None:
    path = tmp_path / f"idx{len(list(tmp_path.iterdir()))}"
    with SQLiteIndex.open(path, PARAMS, background=False) as index:
        run(index, [(f"base{k}", text) for k, text in enumerate(docs)])
        # The same texts with their paragraphs run together: near no single one, covered.
        outcomes = run(index, [(f"d{k}", text.replace("\n\n", " ")) for k, text in enumerate(docs)], containment=0.3)
    for o in outcomes:
        for d in o.drops:
            if d.reason != "reuse":
                continue
            assert d.coverage is not None and 0.3 <= d.coverage <= 1.0
            for source in d.sources:
                assert 0 < source.coverage <= 1.0 and 0 < source.added <= source.coverage
                for span in source.spans:
                    assert 0 <= span.start < span.end <= len(d.paragraph.text)
                    assert span.source_first < span.source_stop and span.words > 0


def test_the_readme_rewrite_is_near_none_of_its_sources_and_95_percent_covered(tmp_path: Path) -> None:
    import re

    from dedup.shingling import shingles

    parts = re.split(r"\n\s*\n", text_of(SEED_003))
    rewrite = " ".join(x.strip() for x in parts[8:11]).replace(
        "Speaking to broadcasters during a visit to a community centre in Hertfordshire, ", "On a visit to Hertfordshire, "
    )
    mine = set(shingles(rewrite))
    assert all(len(mine & set(shingles(x))) / len(mine | set(shingles(x))) < 0.4 for x in parts[8:11])
    with SQLiteIndex.open(tmp_path / "idx", index_params(), background=False) as index:
        run(index, [("003", text_of(SEED_003)), ("004", text_of(SEED_004))])
        (outcome,) = run(index, [("wire-rewrite", "Armed police: what the Prime Minister said\n\n" + rewrite)], containment=0.5)
    row = outcome.drops[0].as_dict()
    assert (row["reason"], row["coverage"], row["sources"][0]["doc"], row["sources"][0]["paragraphs"]) == ("reuse", 0.953488, "003", [9, 11])
    assert [span["source_paragraphs"] for span in row["sources"][0]["spans"]] == [[9, 9], [10, 11]]
