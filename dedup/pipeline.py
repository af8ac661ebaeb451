"""The report pipeline, stage by stage: documents → paragraphs → normalized text → signatures →
LSH candidates → verified pairs → clusters.

Candidate pairs are the one part of a run whose size does not follow the input's: a paragraph
can pair with up to ``bands x window`` others (about 2,000 at the defaults), and a corpus of
near-identical paragraphs (one template with a varying number) makes a hundred million pairs
from a million paragraphs. So the pairs never exist all at once: LSH counts them, then writes
them out for a range of paragraphs at a time, within ``Config.pair_memory`` bytes; each block is
verified, and its verified pairs go to the first-seen clustering, which needs nothing of them
afterwards. Nothing about this is approximate: every candidate is verified, the clusters and
the counts of candidate and verified pairs are those of all the pairs taken at once, whatever
the budget. A block holds at least one paragraph's pairs, so a budget smaller than one
paragraph's (at most ``bands x window`` pairs) is exceeded by that much.

The rest of a run's memory grows with its input, not with the pairs: the documents and their
normalized text, the band keys and buckets (at most 9 bytes per band per distinct paragraph,
280 MB for a million at the default 31 bands), and the shingle sets of the paragraphs in any
pair (8 bytes a shingle, twice that while they are made).

>>> result = find_duplicates({
...     "a": "Soldiers are on standby for armed police.\\n\\nSomething else entirely here.",
...     "b": "Soldiers are also on standby for armed police after scores of officers stood down.",
...     "c": "SOLDIERS are on standby for armed police!",
... })
>>> [[(m.doc, m.line, m.jaccard) for m in c.members] for c in result.clusters]
[[('a', 1, 1.0), ('c', 1, 1.0)]]
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from dedup.cluster import Assignment, FirstSeen, with_copies
from dedup.config import DEFAULT_MAX_CHARS, DEFAULT_PAIR_MEMORY, DEFAULT_THRESHOLD, PAIR_BYTES, Config
from dedup.documents import Document, Skip, as_documents
from dedup.lsh import BandedLSH
from dedup.matching import left_out, prepare, verified_blocks
from dedup.paragraphs import Paragraph, ParagraphTable
from dedup.reuse import ReuseConfig, ReuseLink, reuse_links
from dedup.signatures import permutations
from dedup.verify import ShingleSets

__all__ = [
    "Config",
    "Member",
    "Cluster",
    "Stats",
    "Result",
    "find_duplicates",
    "Pair",
    "PairEnd",
    "ParagraphSource",
    "ClusterBuilder",
    "Grouped",
    "build_clusters",
    "build_pairs",
    "collector_paused",
    "left_out",
    "STAGES",
    "DEFAULT_THRESHOLD",
    "DEFAULT_MAX_CHARS",
    "DEFAULT_PAIR_MEMORY",
    "PAIR_BYTES",
]

STAGES = ("read", "segment", "normalize", "signatures", "lsh", "verify", "cluster", "reuse", "output")


@dataclass(frozen=True)
class Member:
    """A paragraph in a cluster, with its exact similarity to the cluster's representative."""

    paragraph: Paragraph
    index: int  # position in input order, over all paragraphs of the run
    jaccard: float
    containment: float

    @property
    def doc(self) -> str:
        return self.paragraph.doc

    @property
    def line(self) -> int:
        return self.paragraph.line

    @property
    def text(self) -> str:
        return self.paragraph.text


@dataclass(frozen=True)
class Cluster:
    """Paragraphs that repeat one text. ``members[0]`` is the representative (its first
    occurrence in input order); every other member is at or above the threshold against it."""

    id: int
    members: tuple[Member, ...]

    def __post_init__(self) -> None:
        if len(self.members) < 2:
            raise ValueError("a cluster has at least two members")

    @property
    def representative(self) -> Member:
        return self.members[0]

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def documents(self) -> list[str]:
        """Documents the cluster spans, in order of first appearance."""
        return list(dict.fromkeys(m.doc for m in self.members))


@dataclass(frozen=True)
class Stats:
    documents: int
    paragraphs: int
    matched: int  # paragraphs that took part in matching
    short: int  # left out by min_words
    empty: int  # nothing left after normalization
    too_long: int  # left out by max_chars
    skipped_inputs: int
    clusters: int
    duplicate_paragraphs: int  # cluster members other than representatives
    candidate_pairs: int  # pairs LSH proposed, every one of them verified
    verified_pairs: int  # of those, the pairs at or above the threshold
    per_document: Mapping[str, tuple[int, int]]  # name -> (paragraphs, duplicate paragraphs)

    def as_dict(self) -> dict[str, object]:
        return {
            "documents": self.documents,
            "paragraphs": self.paragraphs,
            "matched_paragraphs": self.matched,
            "short_paragraphs": self.short,
            "empty_paragraphs": self.empty,
            "too_long_paragraphs": self.too_long,
            "skipped_inputs": self.skipped_inputs,
            "clusters": self.clusters,
            "duplicate_paragraphs": self.duplicate_paragraphs,
            "candidate_pairs": self.candidate_pairs,
            "verified_pairs": self.verified_pairs,
            "per_document": {
                name: {"paragraphs": total, "duplicates": dups, "duplicate_share": round(dups / total, 4) if total else 0.0}
                for name, (total, dups) in self.per_document.items()
            },
        }


@dataclass(frozen=True)
class PairEnd:
    """One paragraph of a verified pair, and the cluster it is in (``None``: in none)."""

    paragraph: Paragraph
    cluster: int | None


@dataclass(frozen=True)
class Pair:
    """A verified pair: ``a`` comes first in input order."""

    a: PairEnd
    b: PairEnd
    jaccard: float
    containment: float


class ParagraphSource(Protocol):
    """What building clusters and pairs needs of a run's paragraphs, whichever engine holds
    them: :class:`~dedup.paragraphs.ParagraphTable` in one process, the Ray engine's table of
    shards, which reads a paragraph from its file only when it is asked for."""

    @property
    def docs(self) -> list[str]:
        """Document names, in input order."""

    @property
    def doc(self) -> np.ndarray:
        """Each paragraph's document, a position in :attr:`docs`."""

    def paragraphs(self, indices: np.ndarray) -> list[Paragraph]:
        """The paragraphs at ``indices`` (input order numbers), in that order."""


@dataclass(frozen=True)
class Grouped:
    """What :meth:`ClusterBuilder.build` makes: the clusters, each document's paragraphs and
    duplicates (:func:`per_document_counts`), the verified pairs across clusters, and every
    verified pair when they were kept."""

    clusters: list[Cluster]
    per_document: dict[str, tuple[int, int]]
    also: list[Pair]
    pairs: list[Pair] | None


class ClusterBuilder:
    """The report's last stage, for every engine: verified pairs in, clusters and pairs out.

    Pairs come in blocks (:meth:`add`), between distinct texts (positions among the run's
    ``firsts``), in input order of their later end, and are clustered first-seen as they come;
    a pair whose ends already joined different representatives is kept for :attr:`Grouped.also`,
    and with ``keep_pairs`` every pair is kept for :attr:`Grouped.pairs`. Exact copies, grouped
    before matching, join their first occurrence's cluster in :meth:`assignment`.
    """

    def __init__(self, distinct: int, keep_pairs: bool = False) -> None:
        self._first_seen = FirstSeen(distinct)
        self.across: list[tuple[np.ndarray, ...]] = []  # pairs whose ends joined different representatives
        self.kept: list[tuple[np.ndarray, ...]] | None = [] if keep_pairs else None

    def add(self, left: np.ndarray, right: np.ndarray, jaccard: np.ndarray, containment: np.ndarray) -> None:
        self._first_seen.add(left, right, jaccard, containment)
        # Both ends of a block's pairs are decided once it is added.
        reps = self._first_seen.assignment().rep
        apart = reps[left] != reps[right]
        self.across.append((left[apart], right[apart], jaccard[apart], containment[apart]))
        if self.kept is not None:
            self.kept.append((left, right, jaccard, containment))

    def assignment(self, canonical: np.ndarray, firsts: np.ndarray) -> Assignment:
        """Every matched paragraph's representative: the distinct texts' first-seen clusters,
        with each exact copy joining its first occurrence's (``canonical``: the position in
        ``firsts`` of each matched paragraph's text)."""
        return with_copies(self._first_seen.assignment(), canonical, firsts)

    def shown(self, rows: np.ndarray, canonical: np.ndarray, firsts: np.ndarray, assignment: Assignment) -> np.ndarray:
        """The paragraphs :meth:`build` will ask ``table`` for (with repeats), so that a table
        that reads them from files can read them all in one round first."""
        joined = assignment.rep != rows
        parts = [rows[joined], assignment.rep[joined]]
        parts += [firsts[ends] for block in self.across + (self.kept or []) for ends in block[:2]]
        if self.kept is not None:
            parts.append(rows[firsts[canonical] != rows])
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)

    def build(self, table: ParagraphSource, rows: np.ndarray, canonical: np.ndarray, firsts: np.ndarray, assignment: Assignment, config: Config) -> Grouped:
        """The clusters of ``assignment`` (from :meth:`assignment`) and the pairs, as objects.
        ``rows``: the matched paragraphs, input order numbers."""
        clusters = build_clusters(table, rows, assignment, config)
        cluster_of = np.full(len(table.doc), -1, dtype=np.int64)
        for cluster in clusters:
            cluster_of[[m.index for m in cluster.members]] = cluster.id
        also = build_pairs(table, firsts, self.across, cluster_of)
        pairs = None
        if self.kept is not None:
            # Exact copies were grouped before matching: each is paired with its first occurrence.
            first_row = firsts[canonical]
            copies = np.flatnonzero(first_row != rows)
            ones = np.ones(len(copies))
            pairs = build_pairs(table, firsts, self.kept, cluster_of, (first_row[copies], rows[copies], ones, ones))
        return Grouped(clusters, per_document_counts(table, clusters), also, pairs)


def per_document_counts(table: ParagraphSource, clusters: list[Cluster]) -> dict[str, tuple[int, int]]:
    """Each document's paragraphs and duplicate paragraphs (cluster members other than the
    representative), by name; names can repeat (the same id in two JSON Lines files), and
    their counts add up. ``table`` has ``doc`` (each paragraph's document) and ``docs``."""
    per_doc_total = np.bincount(table.doc, minlength=len(table.docs))
    duplicates = np.fromiter((m.index for c in clusters for m in c.members[1:]), dtype=np.int64)
    per_doc_dups = np.bincount(table.doc[duplicates], minlength=len(table.docs))
    per_document: dict[str, tuple[int, int]] = {}
    for name, total, dups in zip(table.docs, per_doc_total.tolist(), per_doc_dups.tolist()):
        before = per_document.get(name, (0, 0))
        per_document[name] = (before[0] + total, before[1] + dups)
    return per_document


@dataclass
class Result:
    """What a run found. ``also`` lists the verified pairs whose two paragraphs are not in one
    cluster (each joined another representative first): no verified pair goes unreported.
    ``pairs`` holds every verified pair when they were asked for; ``reuse``, the reused
    paragraphs (:mod:`dedup.reuse`)."""

    clusters: list[Cluster]
    stats: Stats
    config: Config
    skipped: list[Skip] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    too_long: list[Paragraph] = field(default_factory=list)  # left out of matching by max_chars
    also: list[Pair] = field(default_factory=list)
    pairs: list[Pair] | None = None
    reuse: list[ReuseLink] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)  # what was read, as the caller names it


class Timer:
    """Wall time per stage, for ``--profile``; ``on_stage``, if given, is told each stage's name
    as it starts (for a progress display)."""

    def __init__(self, on_stage: Callable[[str], None] | None = None) -> None:
        self.seconds: dict[str, float] = {stage: 0.0 for stage in STAGES}
        self.on_stage = on_stage

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self.on_stage is not None:
            self.on_stage(name)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - start


def _timed_documents(documents: Iterable[Document], timer: Timer) -> Iterator[Document]:
    iterator = iter(documents)
    clock, seconds = time.perf_counter, timer.seconds
    while True:
        start = clock()
        doc = next(iterator, None)
        seconds["read"] += clock() - start
        if doc is None:
            return
        yield doc


def find_duplicates(
    documents: Mapping[str, str] | Iterable[tuple[str, str]] | Iterable[Document],
    config: Config | None = None,
    *,
    skipped: list[Skip] | None = None,
    timer: Timer | None = None,
    on_document: Callable[[Document], None] | None = None,
    keep_pairs: bool = False,
) -> Result:
    """Find near-duplicate paragraphs in ``documents``.

    ``documents`` is a mapping of name to text, an iterable of ``(name, text)`` pairs, or
    :class:`~dedup.documents.Document` objects (such as a :class:`~dedup.documents.DocumentReader`
    yields). Returns the clusters, in order of size and then of first appearance, with stats,
    the verified pairs across clusters, the reused paragraphs (with ``config.reuse``), and, with
    ``keep_pairs``, every verified pair (an exact copy is paired with its first occurrence).
    """
    config = config or Config()
    timer = timer or Timer()
    from dedup import _kernel

    names: list[str] = []
    texts: list[str] = []
    encoded: list[bytes | None] = []
    for doc in _timed_documents(as_documents(documents), timer):
        names.append(doc.name)
        texts.append(doc.text)
        encoded.append(doc.utf8)
        if on_document is not None:
            on_document(doc)
    with timer.stage("segment"):
        table = ParagraphTable(names, texts, encoded)
        del names, encoded
        if not config.reuse:
            del texts  # reuse maps its spans back onto the texts
    n = len(table)

    with timer.stage("normalize"):
        # Exact copies are settled here; only distinct texts go on to hashing and LSH.
        prepared = prepare(table, config)
        batch, rows, firsts, canonical = prepared.batch, prepared.rows, prepared.firsts, prepared.canonical
        too_long, empty, short = prepared.too_long, prepared.empty, prepared.short

    lsh = BandedLSH.for_threshold(config.threshold, config.num_perm, config.window)
    with timer.stage("signatures"):
        a, b = permutations(config.num_perm, config.seed)
        keys = _kernel.minhash_band_keys(
            batch.data, batch.offsets, firsts, config.shingle.code, config.shingle.n, a, b, lsh.bands, lsh.rows
        )

    with timer.stage("lsh"):
        candidates = lsh.candidates(keys)
        del keys

    with timer.stage("verify"):
        sets = ShingleSets.of(batch, config.shingle, firsts, needed=candidates.paired)
    grouping = ClusterBuilder(len(firsts), keep_pairs)
    verified_pairs = 0
    blocks = verified_blocks(candidates, sets, config)
    while True:
        with timer.stage("verify"):
            verified = next(blocks, None)
        if verified is None:
            break
        verified_pairs += len(verified)
        with timer.stage("cluster"):
            grouping.add(verified.left, verified.right, verified.jaccard, verified.containment)
            del verified
    candidate_pairs = candidates.total
    del candidates, sets

    with timer.stage("cluster"), collector_paused():
        assignment = grouping.assignment(canonical, firsts)
        grouped = grouping.build(table, rows, canonical, firsts, assignment, config)
    clusters = grouped.clusters
    stats = Stats(
        documents=len(table.docs),
        paragraphs=n,
        matched=len(rows),
        short=int(short.sum()),
        empty=int(empty.sum()),
        too_long=int(too_long.sum()),
        skipped_inputs=len(skipped or []),
        clusters=len(clusters),
        duplicate_paragraphs=sum(c.size - 1 for c in clusters),
        candidate_pairs=candidate_pairs,
        verified_pairs=verified_pairs,
        per_document=grouped.per_document,
    )
    reuse: list[ReuseLink] = []
    if config.reuse:
        with timer.stage("reuse"), collector_paused():
            reuse = reuse_links(table, batch.data, batch.offsets, rows, texts, ReuseConfig())
    long_ones = [table.paragraph(int(i)) for i in np.flatnonzero(too_long)]
    return Result(clusters, stats, config, list(skipped or []), timer.seconds, long_ones, grouped.also, grouped.pairs, reuse)


def build_pairs(
    table: ParagraphSource,
    firsts: np.ndarray,
    blocks: list[tuple[np.ndarray, ...]],
    cluster_of: np.ndarray,
    exact: tuple[np.ndarray, ...] | None = None,
) -> list[Pair]:
    """:class:`Pair` objects of verified pairs of distinct texts (``blocks``, positions in
    ``firsts``) and of ``exact`` pairs (paragraph indices), in input order."""
    columns: list[tuple[np.ndarray, ...]] = [(firsts[left], firsts[right], j, c) for left, right, j, c in blocks]
    if exact is not None:
        columns.append(exact)
    if not columns:
        return []
    a, b, jaccard, containment = (np.concatenate(column) for column in zip(*columns))
    order = np.lexsort((b, a))
    a, b, jaccard, containment = a[order], b[order], jaccard[order], containment[order]
    ends = np.unique(np.concatenate([a, b]))
    paragraphs = dict(zip(ends.tolist(), table.paragraphs(ends)))
    clusters = {i: (None if c < 0 else c) for i, c in zip(ends.tolist(), cluster_of[ends].tolist())}
    return [
        Pair(PairEnd(paragraphs[x], clusters[x]), PairEnd(paragraphs[y], clusters[y]), j, c)
        for x, y, j, c in zip(a.tolist(), b.tolist(), jaccard.tolist(), containment.tolist())
    ]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Building the result makes hundreds of thousands of small objects, none of them in a
    cycle: the collector's passes over everything alive would only add time that grows faster
    than the input."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def build_clusters(table: ParagraphSource, rows: np.ndarray, assignment: Assignment, config: Config) -> list[Cluster]:
    """Build :class:`Cluster` objects for representatives with at least one member, ordered by
    size, then by the representative's position; each cluster's members in input order."""
    reps = assignment.rep
    is_member = np.flatnonzero(reps != rows)
    # Group members by representative; a stable sort keeps each group in input order.
    order = is_member[np.argsort(reps[is_member], kind="stable")]
    group_reps, group_starts, sizes = np.unique(reps[order], return_index=True, return_counts=True)
    group_of = np.repeat(np.arange(len(group_reps)), sizes)
    if config.scope == "cross-doc" and len(order):
        doc = table.doc
        keep = np.logical_or.reduceat(doc[rows[order]] != doc[group_reps][group_of], group_starts)
    else:
        keep = np.ones(len(group_reps), dtype=bool)
    kept = np.flatnonzero(keep)
    kept = kept[np.lexsort((group_reps[kept], -sizes[kept]))]
    if not len(kept):
        return []
    # Lay the clusters out one after another, each as its representative then its members.
    rank = np.full(len(group_reps), len(kept))
    rank[kept] = np.arange(len(kept))
    listed = order[keep[group_of]]
    listed = listed[np.argsort(rank[group_of[keep[group_of]]], kind="stable")]
    ends = np.cumsum(sizes[kept] + 1)
    heads = ends - sizes[kept] - 1
    is_head = np.zeros(ends[-1], dtype=bool)
    is_head[heads] = True
    index = np.empty(ends[-1], dtype=np.int64)
    index[heads] = group_reps[kept]
    index[~is_head] = rows[listed]
    jaccard = np.ones(ends[-1])
    jaccard[~is_head] = assignment.jaccard[listed]
    containment = np.ones(ends[-1])
    containment[~is_head] = assignment.containment[listed]
    members = list(map(Member, table.paragraphs(index), index.tolist(), jaccard.tolist(), containment.tolist()))
    return [
        Cluster(cluster_id, tuple(members[head:end]))
        for cluster_id, (head, end) in enumerate(zip(heads.tolist(), ends.tolist()), start=1)
    ]
