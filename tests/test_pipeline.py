"""dedup.pipeline: find_duplicates end to end, checked against a plain reference built on
datasketch and Python sets."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import replace
from itertools import combinations
from pathlib import Path

import datasketch
import pytest
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.documents import Document, DocumentReader, Skip
from dedup.normalization import normalize
from dedup.paragraphs import segment
from dedup.pipeline import DEFAULT_PAIR_MEMORY, PAIR_BYTES, Cluster, Config, Member, Result, find_duplicates
from dedup.shingling import ShingleSpec, shingles
from dedup.verify import similarity


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"threshold": 1.5}, id="threshold-above-1"),
        pytest.param({"threshold": 0}, id="threshold-0"),
        pytest.param({"threshold": -0.2}, id="threshold-negative"),
        pytest.param({"threshold": float("nan")}, id="threshold-nan"),
        pytest.param({"threshold": "0.5"}, id="threshold-string"),
        pytest.param({"num_perm": 0}, id="num_perm-0"),
        pytest.param({"num_perm": 1}, id="num_perm-1"),
        pytest.param({"num_perm": 4097}, id="num_perm-too-large"),
        pytest.param({"num_perm": 64.0}, id="num_perm-float"),
        pytest.param({"seed": -1}, id="seed-negative"),
        pytest.param({"seed": 2**32}, id="seed-too-large"),
        pytest.param({"min_words": -1}, id="min_words-negative"),
        pytest.param({"min_words": 2.5}, id="min_words-fractional"),
        pytest.param({"scope": "cross"}, id="scope-unknown"),
        pytest.param({"scope": "ALL"}, id="scope-case"),
        pytest.param({"shingle": "word:0"}, id="shingle-size-0"),
        pytest.param({"shingle": "foo:3"}, id="shingle-kind"),
        pytest.param({"shingle": "word"}, id="shingle-no-size"),
        pytest.param({"max_chars": 0}, id="max_chars-0"),
        pytest.param({"window": 0}, id="window-0"),
    ],
)
def test_config_rejects_bad_values(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        Config(**kwargs)


def test_config_parses_the_shingle_string() -> None:
    assert Config(shingle="char:5").shingle == ShingleSpec("char", 5)  # type: ignore[arg-type]
    assert Config(threshold=1).threshold == 1


@pytest.mark.parametrize("shingle", [pytest.param(3, id="int"), pytest.param(("word", 3), id="tuple")])
def test_config_rejects_a_shingle_that_is_not_a_spec(shingle: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        Config(shingle=shingle)  # type: ignore[arg-type]


def index_of(result: Result) -> dict[int, int]:
    """Paragraph index -> cluster id."""
    where: dict[int, int] = {}
    for cluster in result.clusters:
        for member in cluster.members:
            assert member.index not in where, "a paragraph is in one cluster at most"
            where[member.index] = cluster.id
    return where


def check_clusters(result: Result, config: Config) -> None:
    """What every report relies on: numbering, order, representatives, exact similarities."""
    assert [c.id for c in result.clusters] == list(range(1, len(result.clusters) + 1))
    order = [(-c.size, c.members[0].index) for c in result.clusters]
    assert order == sorted(order), "clusters come by size, then by first appearance"
    index_of(result)
    for cluster in result.clusters:
        rep = cluster.representative
        assert cluster.size >= 2
        assert (rep.jaccard, rep.containment) == (1.0, 1.0)
        indices = [m.index for m in cluster.members]
        assert indices == sorted(indices) and len(set(indices)) == len(indices)
        for member in cluster.members[1:]:
            exact = similarity(rep.text, member.text, config.shingle)
            assert member.jaccard >= config.threshold
            assert (member.jaccard, member.containment) == (exact.jaccard, exact.containment)
    assert result.stats.clusters == len(result.clusters)
    assert result.stats.duplicate_paragraphs == sum(c.size - 1 for c in result.clusters)


WORDS = "soldiers are on standby for armed police after officers stood down the a crisis été ﬁnal".split()


@st.composite
def planted_corpus(draw: st.DrawFn) -> dict[str, str]:
    """Documents built from a small pool of paragraphs, with exact copies and copies that differ
    only in case, punctuation, apostrophes and spacing planted across and within documents."""
    pool = draw(st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join), min_size=1, max_size=6))
    variants = [
        lambda p: p,
        lambda p: p.upper(),
        lambda p: f"  {p.replace(' ', '  ')}!",
        lambda p: "“" + p.replace("the", "the’s") + "”",
        lambda p: p.replace("the", "the's"),
    ]
    documents = {}
    for d in range(draw(st.integers(1, 4))):
        paragraphs = draw(
            st.lists(
                st.tuples(st.sampled_from(pool), st.sampled_from(variants)).map(lambda pv: pv[1](pv[0]))
                | st.text(st.characters(exclude_characters="\r\n\f"), max_size=30),
                max_size=8,
            )
        )
        documents[f"doc{d}"] = "\n\n".join(paragraphs)
    return documents


@settings(max_examples=60, deadline=None)
@given(
    planted_corpus(),
    st.sampled_from([0.3, 0.4, 0.7, 1.0]),
    st.sampled_from(["word:1", "word:3", "char:4"]),
    st.sampled_from([32, 128]),
)
def test_same_normalized_text_always_clusters_together(
    documents: dict[str, str], threshold: float, shingle: str, num_perm: int
) -> None:
    config = Config(threshold=threshold, shingle=shingle, num_perm=num_perm)  # type: ignore[arg-type]
    result = find_duplicates(documents, config)
    check_clusters(result, config)
    where = index_of(result)
    groups: dict[str, list[int]] = defaultdict(list)
    index = 0
    for name, text in documents.items():
        for paragraph in segment(text, name):
            key = normalize(paragraph.text)
            if key:
                groups[key].append(index)
            index += 1
    assert result.stats.paragraphs == index
    for members in groups.values():
        if len(members) > 1:
            assert all(i in where for i in members)
            assert len({where[i] for i in members}) == 1
    # Deterministic: the same input gives the same clusters and stats.
    again = find_duplicates(documents, config)
    assert again.clusters == result.clusters
    assert again.stats == result.stats


@settings(max_examples=30, deadline=None)
@given(planted_corpus())
def test_colliding_text_hashes_never_merge_different_texts(documents: dict[str, str]) -> None:
    """Exact copies are grouped by a 64-bit hash of their text, confirmed byte for byte: with
    every hash made equal, the result must not change."""
    import numpy as np

    from dedup import _kernel

    config = Config(threshold=1.0)
    expected = find_duplicates(documents, config)
    real = _kernel.text_hashes
    _kernel.text_hashes = lambda data, offsets: np.zeros(len(offsets) - 1, dtype=np.uint64)
    try:
        colliding = find_duplicates(documents, config)
    finally:
        _kernel.text_hashes = real
    assert colliding.clusters == expected.clusters
    assert colliding.stats == expected.stats


def reference_clusters(documents: dict[str, str], config: Config) -> list[list[tuple[str, int, float, float]]]:
    """The pipeline written plainly: datasketch MinHash LSH for candidates, Python sets for the
    exact check, first-seen representatives; exact copies join their first occurrence."""
    spec = config.shingle
    paragraphs = [p for name, text in documents.items() for p in segment(text, name)]
    normalized = [normalize(p.text) for p in paragraphs]
    eligible = [i for i, t in enumerate(normalized) if t and len(t.split(" ")) >= config.min_words]
    first_of: dict[str, int] = {}
    for i in eligible:
        first_of.setdefault(normalized[i], i)
    firsts = sorted(first_of.values())
    lsh = datasketch.MinHashLSH(threshold=config.threshold, num_perm=config.num_perm, weights=(0.2, 0.8))
    sketches = {}
    for i in firsts:
        m = datasketch.MinHash(num_perm=config.num_perm, seed=config.seed, hashfunc=xxhash.xxh32_intdigest)
        for s in shingles(paragraphs[i].text, spec.kind, spec.n):
            m.update(s)
        lsh.insert(i, m)
        sketches[i] = m
    sets = {i: set(shingles(paragraphs[i].text, spec.kind, spec.n)) for i in firsts}
    verified: dict[int, list[tuple[int, float, float]]] = defaultdict(list)
    for i, j in combinations(firsts, 2):
        if j in lsh.query(sketches[i]):
            inter = len(sets[i] & sets[j])
            jaccard = inter / len(sets[i] | sets[j])
            if jaccard >= config.threshold:
                verified[j].append((i, jaccard, inter / min(len(sets[i]), len(sets[j]))))
    rep = {i: (i, 1.0, 1.0) for i in firsts}
    for j in firsts:
        for i, jaccard, containment in sorted(verified[j]):
            if rep[i][0] == i:
                rep[j] = (i, jaccard, containment)
                break
    members: dict[int, list[tuple[int, float, float]]] = defaultdict(list)
    for k in eligible:
        first = first_of[normalized[k]]
        r, jaccard, containment = rep[first]
        if k != first and r == first:
            jaccard = containment = 1.0
        if k != r:
            members[r].append((k, jaccard, containment))
    clusters = []
    for r, ms in sorted(members.items(), key=lambda item: (-len(item[1]), item[0])):
        rows = [(r, 1.0, 1.0)] + ms
        if config.scope == "cross-doc" and len({paragraphs[k].doc for k, _, _ in rows}) < 2:
            continue
        clusters.append([(paragraphs[k].doc, paragraphs[k].number, jaccard, containment) for k, jaccard, containment in rows])
    return clusters


def near_duplicate_corpus(seed: int) -> dict[str, str]:
    rng = random.Random(seed)
    vocabulary = [f"w{k}" for k in range(40)] + ["The", "force’s", "été", "—", "Soldiers!"]
    bases = [[rng.choice(vocabulary) for _ in range(rng.randint(3, 25))] for _ in range(8)]
    documents = {}
    for d in range(6):
        paragraphs = []
        for _ in range(rng.randint(3, 10)):
            words = list(rng.choice(bases))
            for _ in range(rng.choice([0, 0, 1, 2, 4, 8])):
                k = rng.randrange(len(words))
                if rng.random() < 0.5:
                    words[k] = rng.choice(vocabulary)
                else:
                    words.insert(k, rng.choice(vocabulary))
            paragraphs.append(" ".join(words))
        documents[f"doc{d}.txt"] = "\n\n".join(paragraphs) + "\n"
    return documents


@pytest.mark.parametrize(
    "config",
    [
        pytest.param(Config(), id="defaults"),
        pytest.param(Config(threshold=0.6, shingle=ShingleSpec("word", 2), num_perm=64, seed=7), id="word-2"),
        pytest.param(Config(threshold=0.3, shingle=ShingleSpec("char", 5)), id="char-5"),
        pytest.param(Config(min_words=10), id="min-words"),
        pytest.param(Config(scope="cross-doc"), id="cross-doc"),
    ],
)
@pytest.mark.parametrize("seed", [pytest.param(s, id=f"corpus{s}") for s in (1, 2, 3)])
def test_clusters_equal_the_datasketch_reference(config: Config, seed: int) -> None:
    documents = near_duplicate_corpus(seed)
    result = find_duplicates(documents, config)
    check_clusters(result, config)
    got = [[(m.doc, m.paragraph.number, m.jaccard, m.containment) for m in c.members] for c in result.clusters]
    expected = reference_clusters(documents, config)
    assert expected, "the corpus must hold near-duplicates for the comparison to mean anything"
    assert got == expected


def test_doc_example() -> None:
    result = find_duplicates(
        {
            "a": "Soldiers are on standby for armed police.\n\nSomething else entirely here.",
            "b": "Soldiers are also on standby for armed police after scores of officers stood down.",
            "c": "SOLDIERS are on standby for armed police!",
        }
    )
    assert [[(m.doc, m.line, m.jaccard) for m in c.members] for c in result.clusters] == [[("a", 1, 1.0), ("c", 1, 1.0)]]


def test_min_words_leaves_short_paragraphs_out_and_counts_them() -> None:
    documents = {
        "a": "Too short.\n\nThis paragraph is long enough to be matched.\n\nOne\n",
        "b": "Too short!\n\nThis paragraph is long enough to be matched.\n\nOne",
    }
    result = find_duplicates(documents, Config(min_words=3))
    assert [[m.text for m in c.members] for c in result.clusters] == [
        ["This paragraph is long enough to be matched."] * 2,
    ]
    assert (result.stats.paragraphs, result.stats.short, result.stats.matched, result.stats.empty) == (6, 4, 2, 0)
    # At the boundary a paragraph of exactly min_words words takes part.
    result = find_duplicates(documents, Config(min_words=2))
    assert sorted(c.members[0].text for c in result.clusters) == ["This paragraph is long enough to be matched.", "Too short."]
    assert result.stats.short == 2
    result = find_duplicates(documents, Config(min_words=0))
    assert (len(result.clusters), result.stats.short) == (3, 0)


def test_paragraphs_of_symbols_only_match_their_exact_copies_only() -> None:
    documents = {"a": "...\n\n— — —\n\nReal text in here.\n\n!!!", "b": "...\n\n“”\n\n—  —\t—\n\n!!"}
    result = find_duplicates(documents)
    clusters = sorted([m.paragraph.text for m in c.members] for c in result.clusters)
    # Whitespace aside, the text must be the same: "!!" is not "!!!", and "“”" is alone.
    assert clusters == [["...", "..."], ["— — —", "—  —\t—"]]
    assert (result.stats.paragraphs, result.stats.empty, result.stats.matched) == (8, 0, 8)


@given(st.text(alphabet=st.sampled_from("-*=_.~#—–•·!? \t"), min_size=1, max_size=12).filter(lambda t: t.strip()))
@settings(max_examples=60, deadline=None)
def test_a_symbol_line_never_matches_a_paragraph_of_words(symbols: str) -> None:
    documents = {"a": f"{symbols}\n\nThe quick brown fox jumps over the dog.", "b": f"the quick brown fox jumps over the dog\n\n{symbols}"}
    result = find_duplicates(documents)
    pairs = sorted(sorted(m.paragraph.number for m in c.members) for c in result.clusters)
    assert pairs == [[1, 2], [1, 2]]  # the sentences, and the symbols
    for c in result.clusters:
        texts = {m.paragraph.text.strip() == symbols.strip() for m in c.members}
        assert len(texts) == 1  # a cluster is all symbols or all words


def test_cross_doc_scope_keeps_only_clusters_spanning_documents() -> None:
    documents = {
        "a": "Repeated within one document only.\n\nShared between two documents here.\n\nRepeated within one document only.",
        "b": "Shared between two documents here.",
    }
    everything = find_duplicates(documents, Config(scope="all"))
    assert sorted(c.representative.text for c in everything.clusters) == [
        "Repeated within one document only.",
        "Shared between two documents here.",
    ]
    cross = find_duplicates(documents, Config(scope="cross-doc"))
    assert [(c.id, c.documents, [m.text for m in c.members]) for c in cross.clusters] == [
        (1, ["a", "b"], ["Shared between two documents here."] * 2)
    ]
    assert cross.stats.clusters == 1
    assert cross.stats.duplicate_paragraphs == 1


def test_clusters_come_largest_first() -> None:
    documents = {
        "a": "Pair text one two three.\n\nTriple text four five six.",
        "b": "Triple text four five six.\n\nPair text one two three.",
        "c": "Triple text four five six.",
    }
    result = find_duplicates(documents)
    assert [(c.size, c.representative.text) for c in result.clusters] == [
        (3, "Triple text four five six."),
        (2, "Pair text one two three."),
    ]


def test_positions_and_per_document_stats() -> None:
    documents = {
        "a": "Intro line.\r\n\r\n  Shared paragraph across the documents.\r\n",
        "b": "Other.\n\nShared paragraph across the documents!",
    }
    result = find_duplicates(documents)
    [cluster] = result.clusters
    rep, copy = cluster.members
    assert (rep.doc, rep.paragraph.number, rep.line, rep.paragraph.start, rep.paragraph.end) == ("a", 2, 3, 15, 55)
    assert rep.text == documents["a"][15:55] == "  Shared paragraph across the documents."
    assert (copy.doc, copy.paragraph.number, copy.line, copy.index) == ("b", 2, 3, 3)
    assert result.stats.per_document == {"a": (2, 0), "b": (2, 1)}
    assert result.stats.as_dict()["per_document"]["b"] == {"paragraphs": 2, "duplicates": 1, "duplicate_share": 0.5}


def test_too_long_paragraphs_are_left_out_and_reported() -> None:
    long = "word " * 30
    documents = {"a": f"{long}\n\nShort shared text here.", "b": f"{long}\n\nShort shared text here."}
    result = find_duplicates(documents, Config(max_chars=100))
    assert [c.representative.text for c in result.clusters] == ["Short shared text here."]
    assert result.stats.too_long == 2
    assert [(p.doc, p.number) for p in result.too_long] == [("a", 1), ("b", 1)]


def test_every_input_form_gives_the_same_result(tmp_path: Path) -> None:
    documents = near_duplicate_corpus(4)
    for name, text in documents.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    reader = DocumentReader([str(tmp_path / name) for name in documents])
    forms = [
        documents,
        list(documents.items()),
        (pair for pair in documents.items()),
        [Document(name, text) for name, text in documents.items()],
    ]
    expected = find_duplicates(documents).clusters
    assert expected
    for form in forms:
        assert find_duplicates(form).clusters == expected  # type: ignore[arg-type]
    from_files = find_duplicates(reader).clusters
    assert [[(Path(m.doc).name, m.index, m.jaccard) for m in c.members] for c in from_files] == [
        [(m.doc, m.index, m.jaccard) for m in c.members] for c in expected
    ]


def test_rejects_documents_that_are_not_pairs() -> None:
    with pytest.raises(TypeError):
        find_duplicates(["just", "strings"])  # type: ignore[arg-type]


def test_no_documents() -> None:
    result = find_duplicates({})
    assert result.clusters == []
    assert (result.stats.documents, result.stats.paragraphs, result.stats.matched) == (0, 0, 0)


def test_skipped_inputs_are_passed_through_and_counted() -> None:
    skips = [Skip("bad.txt", "binary file (it holds NUL bytes)")]
    result = find_duplicates({"a": "text"}, skipped=skips)
    assert result.skipped == skips
    assert result.stats.skipped_inputs == 1


def test_lone_surrogates_from_json_do_not_break_a_run() -> None:
    documents = {"a": "bad \ud800 text but a real paragraph\n\nshared", "b": "bad \ud800 text but a real paragraph"}
    [cluster] = find_duplicates(documents, Config(shingle=ShingleSpec("word", 1))).clusters
    assert [m.doc for m in cluster.members] == ["a", "b"]


def test_cluster_needs_two_members() -> None:
    from dedup.paragraphs import Paragraph

    member = Member(Paragraph("a", 1, 1, 0, 1, "x"), 0, 1.0, 1.0)
    with pytest.raises(ValueError):
        Cluster(1, (member,))


def test_documents_with_the_same_name_add_up_in_the_stats() -> None:
    result = find_duplicates([("x", "a b c d\n\nother text"), ("x", "a b c d"), ("y", "zzz")])
    assert result.stats.per_document == {"x": (3, 1), "y": (1, 0)}
    assert result.stats.paragraphs == 4


def test_a_paragraph_over_max_chars_is_too_long_whatever_it_holds() -> None:
    result = find_duplicates([("a", "!" * 20 + "\n\nfine words\n\n" + "x " * 20)], Config(max_chars=15))
    stats = result.stats
    assert (stats.too_long, stats.empty, stats.matched) == (2, 0, 1)
    assert [p.line for p in result.too_long] == [1, 5]


# ---------------------------------------------------------------------------------------------
# The memory budget for candidate pairs: blocks change how much is held at once, never the answer.


@pytest.mark.parametrize(
    "pair_memory",
    [pytest.param(0, id="zero"), pytest.param(PAIR_BYTES - 1, id="less-than-a-pair"), pytest.param(1e9, id="float"), pytest.param("1GB", id="string")],
)
def test_config_rejects_a_pair_memory_without_room_for_a_pair(pair_memory: object) -> None:
    with pytest.raises(ValueError):
        Config(pair_memory=pair_memory)  # type: ignore[arg-type]


def test_pairs_per_block_follow_the_budget() -> None:
    assert Config(pair_memory=PAIR_BYTES).pairs_per_block == 1
    assert Config(pair_memory=1000 * PAIR_BYTES + 5).pairs_per_block == 1000
    assert Config().pair_memory == DEFAULT_PAIR_MEMORY


def templated_corpus(size: int) -> dict[str, str]:
    """One sentence with a varying number: every paragraph a near-duplicate of every other, so
    LSH buckets are far larger than the window and candidate pairs far outnumber paragraphs."""
    texts = [f"The committee approved the annual budget for the regional office with id {k}." for k in range(size)]
    return {f"doc{d}.txt": "\n\n".join(texts[d : d + 50]) for d in range(0, size, 50)}


def small_vocabulary_corpus(size: int, seed: int) -> dict[str, str]:
    """Words from a vocabulary of 6, lengths from 1 to 60: exact copies among the short, many
    shared shingles among the long, candidates of every similarity."""
    rng = random.Random(seed)
    words = "river stone light house green walk".split()
    texts = [" ".join(rng.choice(words) for _ in range(rng.choice([1, 2, 3, 5, 8, 13, 30, 60]))) for _ in range(size)]
    return {f"doc{d}.txt": "\n\n".join(texts[d : d + 40]) for d in range(0, size, 40)}


def run_counting_blocks(documents: dict[str, str], config: Config, monkeypatch: pytest.MonkeyPatch) -> tuple[Result, int]:
    """``find_duplicates``, and how many blocks of candidate pairs it went through."""
    from dedup.lsh import CandidatePairs

    real = CandidatePairs.blocks
    blocks = []

    def counted(self: CandidatePairs, max_pairs: int):  # type: ignore[no-untyped-def]
        for block in real(self, max_pairs):
            blocks.append(block)
            yield block

    monkeypatch.setattr(CandidatePairs, "blocks", counted)
    try:
        return find_duplicates(documents, config), len(blocks)
    finally:
        monkeypatch.setattr(CandidatePairs, "blocks", real)


@pytest.mark.parametrize(
    ("documents", "config"),
    [
        pytest.param(templated_corpus(1500), Config(), id="templated"),
        pytest.param(templated_corpus(600), Config(threshold=0.8, window=8), id="templated-window-8"),
        pytest.param(small_vocabulary_corpus(1500, 1), Config(), id="vocabulary-6"),
        pytest.param(small_vocabulary_corpus(800, 2), Config(threshold=0.3, shingle=ShingleSpec("word", 2), num_perm=64), id="vocabulary-6-word-2"),
        pytest.param(near_duplicate_corpus(1), Config(scope="cross-doc"), id="near-duplicates-cross-doc"),
    ],
)
@pytest.mark.parametrize("pairs_per_block", [pytest.param(1, id="one-pair"), pytest.param(37, id="37-pairs"), pytest.param(5000, id="5000-pairs")])
def test_a_pair_budget_changes_nothing_but_the_blocks(
    documents: dict[str, str], config: Config, pairs_per_block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole, whole_blocks = run_counting_blocks(documents, config, monkeypatch)
    assert whole_blocks == 1, "the default budget holds every pair of these at once"
    assert whole.stats.candidate_pairs > 30
    bounded, blocks = run_counting_blocks(documents, replace(config, pair_memory=pairs_per_block * PAIR_BYTES), monkeypatch)
    assert blocks > 1 if pairs_per_block < whole.stats.candidate_pairs else blocks == 1
    check_clusters(bounded, config)
    assert bounded.clusters == whole.clusters
    assert bounded.stats == whole.stats


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"corpus{s}") for s in (1, 2, 3)])
def test_one_pair_at_a_time_equals_the_datasketch_reference(seed: int) -> None:
    documents = near_duplicate_corpus(seed)
    config = Config(pair_memory=PAIR_BYTES)
    result = find_duplicates(documents, config)
    got = [[(m.doc, m.paragraph.number, m.jaccard, m.containment) for m in c.members] for c in result.clusters]
    assert got == reference_clusters(documents, Config())


def test_stats_count_every_candidate_and_verified_pair_whatever_the_budget() -> None:
    """The counts are those of every pair at once: LSH's pairs of all the signatures, and those
    of them that verification keeps."""
    import numpy as np

    from dedup.lsh import BandedLSH
    from dedup.normalization import normalize_batch
    from dedup.signatures import minhash_signatures
    from dedup.verify import verify

    documents = templated_corpus(300)
    texts = [p.text for name, text in documents.items() for p in segment(text, name)]
    all_pairs = BandedLSH.for_threshold(0.4, 128).candidate_pairs(minhash_signatures(texts))
    all_verified = verify(normalize_batch(texts), ShingleSpec(), all_pairs, 0.4)
    assert len(all_pairs) > 20 * len(texts)
    for pair_memory in (10 * PAIR_BYTES, DEFAULT_PAIR_MEMORY):
        result = find_duplicates(documents, Config(pair_memory=pair_memory))
        assert result.stats.matched == len(texts) == 300
        assert result.stats.candidate_pairs == len(all_pairs)
        assert result.stats.verified_pairs == len(all_verified) > 0
        assert np.array_equal(np.unique(all_verified.right), np.arange(1, 300))
        [cluster] = result.clusters
        assert cluster.size == 300
