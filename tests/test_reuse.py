"""Reuse matching (dedup/reuse.py): coverage across paragraph boundaries, sources and spans."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.normalization import normalize
from dedup.reuse import ReuseConfig, ReuseLink, explain, find_reuse

ROOT = Path(__file__).resolve().parent.parent
S003 = ROOT / "seeds" / "003_2475bc7a0b5db3b5.txt"
S004 = ROOT / "seeds" / "004_1bf6964548cc96ce.txt"

WIRE = [
    "Soldiers are on standby for armed police after scores of Metropolitan Police officers stood down from firearms duties.",
    "The crisis has emerged after a police officer was charged with murder over the fatal shooting of Chris Kaba, who was killed in September last year.",
    "The officer accused of his murder is named only as NX121 after a district judge granted an anonymity order at the Old Bailey.",
    "The force's commissioner welcomed a review into the situation, saying officers need legal protections to do their jobs well.",
]
FRESH = [
    "Heavy rain is expected across the north of the country tonight, with flood warnings issued for several rivers in the region.",
    "The museum will reopen its east wing next spring after a long restoration of the ceiling paintings and the old wooden floors.",
]


def words(k: int, count: int) -> str:
    """A paragraph of words nobody else uses."""
    rng = random.Random(k)
    return " ".join(f"w{k}x{rng.randrange(10**6)}" for _ in range(count))


def link_of(links: list[ReuseLink], doc: str, paragraph: int) -> ReuseLink | None:
    return next((link for link in links if (link.doc, link.paragraph) == (doc, paragraph)), None)


def test_a_merged_paragraph_is_covered_by_the_two_it_was_made_of() -> None:
    docs = {"wire": "\n\n".join(WIRE), "paper": WIRE[0] + " " + WIRE[1] + "\n\n" + FRESH[0]}
    links = find_reuse(docs)
    link = link_of(links, "paper", 1)
    assert link is not None and link.coverage == 1.0
    (source,) = link.sources
    assert (source.doc, source.paragraphs) == ("wire", (1, 2))
    assert link_of(links, "paper", 2) is None  # fresh text is not reuse


def test_each_part_of_a_split_paragraph_is_traced_to_its_source() -> None:
    first, second = WIRE[1][:70].rsplit(" ", 1)[0], WIRE[1][len(WIRE[1][:70].rsplit(" ", 1)[0]) + 1 :]
    docs = {"wire": "\n\n".join(WIRE), "paper": f"{first}\n\n{second}"}
    links = find_reuse(docs, ReuseConfig(min_words=4))
    for number in (1, 2):
        link = link_of(links, "paper", number)
        assert link is not None and link.coverage == 1.0
        assert [(s.doc, s.paragraphs) for s in link.sources] == [("wire", (2, 2))]


def test_a_paragraph_merged_from_two_documents_names_both() -> None:
    docs = {"wire": WIRE[0] + "\n\n" + WIRE[3], "agency": FRESH[1], "paper": WIRE[0] + " " + FRESH[1]}
    link = link_of(find_reuse(docs), "paper", 1)
    assert link is not None and link.coverage == 1.0
    assert sorted(s.doc for s in link.sources) == ["agency", "wire"]
    assert abs(sum(s.added for s in link.sources) - 1.0) < 1e-9


def test_a_trimmed_copy_is_covered_and_its_source_is_the_whole() -> None:
    trimmed = " ".join(WIRE[1].split()[:14])
    link = link_of(find_reuse({"wire": "\n\n".join(WIRE), "paper": trimmed}), "paper", 1)
    assert link is not None and link.coverage == 1.0
    assert link.sources[0].spans[0].words == 14


def test_a_run_bridges_a_few_changed_words_but_not_a_rewrite() -> None:
    edited = WIRE[1].replace("a police officer", "an unnamed officer").replace("fatal shooting", "death")
    link = link_of(find_reuse({"wire": "\n\n".join(WIRE), "paper": edited}), "paper", 1)
    assert link is not None and link.coverage == 1.0  # the changed words lie inside the run
    rewritten = " ".join(w if k % 3 else f"new{k}" for k, w in enumerate(WIRE[1].split()))
    assert link_of(find_reuse({"wire": "\n\n".join(WIRE), "paper": rewritten}), "paper", 1) is None


def test_spans_are_character_offsets_of_the_same_words_on_both_sides() -> None:
    paper = "Intro of its own that nobody copied at all today.\n\n“" + WIRE[2].upper() + "”, the court heard."
    docs = {"wire": "\n\n".join(WIRE), "paper": paper}
    link = link_of(find_reuse(docs), "paper", 2)
    assert link is not None
    (span,) = link.sources[0].spans
    wire = "\n\n".join(WIRE)
    assert normalize(paper[span.start : span.end]) == normalize(wire[span.source_start : span.source_end])
    assert normalize(paper[span.start : span.end]).startswith("the officer accused")
    assert paper[link.start : link.end] == paper.split("\n\n")[1]


def test_only_earlier_documents_are_sources() -> None:
    links = find_reuse({"paper": WIRE[0], "wire": "\n\n".join(WIRE)})
    assert [(link.doc, link.paragraph) for link in links] == [("wire", 1)]


def test_isolated_hits_and_shared_names_are_not_reuse() -> None:
    # Names, a date and a stock phrase in common, in otherwise fresh text.
    negative = "Chris Kaba was named in September last year, officials at the Old Bailey said of the new rules for traffic wardens and parking fines."
    assert link_of(find_reuse({"wire": "\n\n".join(WIRE), "paper": negative}), "paper", 1) is None


def test_stock_phrases_in_very_many_documents_are_ignored() -> None:
    stock = "For more information please contact our press office during working hours"
    docs = {f"d{k}": f"{stock} {words(k, 3)}" for k in range(12)}
    assert find_reuse(docs, ReuseConfig(max_doc_freq=10, min_words=4)) == []
    assert len(find_reuse(docs, ReuseConfig(max_doc_freq=100, min_words=4))) == 11


def test_seed_004_rowley_paragraph_is_wholly_from_003() -> None:
    docs = {"003": S003.read_text(encoding="utf-8"), "004": S004.read_text(encoding="utf-8")}
    links = find_reuse(docs)
    rowley = next(link for link in links if "Sir Mark Rowley" in docs["004"][link.start : link.end])
    assert rowley.coverage == 1.0 and [s.doc for s in rowley.sources] == ["003"]
    # The reworded "crisis" paragraph (Jaccard 0.49) is mostly covered.
    crisis = next(link for link in links if docs["004"][link.start : link.end].startswith("The crisis"))
    assert crisis.coverage > 0.8


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"ngram": 0}, id="ngram"),
        pytest.param({"min_coverage": 0.0}, id="coverage 0"),
        pytest.param({"min_coverage": 1.5}, id="coverage above 1"),
        pytest.param({"max_sources": 0}, id="sources"),
        pytest.param({"max_gap": 0}, id="gap"),
        pytest.param({"min_words": -1}, id="words"),
    ],
)
def test_settings_are_checked(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ReuseConfig(**bad)  # type: ignore[arg-type]


texts = st.text(alphabet=st.sampled_from(list("ab cd\n\n.,’'éÉ\u0301\u00ad-\r")) | st.characters(), max_size=400)


@given(st.lists(texts, min_size=1, max_size=5), st.integers(1, 6))
@settings(max_examples=150, deadline=None)
def test_any_text_gives_links_that_hold_together(documents: list[str], n: int) -> None:
    # Copies of the first document's text make sure some reuse is found.
    docs = [(f"d{k}", text) for k, text in enumerate(documents + documents[:1])]
    for link in find_reuse(docs, ReuseConfig(ngram=n, min_words=1, min_run_words=1)):
        text = dict(docs)[link.doc]
        assert 0.0 < link.coverage <= 1.0
        assert 0 <= link.start <= link.end <= len(text)
        assert 1 <= len(link.sources) <= 3
        assert sum(s.added for s in link.sources) == pytest.approx(link.coverage)
        for source in link.sources:
            assert int(source.doc[1:]) < int(link.doc[1:])  # earlier documents only
            source_text = dict(docs)[source.doc]
            for span in source.spans:
                assert link.start <= span.start <= span.end <= link.end
                assert 0 <= span.source_start <= span.source_end <= len(source_text)


def hits_of(row: int, words: range, source: int, at: int, n: int = 5) -> tuple[list[int], list[int], list[int], list[int]]:
    """The hits of paragraph ``row``'s n-grams starting at ``words``, found in ``source`` from its
    word ``at`` on (in the same order)."""
    starts = list(words)
    return [row] * len(starts), starts, [source] * len(starts), [at + w - starts[0] for w in starts]


def concat(*parts: tuple[list[int], ...]) -> tuple[np.ndarray, ...]:
    return tuple(np.array(sum((list(p[k]) for p in parts), []), dtype=np.int64) for k in range(4))


def test_explain_traces_a_paragraph_to_the_source_holding_it() -> None:
    words = np.array([40])
    row, pos, source, source_word = concat(hits_of(0, range(0, 36), source=7, at=100))
    (found,) = explain(row, pos, source, source_word, words, ReuseConfig())
    assert (found.row, found.words, found.covered) == (0, 40, 40)
    (s,) = found.sources
    assert (s.source, s.covered, s.added) == (7, 40, 40)
    assert (s.first.tolist(), s.stop.tolist(), s.source_first.tolist(), s.source_stop.tolist()) == ([0], [40], [100], [140])


def test_explain_traces_a_merged_paragraph_to_both_sources_and_ignores_isolated_hits() -> None:
    words = np.array([40, 40])
    row, pos, source, source_word = concat(
        hits_of(0, range(0, 16), source=3, at=50),  # words 0-20 from document 3
        hits_of(0, range(20, 36), source=9, at=0),  # words 20-40 from document 9
        hits_of(1, range(10, 11), source=3, at=7),  # one n-gram of paragraph 1: a name, a date
    )
    (found,) = explain(row, pos, source, source_word, words, ReuseConfig())
    assert found.row == 0 and found.covered == 40
    assert [(s.source, s.covered, s.added) for s in found.sources] == [(3, 20, 20), (9, 20, 20)]


def test_explain_leaves_a_paragraph_covered_below_min_coverage() -> None:
    words = np.array([40])
    row, pos, source, source_word = concat(hits_of(0, range(0, 10), source=1, at=0))  # 14 of 40 words
    assert explain(row, pos, source, source_word, words, ReuseConfig()) == []
    assert len(explain(row, pos, source, source_word, words, ReuseConfig(min_coverage=0.3))) == 1
