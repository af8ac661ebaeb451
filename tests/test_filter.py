"""The filter step (dedup/filter.py): keep/drop decisions, first seen wins, reasons, outputs."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup.documents import Document, DocumentReader
from dedup.filter import Drop, Filter, Match, Outcome, index_params
from dedup.index import IndexParams, Records
from dedup.index.sqlite import SQLiteIndex
from dedup import filter as filter_module
from dedup.paragraphs import Paragraph, ParagraphTable
from dedup.pipeline import Config, find_duplicates

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted(str(p) for p in (ROOT / "seeds").glob("*.txt"))
SOLDIERS = "Soldiers are on standby for armed police after scores of officers stood down from firearms duties."
SOLDIERS_ALSO = "Soldiers are also on standby for armed police after scores of officers stood down from firearms duties."
KABA = "The crisis has emerged after a police officer was charged with murder over the shooting of Chris Kaba."
OTHER = "Ms Braverman said she would review the guidance for officers who carry firearms on duty."


def unique(k: int) -> str:
    """A paragraph of its own: no word 3-gram in common with any other."""
    rng = random.Random(k)
    return " ".join(f"w{k}x{rng.randrange(10**6)}" for _ in range(12))


@pytest.fixture
def index(tmp_path: Path) -> Iterator[SQLiteIndex]:
    with SQLiteIndex.open(tmp_path / "idx", index_params(), background=False) as idx:
        yield idx


def run(index: SQLiteIndex, docs: object, **options: object) -> tuple[list[Outcome], Filter]:
    step = Filter(index, **options)  # type: ignore[arg-type]
    outcomes = [o for batch in step.batches(docs) for o in batch]  # type: ignore[arg-type]
    return outcomes, step


def dropped(outcomes: list[Outcome]) -> dict[tuple[str, int], Drop]:
    return {(d.paragraph.doc, d.paragraph.number): d for o in outcomes for d in o.drops}


# ---------------------------------------------------------------------------------------------
# The rule


@pytest.mark.parametrize("batch", [pytest.param(1, id="one paragraph a batch"), pytest.param(40, id="40"), pytest.param(10_000, id="all at once")])
def test_a_fresh_index_drops_exactly_what_the_report_clusters(index: SQLiteIndex, batch: int) -> None:
    docs = list(DocumentReader(SEEDS))
    members = {(m.doc, m.paragraph.number) for c in find_duplicates(docs).clusters for m in c.members[1:]}
    outcomes, step = run(index, docs, batch_paragraphs=batch)
    assert set(dropped(outcomes)) == members
    assert {d.reason for d in dropped(outcomes).values()} == {"input"}
    assert step.stats.paragraphs == 263 and step.stats.kept == 263 - len(members)
    assert index.stats()["paragraphs"] == 263 - len(members)


@pytest.mark.parametrize("min_words", [0, 6])
def test_the_report_agrees_with_min_words_too(index: SQLiteIndex, min_words: int) -> None:
    docs = list(DocumentReader(SEEDS))
    result = find_duplicates(docs, Config(min_words=min_words))
    members = {(m.doc, m.paragraph.number) for c in result.clusters for m in c.members[1:]}
    outcomes, _ = run(index, docs, min_words=min_words)
    assert set(dropped(outcomes)) == members


def test_first_seen_wins_within_the_input(index: SQLiteIndex) -> None:
    outcomes, _ = run(index, [("a", f"{SOLDIERS}\n\n{OTHER}"), ("b", f"{unique(1)}\n\n{SOLDIERS_ALSO}")])
    (drop,) = dropped(outcomes).values()
    assert (drop.paragraph.doc, drop.paragraph.number, drop.paragraph.line, drop.reason) == ("b", 2, 3, "input")
    assert drop.match is not None and (drop.match.doc, drop.match.paragraph) == ("a", 1)
    assert 0.4 <= drop.jaccard <= drop.containment <= 1.0  # type: ignore[operator]


def test_what_the_index_holds_is_dropped_with_its_origin(index: SQLiteIndex) -> None:
    run(index, [("old", f"{unique(1)}\n\n{KABA}")], clock=lambda: 1000.0)
    outcomes, step = run(index, [("new", f"{KABA}\n\n{unique(2)}")], clock=lambda: 2000.0)
    (drop,) = dropped(outcomes).values()
    assert drop.reason == "index" and drop.jaccard == 1.0
    assert drop.match == Match(pid=2, doc="old", paragraph=2, ingested_at=1000.0)
    assert outcomes[0].output is not None and outcomes[0].output.text == unique(2)
    assert step.stats.dropped["index"] == 1


def test_a_dropped_paragraph_does_not_stand_for_others(index: SQLiteIndex) -> None:
    # b's first paragraph repeats a's; b's second repeats b's first but not a's. The first is
    # dropped, so the second is the first kept occurrence of its text: kept, as in a report.
    base = [f"w{k}" for k in range(60)]
    near = base[:44] + [f"v{k}" for k in range(16)]  # J(base, near) = 0.57
    far = [f"u{k}" for k in range(16)] + near[16:]  # J(base, far) = 0.29, J(near, far) = 0.57
    run(index, [("a", " ".join(base))])
    outcomes, _ = run(index, [("b", " ".join(near) + "\n\n" + " ".join(far))])
    assert [(d.paragraph.number, d.reason) for d in dropped(outcomes).values()] == [(1, "index")]


def test_matches_in_earlier_batches_of_the_same_run_count_as_input(index: SQLiteIndex) -> None:
    outcomes, step = run(index, [("a", SOLDIERS), ("b", unique(3)), ("c", SOLDIERS)], batch_paragraphs=1)
    (drop,) = dropped(outcomes).values()
    assert drop.reason == "input" and drop.match is not None and drop.match.doc == "a"
    assert step.stats.batches == 3


def test_the_matching_settings_are_the_index_s(tmp_path: Path) -> None:
    strict = index_params(threshold=0.9)
    assert (strict.bands, strict.rows) != (index_params().bands, index_params().rows)
    with SQLiteIndex.open(tmp_path / "strict", strict) as index:
        outcomes, _ = run(index, [("a", SOLDIERS), ("b", SOLDIERS_ALSO), ("c", SOLDIERS.upper())])
    assert [key for key in dropped(outcomes)] == [("c", 1)]  # 0.71 is below 0.9; a copy is not


def test_paragraphs_left_out_of_matching_are_kept_and_not_indexed(index: SQLiteIndex) -> None:
    docs = [("a", f"Short one.\n\n…\n\n{'x' * 150}\n\n{SOLDIERS}")]
    outcomes, step = run(index, docs, min_words=3, max_chars=120)
    assert not outcomes[0].drops and step.stats.unmatched == 3
    outcomes, _ = run(index, docs, min_words=3, max_chars=120)
    assert [key[1] for key in dropped(outcomes)] == [4]  # only the matched paragraph was indexed
    assert index.stats()["paragraphs"] == 1


# ---------------------------------------------------------------------------------------------
# Documents out


def test_kept_paragraphs_are_rejoined_and_untouched_documents_pass_through(index: SQLiteIndex) -> None:
    original = f"  {unique(1)}\r\n\r\n{unique(2)}\n"
    docs = [
        Document("a", original, fields={"id": "a", "text": original, "lang": "en", "n": 1}),
        Document("b", f"{unique(3)}\n\n\n{unique(1)}\n\n{unique(4)}\nsecond line", fields={"id": "b", "text": "?", "meta": {"x": [1]}}),
    ]
    outcomes, _ = run(index, docs)
    a, b = (o.output for o in outcomes)
    assert a is not None and a.text == original and a.fields == {"id": "a", "text": original, "lang": "en", "n": 1}
    assert b is not None and b.text == f"{unique(3)}\n\n{unique(4)}\nsecond line"
    assert b.fields == {"id": "b", "text": b.text, "meta": {"x": [1]}}
    assert [o.status for o in outcomes] == ["kept", "filtered"]


def test_text_documents_get_an_id_and_a_text_field(index: SQLiteIndex) -> None:
    outcomes, _ = run(index, [("notes.txt", "Hello there, this is text.")], text_field="body", id_field="name")
    assert outcomes[0].output is not None
    assert outcomes[0].output.fields == {"name": "notes.txt", "body": "Hello there, this is text."}


def test_an_emptied_document_is_left_out_and_counted(index: SQLiteIndex) -> None:
    outcomes, step = run(index, [("a", f"{SOLDIERS}\n\n{KABA}"), ("b", f"{KABA}\n\n{SOLDIERS}"), ("c", "")])
    assert [o.status for o in outcomes] == ["kept", "emptied", "kept"]
    assert outcomes[1].output is None and outcomes[2].output is not None  # c had nothing to drop
    assert (step.stats.emptied, step.stats.written) == (1, 2)


def test_mark_keeps_the_text_whole_and_lists_the_duplicates(index: SQLiteIndex) -> None:
    text = f"{KABA}\n\n{unique(5)}\n\n{SOLDIERS}"
    outcomes, _ = run(index, [("a", SOLDIERS), ("b", text), ("c", KABA)], mark=True, mark_field="dups")
    b = outcomes[1].output
    assert b is not None and b.text == text and outcomes[1].status == "marked"
    (mark,) = b.fields["dups"]  # type: ignore[index]
    assert mark["paragraph"] == 3 and mark["reason"] == "input" and mark["match"]["doc"] == "a"
    assert "text" not in mark
    assert outcomes[2].output is not None and outcomes[2].status == "marked"  # marked, not left out
    assert index.stats()["paragraphs"] == 3  # marking indexes what a filter would keep


# ---------------------------------------------------------------------------------------------
# Whole documents


def test_a_document_above_the_ratio_is_dropped_and_not_indexed(index: SQLiteIndex) -> None:
    docs = [
        ("a", f"{SOLDIERS}\n\n{KABA}"),
        ("b", f"{SOLDIERS}\n\n{KABA}\n\n{unique(1)}"),  # 2 of 3 duplicates: above 0.5
        ("c", f"{unique(1)}\n\n{unique(2)}"),  # repeats only b's own paragraph: kept, since b is gone
        ("d", f"{SOLDIERS}\n\n{unique(3)}"),  # exactly 0.5: not above
    ]
    outcomes, step = run(index, docs, drop_doc_above=0.5)
    assert [o.status for o in outcomes] == ["kept", "dropped", "kept", "filtered"]
    reasons = [(d.paragraph.number, d.reason) for d in outcomes[1].drops]
    assert reasons == [(1, "input"), (2, "input"), (3, "document")]
    assert outcomes[1].drops[2].document_share == pytest.approx(2 / 3)
    assert step.stats.dropped_documents == 1 and step.stats.dropped["document"] == 1
    assert index.stats()["paragraphs"] == 2 + 2 + 1


def test_a_repeat_within_a_dropped_document_points_at_nothing_unwritten(index: SQLiteIndex) -> None:
    # The document repeats its own first paragraph and is dropped whole: its first paragraph was
    # never written, so the repeat is dropped with the document, not matched against it.
    outcomes, _ = run(index, [("a", f"{SOLDIERS}\n\n{SOLDIERS}\n\n{unique(4)}")], drop_doc_above=0.3)
    (outcome,) = outcomes
    assert outcome.status == "dropped"
    assert [d.reason for d in outcome.drops] == ["document", "document", "document"]
    assert all(d.match is None for d in outcome.drops)


def test_dropping_a_document_reconsiders_later_ones_in_the_same_batch(index: SQLiteIndex) -> None:
    # b is dropped whole; c's second paragraph repeated b's own: with b gone, it is kept, and
    # then c is no longer above the ratio either.
    docs = [("a", SOLDIERS), ("b", f"{SOLDIERS}\n\n{KABA}"), ("c", f"{unique(9)}\n\n{KABA}")]
    outcomes, _ = run(index, docs, drop_doc_above=0.4)
    assert [o.status for o in outcomes] == ["kept", "dropped", "kept"]


# ---------------------------------------------------------------------------------------------
# As a pipeline step


def test_a_generator_step_yields_the_documents_to_keep(index: SQLiteIndex) -> None:
    def source() -> Iterator[Document]:
        yield Document("a", f"{SOLDIERS}\n\n{unique(1)}")
        yield Document("b", SOLDIERS_ALSO)
        yield Document("c", unique(2))

    assert [doc.name for doc in Filter(index)(source())] == ["a", "c"]


def test_stopping_half_way_commits_nothing_of_the_last_batch(index: SQLiteIndex) -> None:
    step = Filter(index, batch_paragraphs=1)
    batches = step.batches([("a", unique(1)), ("b", unique(2)), ("c", unique(3))])
    next(batches)
    next(batches)  # a's batch commits here
    batches.close()  # b's batch was handed out, never committed
    assert step.stats.documents == 1
    assert [row["doc"] for row in index.export()] == ["a"]
    outcomes, _ = run(index, [("b", unique(2))])
    assert outcomes[0].status == "kept"  # emitted again by a rerun: at least once


def test_a_consumer_failing_mid_batch_commits_nothing(index: SQLiteIndex) -> None:
    step = Filter(index)
    with pytest.raises(OSError, match="disk full"):
        for _ in step.batches([("a", unique(1))]):
            raise OSError("disk full")
    assert step.stats.documents == 0 and index.stats()["paragraphs"] == 0


pool = st.sampled_from([SOLDIERS, SOLDIERS_ALSO, KABA, OTHER, unique(1), unique(2), "…", "Short."])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(pool, max_size=4), min_size=1, max_size=8), st.integers(1, 6))
def test_the_batch_size_changes_nothing(tmp_path: Path, docs: list[list[str]], batch: int) -> None:
    named = [(f"d{k}", "\n\n".join(paragraphs)) for k, paragraphs in enumerate(docs)]
    decisions = []
    for size in (batch, 10_000):
        path = tmp_path / f"idx{len(list(tmp_path.iterdir()))}"
        with SQLiteIndex.open(path, index_params(), background=False) as index:
            outcomes, _ = run(index, named, batch_paragraphs=size, drop_doc_above=0.6)
        decisions.append([(o.status, [(d.paragraph.number, d.reason) for d in o.drops]) for o in outcomes])
    assert decisions[0] == decisions[1]


# ---------------------------------------------------------------------------------------------
# Small parts


def test_index_params_are_the_report_s_defaults() -> None:
    assert index_params() == IndexParams(num_perm=128, seed=1, shingle="word:3", threshold=0.4, bands=31, rows=3)
    with pytest.raises(ValueError, match="threshold"):
        index_params(threshold=0.0)


def test_options_are_checked(index: SQLiteIndex) -> None:
    with pytest.raises(ValueError, match="drop_doc_above"):
        Filter(index, drop_doc_above=1.5)
    with pytest.raises(ValueError, match="batch_paragraphs"):
        Filter(index, batch_paragraphs=0)


def test_a_drop_names_its_match_unless_its_document_took_it() -> None:
    p = Paragraph("d", 1, 1, 0, 4, "text")
    with pytest.raises(ValueError, match="names its match"):
        Drop(p, "index")
    with pytest.raises(ValueError, match="reason"):
        Drop(p, "other")  # type: ignore[arg-type]
    row = Drop(p, "index", 0.5, 0.75, Match(7, "e", 2, 0.0)).as_dict()
    assert row == {
        "doc": "d",
        "paragraph": 1,
        "line": 1,
        "reason": "index",
        "jaccard": 0.5,
        "containment": 0.75,
        "match": {"doc": "e", "paragraph": 2, "ingested_at": "1970-01-01T00:00:00.000Z", "pid": 7},
        "text": "text",
    }


@pytest.mark.parametrize("shingle", ["word:3", "word:1", "char:5"])
def test_hashing_in_one_pass_gives_the_report_s_keys_and_sets(shingle: str) -> None:
    import numpy as np

    from dedup import _kernel
    from dedup._kernel import hash_rows
    from dedup.normalization import normalize_batch
    from dedup.shingling import ShingleSpec
    from dedup.signatures import permutations, shingle_sets_of, signatures_of

    texts = [SOLDIERS, SOLDIERS_ALSO, "", "Two words", "a b c", " ".join(["same"] * 80), " ".join(unique(k) for k in range(30)), KABA, OTHER]
    batch = normalize_batch(texts)
    rows = np.flatnonzero(batch.lengths() > 0)
    spec = ShingleSpec.parse(shingle)
    a, b = permutations(128, 1)
    keys, hashes, offsets = hash_rows(batch.data, batch.offsets, rows, spec.code, spec.n, a, b, 30, 4)
    assert keys.tolist() == _kernel.band_keys(signatures_of(batch, spec, 128, 1)[rows], 30, 4).tolist()
    want_hashes, want_offsets = shingle_sets_of(batch, spec, rows)
    assert hashes.tolist() == want_hashes.tolist() and offsets.tolist() == want_offsets.tolist()


# ---------------------------------------------------------------------------------------------
# Exact copies never depend on the bucket cap


def _crowd(index: SQLiteIndex, text: str, count: int) -> None:
    """Store ``count`` paragraphs that share every band key with ``text`` but no shingle (so
    none is near it): they fill its buckets ahead of it, up to and past the cap."""
    step = Filter(index)
    doc = Document("target", text)
    prepared = step._prepare(ParagraphTable([doc.name], [doc.text]), [doc])
    keys = prepared.keys[:, :1]
    with index.batch():
        for k in range(count):
            index.add(Records([f"crowd{k}"], [1], keys, [10**9 + k], [0, 1], 1.0))


@pytest.mark.parametrize("batch", [pytest.param(1, id="the copy in a later batch"), pytest.param(10_000, id="in the same batch")])
def test_an_exact_copy_is_dropped_however_crowded_its_buckets(index: SQLiteIndex, batch: int) -> None:
    _crowd(index, SOLDIERS, 2 * index.bucket_cap + 10)
    first, _ = run(index, [("a", SOLDIERS), ("b", SOLDIERS.upper() + "!")], batch_paragraphs=batch)
    assert [o.status for o in first] == ["kept", "emptied"]
    again, _ = run(index, [("c", SOLDIERS)])
    assert [o.status for o in again] == ["emptied"]
    (drop,) = again[0].drops
    assert (drop.reason, drop.jaccard, drop.match.doc if drop.match else None) == ("index", 1.0, "a")


def test_an_exact_copy_within_a_batch_does_not_depend_on_lsh(index: SQLiteIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    # Crowded buckets can keep LSH from proposing any pair (each bucket pairs its first 64
    # members only): here it proposes none at all. Exact copies are still paired.
    monkeypatch.setattr(filter_module, "verified_blocks", lambda candidates, sets, config: iter(()))
    outcomes, _ = run(index, [("target", SOLDIERS), ("near", SOLDIERS_ALSO), ("copy", SOLDIERS.upper())])
    assert [o.status for o in outcomes] == ["kept", "kept", "emptied"]
    (drop,) = outcomes[-1].drops
    assert (drop.reason, drop.jaccard, drop.match.doc if drop.match else None) == ("input", 1.0, "target")


# ---------------------------------------------------------------------------------------------
# A document larger than a batch


def _long_document() -> str:
    """The seeds as one document, with some of their paragraphs again at the end."""
    texts = [Path(path).read_text(encoding="utf-8") for path in SEEDS]
    return "\n\n".join(texts + [texts[3], SOLDIERS, SOLDIERS_ALSO])


def _summary(outcomes: list[Outcome]) -> list[tuple[object, ...]]:
    return [
        (o.status, o.output.text if o.output else None, [(d.paragraph.number, d.reason, d.jaccard, d.match.paragraph if d.match else None) for d in o.drops])
        for o in outcomes
    ]


@pytest.mark.parametrize("batch", [pytest.param(1, id="one paragraph a part"), pytest.param(7, id="7"), pytest.param(100, id="100")])
@pytest.mark.parametrize("drop_doc_above", [None, 0.05, 0.9])
def test_a_document_larger_than_a_batch_is_decided_as_in_one_batch(tmp_path: Path, batch: int, drop_doc_above: float | None) -> None:
    docs = [("before", SOLDIERS + "\n\n" + OTHER), ("long", _long_document()), ("after", KABA + "\n\n" + SOLDIERS)]
    results = []
    for size in (batch, 100_000):
        with SQLiteIndex.open(tmp_path / f"idx{size}", index_params(), background=False) as idx:
            outcomes, step = run(idx, docs, batch_paragraphs=size, drop_doc_above=drop_doc_above)
            results.append((_summary(outcomes), step.stats.as_dict(), idx.stats()["paragraphs"]))
    assert results[0] == results[1]


def test_a_large_document_dropped_whole_leaves_the_index_as_it_was(index: SQLiteIndex) -> None:
    run(index, [("first", _long_document())])
    before = index.stats()["paragraphs"]
    outcomes, step = run(index, [("again", _long_document() + "\n\nOne paragraph of its own.")], batch_paragraphs=5, drop_doc_above=0.5)
    assert [o.status for o in outcomes] == ["dropped"]
    assert index.stats()["paragraphs"] == before
    assert {d.reason for d in outcomes[0].drops} == {"index", "document"}
    assert step.stats.dropped_documents == 1
