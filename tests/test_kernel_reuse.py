"""dedup._kernel.reuse: the compiled stages of reuse matching, each against a plain Python
statement of its rule, the same on one thread and on several, and refusing arguments that would
make the C read or write out of bounds."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup._kernel import _lib
from dedup._kernel.reuse import cover_rows, ngram_hits, token_spans, word_counts, word_ngrams, word_spans
from dedup.normalization import normalize, normalize_batch, normalize_utf8_spans
from dedup.paragraphs import ParagraphTable
from dedup.reuse import CharMapper, ReuseConfig, explain


@contextmanager
def threads(count: int) -> Iterator[None]:
    before = _lib.set_threads(count)
    try:
        yield
    finally:
        _lib.set_threads(before)


# -- hits ----------------------------------------------------------------------------------------


def hits_by_rule(hashes: list[int], row_doc: list[int], row_before: list[int], max_repeats: int, max_doc_freq: int) -> list[tuple[int, int, int, int]]:
    """The rule of ngram_hits, for one n-gram per row (pos 0): an n-gram counts in the first
    max_repeats places of each document, in 2 to max_doc_freq documents, and each place pairs
    with the places of the documents before its own."""
    places: dict[int, list[int]] = defaultdict(list)
    for k, h in enumerate(hashes):
        places[h].append(k)
    out = []
    for ks in places.values():
        kept: list[int] = []
        for k in ks:
            if sum(row_doc[j] == row_doc[k] for j in kept) < max_repeats:
                kept.append(k)
        docs = {row_doc[k] for k in kept}
        if not 2 <= len(docs) <= max_doc_freq:
            continue
        for t in kept:
            out += [(t, 0, row_doc[s], row_before[s]) for s in kept if row_doc[s] < row_doc[t]]
    return sorted(out)


@given(
    st.lists(st.tuples(st.integers(0, 12), st.booleans()), min_size=0, max_size=300),
    st.integers(1, 4),
    st.integers(1, 6),
    st.integers(0, 64),
    st.booleans(),
)
@settings(max_examples=200, deadline=None)
def test_hits_follow_the_rule(grams: list[tuple[int, bool]], max_repeats: int, max_doc_freq: int, spread: int, same_low_bits: bool) -> None:
    # A few hashes, many repeats; a new document where the flag says so. The hashes' top bits
    # are spread out, so that they fall into different buckets, or else they differ only in
    # their middle bits (one bucket, the same low 32 bits).
    if same_low_bits:
        hashes = [(h << 40) | 0xABCDEF01 for h, _ in grams]
    else:
        hashes = [(h * 0x9E3779B97F4A7C15 + spread) % 2**64 for h, _ in grams]
    row_doc = np.cumsum([new for _, new in grams]).tolist()
    row_before = [7 * k for k in range(len(grams))]
    expected = hits_by_rule(hashes, row_doc, row_before, max_repeats, max_doc_freq)
    m = len(grams)
    for count in (1, 2):
        with threads(count):
            row, pos, source, word = ngram_hits(
                np.array(hashes, dtype=np.uint64), np.zeros(m, np.int32), np.arange(m + 1), np.arange(m), np.array(row_doc), np.array(row_before),
                max_repeats, max_doc_freq,
            )
        assert sorted(zip(row.tolist(), pos.tolist(), source.tolist(), word.tolist())) == expected


def test_hits_of_many_rows_in_many_buckets_are_the_same_on_one_thread_and_several() -> None:
    rng = np.random.default_rng(0)
    b = normalize_batch([" ".join(rng.choice(["a", "b", "c", "d", "e", "f"], size=rng.integers(0, 30))) for _ in range(4000)])
    rows = np.arange(4000)
    words = word_counts(b.data, b.offsets, rows)
    first, hashes, starts = word_ngrams(b.data, b.offsets, rows, 3, words)
    results = []
    for count in (1, 2):
        with threads(count):
            found = ngram_hits(hashes, starts, first, rows, rows // 10, np.zeros(4000, np.int64), 2, 1000)
        results.append(sorted(zip(*(a.tolist() for a in found))))
    assert results[0] == results[1] and len(results[0]) > 10_000


# -- runs and sources ----------------------------------------------------------------------------


def union(spans: list[tuple[int, int]]) -> int:
    return len({w for first, stop in spans for w in range(first, stop)})


def explain_by_rule(hits: list[tuple[int, int, int, int]], words: list[int], c: ReuseConfig) -> list[tuple[int, int, list[tuple[int, int, int, list[tuple[int, int, int, int]]]]]]:
    """The rules of dedup.reuse, written plainly: (row, covered, [(source, covered, added,
    runs)]) for each reused row."""
    n, out = c.ngram, []
    for row in sorted({h[0] for h in hits}):
        runs: dict[int, set[tuple[int, int, int, int]]] = defaultdict(set)
        for source in sorted({h[2] for h in hits if h[0] == row}):
            # Hits by offset, then position: a run goes on while the offset drifts a little and
            # the next hit is a little further on.
            items = sorted((word - pos, pos) for r, pos, s, word in hits if (r, s) == (row, source))
            chains = [[items[0]]]
            for prev, cur in zip(items, items[1:]):
                if cur[0] - prev[0] <= c.max_drift and prev[1] < cur[1] <= prev[1] + c.max_gap:
                    chains[-1].append(cur)
                else:
                    chains.append([cur])
            for chain in chains:
                first, stop, at = chain[0][1], chain[-1][1] + n, [o + p for o, p in chain]
                if len(chain) >= 2 and stop - first >= max(c.min_run_words, n):
                    runs[source].add((first, stop, min(at), max(at) + n))
        # Of runs over the same words, the one that starts first in the source.
        best: dict[int, list[tuple[int, int, int, int]]] = {}
        for source, found in runs.items():
            kept: dict[tuple[int, ...], tuple[int, int, int, int]] = {}
            for run in sorted(found):
                kept.setdefault(run[:2], run)
            best[source] = sorted(kept.values())
        if not best:
            continue
        total = words[row]
        covered = {s: union([r[:2] for r in rs]) for s, rs in best.items()}
        ranked = sorted(best, key=lambda s: (-covered[s], s))
        reach = sum(covered[s] for s in ranked[: c.max_sources])
        if reach < c.min_coverage * total or total < max(c.min_words, 1) or reach < max(c.min_words, 1):
            continue
        if covered[ranked[0]] < c.min_source_coverage * total:
            continue
        chosen, spans, have = [(ranked[0], covered[ranked[0]])], [r[:2] for r in best[ranked[0]]], covered[ranked[0]]
        pool = ranked[1:]
        while pool and len(chosen) < c.max_sources:
            gains = [union(spans + [r[:2] for r in best[s]]) - have for s in pool]
            k = gains.index(max(gains))
            if gains[k] < c.min_source_coverage * total:
                break
            chosen.append((pool[k], gains[k]))
            spans += [r[:2] for r in best[pool.pop(k)]]
            have += gains[k]
        if have < c.min_coverage * total or have < c.min_words:
            continue
        out.append((row, have, [(s, covered[s], added, best[s]) for s, added in chosen]))
    return out


@given(st.integers(0, 2**32 - 1), st.integers(1, 300), st.integers(1, 6), st.integers(0, 10), st.integers(1, 3))
@settings(max_examples=150, deadline=None)
def test_coverage_follows_the_rules(seed: int, count: int, n: int, min_run_words: int, max_sources: int) -> None:
    rng = np.random.default_rng(seed)
    row = rng.integers(0, 5, count)
    pos = rng.integers(0, 40, count)
    source = rng.integers(0, 4, count)
    source_word = pos + rng.integers(0, 3, count) * 30 + rng.integers(-2, 3, count)
    words = rng.integers(20, 60, 5)
    config = ReuseConfig(ngram=n, min_words=int(rng.integers(0, 10)), min_coverage=0.3, min_source_coverage=0.05, min_run_words=min_run_words, max_sources=max_sources, max_gap=int(rng.integers(1, 9)), max_drift=int(rng.integers(0, 4)))
    hits = sorted(set(zip(row.tolist(), pos.tolist(), source.tolist(), source_word.tolist())))
    expected = explain_by_rule(hits, words.tolist(), config)
    for count_threads in (1, 2):
        with threads(count_threads):
            hit_row, hit_pos, hit_source, hit_word = (np.array(column, dtype=np.int64) for column in zip(*hits))
            found = explain(hit_row, hit_pos, hit_source, hit_word, words, config)
        got = [(e.row, e.covered, [(s.source, s.covered, s.added, list(zip(s.first.tolist(), s.stop.tolist(), s.source_first.tolist(), s.source_stop.tolist()))) for s in e.sources]) for e in found]
        assert got == expected


@given(st.integers(0, 2**32 - 1), st.integers(1, 400))
@settings(max_examples=50, deadline=None)
def test_coverage_does_not_depend_on_the_order_of_the_hits(seed: int, count: int) -> None:
    rng = np.random.default_rng(seed)
    row = rng.integers(0, 6, count)
    pos = rng.integers(0, 60, count)
    source = rng.integers(0, 4, count)
    source_word = pos + rng.integers(0, 4, count) * 50 + rng.integers(-2, 3, count)
    words = np.full(6, 64)
    config = ReuseConfig(min_words=1, min_coverage=0.2, min_source_coverage=0.05)
    expected = [(e.row, e.covered, [(s.source, s.added, s.first.tolist(), s.source_first.tolist()) for s in e.sources]) for e in explain(row, pos, source, source_word, words, config)]
    order = rng.permutation(count)
    found = explain(row[order], pos[order], source[order], source_word[order], words, config)
    assert [(e.row, e.covered, [(s.source, s.added, s.first.tolist(), s.source_first.tolist()) for s in e.sources]) for e in found] == expected


# -- words back to characters --------------------------------------------------------------------

ASCII_SPACE = re.compile(r"[^\t\n\v\f\r ]+")


def word_spans_by_rule(text: str, start: int, end: int, words: int) -> list[tuple[int, int]]:
    """Each token between ASCII whitespace gives the words it normalizes to its span; when the
    tokens do not give the paragraph's words, they are spread evenly over it."""
    spans = []
    for token in ASCII_SPACE.finditer(text, start, end):
        normalized = normalize(token.group())
        spans += [token.span()] * (normalized.count(" ") + 1 if normalized else 0)
    if len(spans) == words:
        return spans
    width = (end - start) / max(words, 1)
    return [(start + int(w * width), start + int((w + 1) * width)) for w in range(words)]


text = st.text(alphabet=st.sampled_from(list("ab CD 09\n\n\t.,’'é\u0301\u00ad-—\u00a0ﬁß") + ["\ud800"]) | st.characters(), max_size=300)


@given(st.lists(text, min_size=1, max_size=4))
@settings(max_examples=200, deadline=None)
def test_each_word_has_the_characters_of_its_token(documents: list[str]) -> None:
    table = ParagraphTable([f"d{k}" for k in range(len(documents))], documents)
    batch = normalize_utf8_spans(table.src, table.byte_start, table.byte_end)
    rows = np.arange(len(table))
    counts = word_counts(batch.data, batch.offsets, rows)
    mapper = CharMapper(table, documents, counts, np.zeros(len(table), dtype=np.int64))
    mapper.prepare(rows)
    for r in rows.tolist():
        base, words = int(mapper.word_base[r]), int(counts[r])
        got = list(zip(mapper.word_start[base : base + words].tolist(), mapper.word_end[base : base + words].tolist()))
        text = documents[int(table.doc[r])]
        assert got == word_spans_by_rule(text, int(table.start[r]), int(table.end[r]), words)


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1))
def test_a_token_of_ascii_letters_and_digits_is_one_word_of_itself(token: str) -> None:
    # Why word_spans counts such a token as one word without normalizing it.
    assert normalize(token) == token.lower()


# -- arguments ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: ngram_hits(np.zeros(3, np.uint64), np.zeros(3, np.int32), np.array([0, 1, 4]), np.arange(2), np.zeros(2), np.zeros(2), 1, 1), id="first-past-the-n-grams"),
        pytest.param(lambda: ngram_hits(np.zeros(3, np.uint64), np.zeros(3, np.int32), np.array([0, 2, 1, 3]), np.arange(3), np.zeros(3), np.zeros(3), 1, 1), id="first-descending"),
        pytest.param(lambda: ngram_hits(np.zeros(3, np.uint64), np.zeros(2, np.int32), np.array([0, 3]), np.arange(1), np.zeros(1), np.zeros(1), 1, 1), id="fewer-starts-than-hashes"),
        pytest.param(lambda: ngram_hits(np.zeros(3, np.uint64), np.zeros(3, np.int32), np.array([0, 3]), np.arange(1), np.zeros(2), np.zeros(1), 1, 1), id="row-doc-of-other-rows"),
        pytest.param(lambda: ngram_hits(np.zeros(3, np.uint64), np.zeros(3, np.int32), np.array([0, 3]), np.arange(1), np.zeros(1), np.zeros(1), 0, 1), id="max-repeats-0"),
        pytest.param(lambda: cover_rows(np.array([0, 2]), np.zeros(2), np.zeros(2), np.zeros(2), np.array([5, 5]), 5, 8, 3, 8, 3, 8, 0.5, 0.1), id="cover-row-out-of-range"),
        pytest.param(lambda: cover_rows(np.array([0, 1]), np.zeros(1), np.zeros(2), np.zeros(2), np.array([5, 5]), 5, 8, 3, 8, 3, 8, 0.5, 0.1), id="cover-fewer-positions"),
        pytest.param(lambda: cover_rows(np.array([0]), np.zeros(1), np.zeros(1), np.zeros(1), np.array([5]), 0, 8, 3, 8, 3, 8, 0.5, 0.1), id="cover-n-0"),
        pytest.param(lambda: cover_rows(np.array([0]), np.zeros(1), np.zeros(1), np.zeros(1), np.array([5]), 5, 8, 3, 8, 0, 8, 0.5, 0.1), id="cover-max-sources-0"),
        pytest.param(lambda: token_spans(np.zeros(4, np.uint8), np.array([0]), np.array([5]), np.array([0])), id="tokens-past-src"),
        pytest.param(lambda: token_spans(np.zeros(4, np.uint8), np.array([0]), np.array([4]), np.array([1])), id="tokens-row-out-of-range"),
        pytest.param(lambda: token_spans(np.zeros(4, np.uint8), np.array([3]), np.array([1]), np.array([0])), id="tokens-end-before-start"),
    ],
)
def test_arguments_that_would_reach_past_an_array_are_refused(call) -> None:
    with pytest.raises((ValueError, IndexError)):
        call()


def test_word_spans_refuses_tokens_counted_for_other_rows() -> None:
    src = np.frombuffer(b"a, b. c!", dtype=np.uint8)  # three tokens that are not plain
    norm, offsets = np.frombuffer(b"abc", dtype=np.uint8), np.array([0, 1, 2, 3])
    args = (src, np.array([0]), np.array([len(src)]), np.array([0]), np.array([8]), np.array([0]), np.array([3]))
    assert word_spans(*args, np.array([0, 3]), norm, offsets)[1].tolist() == [0, 3, 6]
    with pytest.raises(ValueError, match="token_first"):
        word_spans(*args, np.array([0, 2]), norm, offsets[:3])
