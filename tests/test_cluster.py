"""dedup.cluster: first-seen representatives, never chained clusters."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.cluster import Assignment, FirstSeen, first_seen, with_copies


def arrays(pairs: list[tuple[int, int, float, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    left = np.array([p[0] for p in pairs], dtype=np.int64)
    right = np.array([p[1] for p in pairs], dtype=np.int64)
    jaccard = np.array([p[2] for p in pairs], dtype=np.float64)
    containment = np.array([p[3] for p in pairs], dtype=np.float64)
    return left, right, jaccard, containment


def reference_first_seen(n: int, pairs: list[tuple[int, int, float, float]]) -> list[int]:
    """The documented rule, plainly: in input order, each paragraph joins the earliest earlier
    representative it was verified against; one that joins none is a representative."""
    partners: dict[int, list[int]] = {}
    for i, j, _, _ in pairs:
        partners.setdefault(j, []).append(i)
    rep = list(range(n))
    for j in range(n):
        for i in sorted(partners.get(j, [])):
            if rep[i] == i:
                rep[j] = i
                break
    return rep


@st.composite
def verified_pairs(draw: st.DrawFn) -> tuple[int, list[tuple[int, int, float, float]]]:
    n = draw(st.integers(1, 25))
    candidates = [(i, j) for j in range(n) for i in range(j)]
    chosen = draw(st.lists(st.sampled_from(candidates), unique=True, max_size=60)) if candidates else []
    pairs = []
    for i, j in chosen:
        jaccard = draw(st.floats(0.4, 1.0))
        containment = draw(st.floats(jaccard, 1.0))
        pairs.append((i, j, jaccard, containment))
    return n, pairs


@settings(max_examples=200, deadline=None)
@given(verified_pairs(), st.randoms(use_true_random=False))
def test_first_seen_invariants(case: tuple[int, list[tuple[int, int, float, float]]], random: object) -> None:
    n, pairs = case
    by_pair = {(i, j): (jac, cont) for i, j, jac, cont in pairs}
    shuffled = list(pairs)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    result = first_seen(n, *arrays(shuffled))
    rep = result.rep.tolist()
    assert len(rep) == len(result.jaccard) == len(result.containment) == n
    assert rep == reference_first_seen(n, pairs)
    for i in range(n):
        assert rep[rep[i]] == rep[i], "a representative represents itself"
        assert rep[i] <= i, "the representative comes first in input order"
        if rep[i] == i:
            assert (result.jaccard[i], result.containment[i]) == (1.0, 1.0)
        else:
            # Every member was verified against its representative, and reports that pair's values.
            assert (rep[i], i) in by_pair
            assert (result.jaccard[i], result.containment[i]) == by_pair[(rep[i], i)]


def test_chains_are_not_followed() -> None:
    # A~B and B~C, but A!~C: C is not put with A.
    result = first_seen(3, *arrays([(0, 1, 0.6, 0.7), (1, 2, 0.6, 0.7)]))
    assert result.rep.tolist() == [0, 0, 2]
    assert result.jaccard.tolist() == [1.0, 0.6, 1.0]


def test_earliest_representative_wins() -> None:
    # 3 matches 1 (a representative) and 0; 0 comes first, whatever the similarities.
    pairs = [(1, 3, 0.99, 0.99), (0, 3, 0.41, 0.5), (0, 2, 0.7, 0.8)]
    result = first_seen(4, *arrays(pairs))
    assert result.rep.tolist() == [0, 1, 0, 0]
    assert result.jaccard.tolist() == [1.0, 1.0, 0.7, 0.41]
    assert result.containment.tolist() == [1.0, 1.0, 0.8, 0.5]


def test_member_of_a_cluster_cannot_represent_another() -> None:
    # 1 joined 0, so 2, which matches only 1, starts its own cluster.
    result = first_seen(3, *arrays([(0, 1, 0.9, 0.9), (1, 2, 0.9, 0.9), (0, 2, 0.2, 0.3)]))
    assert result.rep.tolist() == [0, 0, 0]
    result = first_seen(3, *arrays([(0, 1, 0.9, 0.9), (1, 2, 0.9, 0.9)]))
    assert result.rep.tolist() == [0, 0, 2]


def test_doc_example() -> None:
    a = first_seen(4, np.array([0, 1]), np.array([1, 2]), np.array([0.9, 0.8]), np.array([0.9, 0.9]))
    assert a.rep.tolist() == [0, 0, 2, 3]
    assert a.jaccard.tolist() == [1.0, 0.9, 1.0, 1.0]


@pytest.mark.parametrize("n", [pytest.param(0, id="nothing"), pytest.param(5, id="five")])
def test_no_pairs_everyone_represents_itself(n: int) -> None:
    empty = np.empty(0, dtype=np.int64)
    result = first_seen(n, empty, empty, np.empty(0), np.empty(0))
    assert result.rep.tolist() == list(range(n))
    assert result.jaccard.tolist() == [1.0] * n


@pytest.mark.parametrize(
    ("left", "right"),
    [pytest.param([1], [0], id="reversed"), pytest.param([2], [2], id="self-pair")],
)
def test_pairs_must_point_forwards(left: list[int], right: list[int]) -> None:
    with pytest.raises(ValueError):
        first_seen(3, np.array(left), np.array(right), np.array([0.5]), np.array([0.5]))


def test_with_copies_expands_distinct_texts_to_every_paragraph() -> None:
    # Distinct texts 0, 1, 2: text 1 joined text 0 at 0.8 / 0.9; text 2 is a representative.
    inner = Assignment(np.array([0, 0, 2]), np.array([1.0, 0.8, 1.0]), np.array([1.0, 0.9, 1.0]))
    # Paragraphs: t0 t1 t0 t2 t1 t2 (first occurrences at 0, 1, 3).
    canonical = np.array([0, 1, 0, 2, 1, 2])
    members = np.array([0, 1, 3])
    result = with_copies(inner, canonical, members)
    # A copy of a representative joins its first occurrence with similarity 1; a copy of a
    # member joins that member's representative with the member's similarity.
    assert result.rep.tolist() == [0, 0, 0, 3, 0, 3]
    assert result.jaccard.tolist() == [1.0, 0.8, 1.0, 1.0, 0.8, 1.0]
    assert result.containment.tolist() == [1.0, 0.9, 1.0, 1.0, 0.9, 1.0]


def test_with_copies_does_not_modify_the_inner_assignment() -> None:
    inner = Assignment(np.array([0, 0]), np.array([1.0, 0.5]), np.array([1.0, 0.6]))
    result = with_copies(inner, np.array([0, 1, 1]), np.array([0, 1]))
    result.jaccard[:] = 0.0
    assert inner.jaccard.tolist() == [1.0, 0.5]


def test_assignment_columns_must_agree() -> None:
    with pytest.raises(ValueError):
        Assignment(np.array([0, 1]), np.ones(2), np.ones(3))


@settings(max_examples=200, deadline=None)
@given(verified_pairs(), st.lists(st.integers(0, 25), max_size=6))
def test_first_seen_in_blocks_equals_all_at_once(case: tuple[int, list[tuple[int, int, float, float]]], cuts: list[int]) -> None:
    """Pairs fed a block of later paragraphs at a time, and dropped after, decide exactly as all
    of them at once."""
    n, pairs = case
    ordered = sorted(pairs, key=lambda p: (p[1], p[0]))
    whole = first_seen(n, *arrays(pairs))
    clustering = FirstSeen(n)
    bounds = sorted({0, n, *[min(c, n) for c in cuts]})
    for lo, hi in zip(bounds, bounds[1:]):
        block = [p for p in ordered if lo <= p[1] < hi]
        if block:
            clustering.add(*arrays(block))
    blocked = clustering.assignment()
    assert blocked.rep.tolist() == whole.rep.tolist() == reference_first_seen(n, pairs)
    assert blocked.jaccard.tolist() == whole.jaccard.tolist()
    assert blocked.containment.tolist() == whole.containment.tolist()


def test_first_seen_blocks_must_come_in_order() -> None:
    clustering = FirstSeen(4)
    clustering.add(*arrays([(0, 2, 0.9, 0.9)]))
    with pytest.raises(ValueError):
        clustering.add(*arrays([(0, 1, 0.9, 0.9)]))  # paragraph 1 was decided with the first block
    with pytest.raises(ValueError):
        clustering.add(*arrays([(0, 3, 0.9, 0.9), (1, 2, 0.9, 0.9)]))  # later paragraphs descending
    left, right, jaccard, _ = arrays([(0, 3, 0.9, 0.9)])
    with pytest.raises(ValueError):
        clustering.add(left, right, jaccard, np.ones(2))  # columns differ in length


def test_first_seen_blocks_refuse_pairs_out_of_range() -> None:
    with pytest.raises(IndexError):
        FirstSeen(3).add(*arrays([(0, 5, 0.9, 0.9)]))
