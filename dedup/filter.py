"""Filter decisions: keep or drop each paragraph of a stream of documents, against an index of
what was ingested before.

The rule is the report's "first seen wins" (see :mod:`dedup.cluster`), with the index standing
for everything seen earlier: a paragraph is dropped when its exact Jaccard similarity is at or
above the threshold against a paragraph already in the index, or against an earlier *kept*
paragraph of the same input. Paragraphs are taken in input order, in batches of documents; each
batch is decided and its kept paragraphs are added to the index in one step of
:meth:`dedup.index.Index.batch`, so the batch size changes nothing but speed and the number of
documents a crash can make a rerun emit twice.

The stages are the report's: paragraphs (:mod:`dedup.paragraphs`), normalization
(:func:`~dedup.normalization.normalize_batch`), MinHash signatures and band keys, LSH candidates
(within the batch by :class:`~dedup.lsh.BandedLSH`, against the index by
:meth:`~dedup.index.Index.query`), and exact verification of every candidate on the shingle
sets. As in the report, LSH may miss a pair (about 13% of pairs exactly at the threshold at the
default settings, 1% of pairs 0.1 above it); nothing below the threshold is ever dropped. And as
the report pairs a paragraph with at most 64 neighbours per bucket, the index gives a query at
most 64 paragraphs per bucket (the earliest; see :mod:`dedup.index_sqlite`), so a band key that
very many paragraphs share cannot make a batch fetch and verify all of them.
Paragraphs with nothing left after normalization, shorter than ``min_words`` or longer than
``max_chars`` are kept without matching and are not indexed.

Each drop carries its reason: ``index`` (repeats a paragraph ingested before this run),
``input`` (repeats an earlier kept paragraph of this run's input) or ``document`` (its
document's share of duplicate paragraphs exceeded ``drop_doc_above``).

>>> import tempfile
>>> from dedup.index import open_index
>>> docs = [
...     ("a", "Soldiers are on standby for armed police.\\n\\nA paragraph of its own."),
...     ("b", "Soldiers ARE on standby for armed police!\\n\\nAnother one."),
... ]
>>> with tempfile.TemporaryDirectory() as tmp, open_index(tmp + "/idx", index_params()) as index:
...     step = Filter(index)
...     [(doc.name, doc.text) for doc in step(docs)]
[('a', 'Soldiers are on standby for armed police.\\n\\nA paragraph of its own.'), ('b', 'Another one.')]
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from dedup import _kernel
from dedup.cluster import Assignment, first_seen
from dedup.documents import Document, as_documents
from dedup.index import Fetched, Index, IndexParams, iso_time
from dedup.lsh import DEFAULT_WINDOW, BandedLSH, lsh_params
from dedup.config import DEFAULT_BATCH_PARAGRAPHS, DEFAULT_MAX_CHARS, DEFAULT_NUM_PERM, DEFAULT_SEED, DEFAULT_THRESHOLD, Config
from dedup.matching import prepare, verified_blocks
from dedup.paragraphs import Paragraph, ParagraphTable, spans as spans_of
from dedup.shingling import DEFAULT_SHINGLE, ShingleSpec
from dedup.signatures import permutations
from dedup.verify import ShingleSets

__all__ = [
    "Filter",
    "FilterStats",
    "Outcome",
    "Drop",
    "Match",
    "REASONS",
    "index_params",
    "iso_time",
    "DEFAULT_BATCH_PARAGRAPHS",
]

Reason = Literal["index", "input", "document"]
REASONS: tuple[Reason, ...] = ("index", "input", "document")
Status = Literal["kept", "filtered", "marked", "emptied", "dropped"]


def index_params(
    threshold: float = DEFAULT_THRESHOLD,
    shingle: ShingleSpec | str = DEFAULT_SHINGLE,
    num_perm: int = DEFAULT_NUM_PERM,
    seed: int = DEFAULT_SEED,
) -> IndexParams:
    """The :class:`~dedup.index.IndexParams` of these matching settings (the report's defaults
    unless given), with LSH bands and rows as the report chooses them.

    >>> p = index_params()
    >>> (p.threshold, p.shingle, p.num_perm, p.seed, p.bands, p.rows)
    (0.4, 'word:3', 128, 1, 31, 3)
    """
    spec = shingle if isinstance(shingle, ShingleSpec) else ShingleSpec.parse(shingle)
    config = Config(threshold=threshold, shingle=spec, num_perm=num_perm, seed=seed)  # checks every value
    bands, rows = lsh_params(config.threshold, config.num_perm)
    return IndexParams(num_perm=config.num_perm, seed=config.seed, shingle=str(config.shingle), threshold=config.threshold, bands=bands, rows=rows)


@dataclass(frozen=True)
class Match:
    """The kept paragraph that a dropped one repeats: where it is in the index."""

    pid: int
    doc: str
    paragraph: int
    ingested_at: float

    def as_dict(self) -> dict[str, Any]:
        return {"doc": self.doc, "paragraph": self.paragraph, "ingested_at": iso_time(self.ingested_at), "pid": self.pid}


@dataclass(frozen=True)
class Drop:
    """A dropped paragraph and why. ``jaccard``/``containment`` and ``match`` are set for the
    reasons ``index`` and ``input``; ``document_share`` for ``document``."""

    paragraph: Paragraph
    reason: Reason
    jaccard: float | None = None
    containment: float | None = None
    match: Match | None = None
    document_share: float | None = None

    def __post_init__(self) -> None:
        if self.reason not in REASONS:
            raise ValueError(f"reason must be one of {', '.join(REASONS)}, not {self.reason!r}")
        if (self.match is None) != (self.reason == "document"):
            raise ValueError("a duplicate names its match; a paragraph dropped with its document does not")

    def as_dict(self) -> dict[str, Any]:
        """The JSON row of ``--rejects``."""
        p = self.paragraph
        row: dict[str, Any] = {
            "doc": p.doc,
            "paragraph": p.number,
            "line": p.line,
            "reason": self.reason,
            "jaccard": None if self.jaccard is None else round(self.jaccard, 6),
            "containment": None if self.containment is None else round(self.containment, 6),
            "match": None if self.match is None else self.match.as_dict(),
        }
        if self.document_share is not None:
            row["document_share"] = round(self.document_share, 6)
        row["text"] = p.text
        return row

    def mark(self) -> dict[str, Any]:
        """The entry of ``--mark``'s field (the text is in the document)."""
        row = self.as_dict()
        del row["doc"], row["text"]
        return row


@dataclass(frozen=True)
class Outcome:
    """What the filter did with one document.

    ``status``: ``kept`` (nothing dropped; ``output`` is the input), ``filtered`` (some
    paragraphs dropped), ``marked`` (with ``mark``: text whole, duplicates listed), ``emptied``
    (every paragraph dropped; left out) or ``dropped`` (its share of duplicates exceeded
    ``drop_doc_above``; left out). ``output`` is None when the document is left out; its
    ``fields`` is the JSON object to write."""

    document: Document
    output: Document | None
    status: Status
    paragraphs: int
    drops: tuple[Drop, ...]


@dataclass
class FilterStats:
    """Counts over the batches committed so far."""

    documents: int = 0
    paragraphs: int = 0
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)  # by reason
    unmatched: int = 0  # kept without matching: empty after normalization, short or too long
    written: int = 0  # documents in the output
    emptied: int = 0
    dropped_documents: int = 0
    batches: int = 0

    def record(self, outcomes: list[Outcome], unmatched: int) -> None:
        for o in outcomes:
            self.documents += 1
            self.paragraphs += o.paragraphs
            self.kept += o.paragraphs - len(o.drops)
            self.dropped.update(d.reason for d in o.drops)
            self.written += o.output is not None
            self.emptied += o.status == "emptied"
            self.dropped_documents += o.status == "dropped"
        self.unmatched += unmatched
        self.batches += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "paragraphs": self.paragraphs,
            "kept": self.kept,
            "dropped": {reason: self.dropped.get(reason, 0) for reason in REASONS},
            "unmatched": self.unmatched,
            "written_documents": self.written,
            "emptied_documents": self.emptied,
            "dropped_documents": self.dropped_documents,
        }


@dataclass
class _Prepared:
    """One batch, hashed: everything that does not depend on the index."""

    docs: list[Document]
    doc_of: np.ndarray  # per paragraph, its document's position in the batch
    paragraphs: list[Paragraph]
    rows: np.ndarray  # paragraphs that take part in matching
    keys: np.ndarray  # (bands, len(rows)) uint64
    exact: np.ndarray  # (len(rows),) uint64: hash of each row's normalized text
    hashes: np.ndarray  # shingle sets of rows, concatenated
    offsets: np.ndarray
    left: np.ndarray  # verified pairs within the batch (positions in rows), left < right
    right: np.ndarray
    jaccard: np.ndarray
    containment: np.ndarray


class _DroppedWhole(Exception):
    """A large document's share of duplicates exceeded ``drop_doc_above``: roll it back."""


class Filter:
    """A pipeline step: documents in, documents out, each with only its kept paragraphs.

    The matching settings are the index's (:attr:`Index.params`). Options:

    - ``min_words``, ``max_chars``: paragraphs with fewer words, or more characters, are kept
      without matching and are not indexed (as the report leaves them out of matching);
    - ``drop_doc_above``: drop a whole document whose share of duplicate paragraphs exceeds this
      ratio; its paragraphs are then not indexed, and a later paragraph that repeats one of them
      is kept, since its first occurrence never got through;
    - ``mark``: keep every text whole and list the duplicates in the field ``mark_field``;
    - ``text_field``, ``id_field``: the JSON fields written for documents read from text files;
    - ``batch_paragraphs``: paragraphs per batch. A document is never split across batches
      (it is committed whole); a longer one is matched a batch of paragraphs at a time.

    Use it as ``filter(documents)`` (yields the documents to keep), or :meth:`batches` for the
    full :class:`Outcome` of each document. A batch is committed to the index when the consumer
    asks for what follows it: stopping half-way leaves the last batch uncommitted, so a rerun
    emits it again (at least once, never lost). :attr:`stats` counts committed batches only.
    """

    def __init__(
        self,
        index: Index,
        *,
        min_words: int = 0,
        max_chars: int = DEFAULT_MAX_CHARS,
        drop_doc_above: float | None = None,
        mark: bool = False,
        mark_field: str = "duplicates",
        text_field: str = "text",
        id_field: str = "id",
        batch_paragraphs: int = DEFAULT_BATCH_PARAGRAPHS,
        window: int = DEFAULT_WINDOW,
        clock: Callable[[], float] = time.time,
    ) -> None:
        params = index.params
        self.index = index
        self.config = Config(
            threshold=params.threshold,
            shingle=ShingleSpec.parse(params.shingle),
            num_perm=params.num_perm,
            seed=params.seed,
            min_words=min_words,
            max_chars=max_chars,
            window=window,
        )
        if drop_doc_above is not None and not 0.0 <= drop_doc_above <= 1.0:
            raise ValueError(f"drop_doc_above must be from 0 to 1, not {drop_doc_above!r}")
        if batch_paragraphs < 1:
            raise ValueError("batch_paragraphs must be at least 1")
        self.shingle: ShingleSpec = self.config.shingle  # type: ignore[assignment]
        # The index's bands and rows, not this version's choice for its threshold: the keys
        # within a batch must be cut as the stored ones were.
        self.lsh = BandedLSH(params.bands, params.rows, window)
        self.drop_doc_above = drop_doc_above
        self.mark = mark
        self.mark_field = mark_field
        self.text_field = text_field
        self.id_field = id_field
        self.batch_paragraphs = batch_paragraphs
        self.clock = clock
        self.stats = FilterStats()
        # pids this filter added, as (first, last) per committed batch: a match among them is
        # an earlier paragraph of the same input (reason "input"), whatever the batch.
        self._own_first: list[int] = []
        self._own_last: list[int] = []

    def __call__(self, documents: Mapping[str, str] | Iterable[tuple[str, str]] | Iterable[Document]) -> Iterator[Document]:
        for outcomes in self.batches(documents):
            for outcome in outcomes:
                if outcome.output is not None:
                    yield outcome.output

    def batches(self, documents: Mapping[str, str] | Iterable[tuple[str, str]] | Iterable[Document]) -> Generator[list[Outcome], None, None]:
        """The outcome of every document, a batch at a time, in input order. Each list is
        yielded inside the index's batch, before its commit: write it out, then ask for more."""
        for docs, spans in self._chunks(as_documents(documents)):
            if len(spans[0]) > self.batch_paragraphs:
                yield from self._large_document(docs[0], spans[0])
                continue
            prepared = self._prepare(ParagraphTable([d.name for d in docs], [d.text for d in docs], [d.utf8 for d in docs]), docs)  # no lock needed
            with self.index.batch():
                outcomes, added, unmatched = self._decide(prepared)
                yield outcomes
            self.stats.record(outcomes, unmatched)
            self._record_own(added)

    def _large_document(self, doc: Document, spans: list[tuple[int, int, int]]) -> Iterator[list[Outcome]]:
        """A document of more paragraphs than a batch holds, matched a batch of paragraphs at a
        time so that hashing and candidate pairs take no more memory than any batch, but
        committed at once, with its outcome: a document is never half ingested.

        Each part is decided against the index, which holds the earlier parts' kept paragraphs
        (uncommitted, seen only by this process), so a repeat of an earlier part is an ``input``
        drop as it would be in one batch. With ``drop_doc_above``, the share is known only at
        the end: a document dropped whole is rolled back out of the index."""
        step = self.batch_paragraphs
        drops: list[Drop] = []
        unmatched = 0
        added: list[np.ndarray] = []
        own_before = len(self._own_first)
        outcome: Outcome | None = None
        table = ParagraphTable([doc.name], [doc.text], [doc.utf8])
        try:
            with self.index.batch():
                for start in range(0, len(spans), step):
                    prepared = self._prepare(table, [doc], (start, min(start + step, len(spans))))
                    part, pids, left_out, _ = self._judge(prepared, None)
                    drops += part[0]
                    unmatched += left_out
                    added.append(pids)
                    self._record_own(pids)  # later parts' repeats of it are "input"
                share = sum(d.reason != "document" for d in drops) / len(spans)
                if self.drop_doc_above is not None and share > self.drop_doc_above:
                    raise _DroppedWhole
                outcome = self._outcome(doc, drops, len(spans), dropped=False)
                yield [outcome]
        except _DroppedWhole:
            del self._own_first[own_before:], self._own_last[own_before:]
            ours = np.concatenate(added)
            whole = [d if d.match is None or not len(ours) or d.match.pid < ours[0] else Drop(d.paragraph, "document", document_share=share) for d in drops]
            numbered = {d.paragraph.number for d in whole}
            rest = np.array([i for i in range(len(spans)) if i + 1 not in numbered], dtype=np.int64)
            whole += [Drop(paragraph, "document", document_share=share) for paragraph in table.paragraphs(rest)]
            whole.sort(key=lambda d: d.paragraph.number)
            outcome = Outcome(doc, None, "dropped", len(spans), tuple(whole))
            yield [outcome]  # nothing to commit: the index is as it was
        assert outcome is not None
        self.stats.record([outcome], unmatched)

    def _record_own(self, added: np.ndarray) -> None:
        """Note the pids this filter added, for telling an ``input`` repeat from an ``index`` one."""
        if len(added):
            self._own_first.append(int(added.min()))
            self._own_last.append(int(added.max()))

    def _chunks(self, documents: Iterator[Document]) -> Iterator[tuple[list[Document], list[list[tuple[int, int, int]]]]]:
        docs: list[Document] = []
        spans: list[list[tuple[int, int, int]]] = []
        count = 0
        for doc in documents:
            docs.append(doc)
            spans.append(spans_of(doc.text))
            count += len(spans[-1])
            if count >= self.batch_paragraphs:
                yield docs, spans
                docs, spans, count = [], [], 0
        if docs:
            yield docs, spans

    # -- hashing -----------------------------------------------------------------------------

    def _prepare(self, table: ParagraphTable, docs: list[Document], part: tuple[int, int] | None = None) -> _Prepared:
        """Hash a batch: the paragraphs of ``table`` (those in ``range(*part)`` of it, for a part
        of a large document), whose documents are ``docs``. The stages are the report's
        (:mod:`dedup.matching`); the band keys are 64-bit, as the index stores them, and LSH
        takes their low 32 bits, which are the report's keys."""
        prepared = prepare(table, self.config, part)
        start = prepared.start
        paragraphs = table.paragraphs(np.arange(start, start + len(prepared)))
        rows = prepared.rows
        a, b = permutations(self.config.num_perm, self.config.seed)
        batch = prepared.batch
        keys, hashes, offsets = _kernel.hash_rows(batch.data, batch.offsets, rows, self.shingle.code, self.shingle.n, a, b, self.lsh.bands, self.lsh.rows)
        blocks = list(verified_blocks(self.lsh.candidates(keys.astype(np.uint32)), ShingleSets(hashes, offsets), self.config))
        # Exact copies within the batch are paired with their first occurrence whatever LSH
        # proposes: a crowded bucket must never hide one.
        first_row = np.searchsorted(rows, prepared.firsts[prepared.canonical])
        copies = np.flatnonzero(first_row != np.arange(len(rows)))
        n = max(len(rows), 1)
        codes = np.concatenate([block.left * n + block.right for block in blocks] + [first_row[copies] * n + copies])
        jaccard = np.concatenate([block.jaccard for block in blocks] + [np.ones(len(copies))])
        containment = np.concatenate([block.containment for block in blocks] + [np.ones(len(copies))])
        codes, unique = np.unique(codes, return_index=True)
        return _Prepared(
            docs,
            table.doc[start : start + len(prepared)],
            paragraphs,
            rows,
            keys,
            prepared.text_hashes[rows],
            hashes,
            offsets,
            codes // n,
            codes % n,
            jaccard[unique],
            containment[unique],
        )

    # -- deciding ----------------------------------------------------------------------------

    def _index_matches(self, p: _Prepared) -> tuple[np.ndarray, np.ndarray, np.ndarray, Fetched | None]:
        """For each matched row, its earliest indexed paragraph at or above the threshold:
        ``(its position in fetched or -1, jaccard, containment, fetched)``."""
        m = len(p.rows)
        found = np.full(m, -1, dtype=np.int64)
        sim_j = np.zeros(m)
        sim_c = np.zeros(m)
        if m == 0:
            return found, sim_j, sim_c, None
        query_index, pids = self.index.query(p.keys)
        exact_index, exact_pids = self.index.query_exact(p.exact)
        if len(exact_pids):
            pairs = np.unique(np.stack([np.concatenate([query_index, exact_index]), np.concatenate([pids, exact_pids])], axis=1), axis=0)
            query_index, pids = pairs[:, 0], pairs[:, 1]
        if not len(pids):
            return found, sim_j, sim_c, None
        unique = np.unique(pids)
        fetched = self.index.fetch(unique)
        hashes = np.concatenate([p.hashes, fetched.hashes])
        offsets = np.concatenate([p.offsets, p.offsets[-1] + fetched.offsets[1:]])
        right = m + np.searchsorted(unique, pids)
        jaccard, containment = _kernel.set_similarities(hashes, offsets, query_index.astype(np.int64), right)
        ok = np.flatnonzero(jaccard >= self.config.threshold)
        # First seen wins: among the matches of a row, the earliest ingested (lowest pid).
        ok = ok[np.lexsort((pids[ok], query_index[ok]))]
        first = ok[np.unique(query_index[ok], return_index=True)[1]]
        found[query_index[first]] = right[first] - m
        sim_j[query_index[first]] = jaccard[first]
        sim_c[query_index[first]] = containment[first]
        return found, sim_j, sim_c, fetched

    def _within(self, p: _Prepared, excluded: np.ndarray) -> Assignment:
        """Each row's representative within the batch (itself when it is one) and its
        similarity to it, leaving out rows that are ``excluded`` from being either side of a
        pair."""
        keep = ~excluded[p.left] & ~excluded[p.right]
        return first_seen(len(p.rows), p.left[keep], p.right[keep], p.jaccard[keep], p.containment[keep])

    def _assign(self, p: _Prepared, by_index: np.ndarray, drop_doc_above: float | None) -> tuple[Assignment, np.ndarray]:
        """Representatives within the batch (with each row's similarity to its own), and the
        documents dropped whole.

        Documents are taken in order: one whose share of duplicates exceeds the ratio is
        dropped, its rows' decisions are kept as they stand, and later rows that repeated one of
        its kept rows are decided again without it (its paragraphs are never written)."""
        m = len(p.rows)
        ndocs = len(p.docs)
        excluded = by_index.copy()
        within = self._within(p, excluded)
        dropped_doc = np.zeros(ndocs, dtype=bool)
        if drop_doc_above is None:
            return within, dropped_doc
        row_doc = p.doc_of[p.rows]
        totals = np.bincount(p.doc_of, minlength=ndocs)
        frozen = Assignment(np.arange(m), np.ones(m), np.ones(m))
        d = 0
        while d < ndocs:
            dup = by_index | (within.rep != np.arange(m))
            share = np.divide(np.bincount(row_doc[dup], minlength=ndocs), totals, out=np.zeros(ndocs), where=totals > 0)
            above = np.flatnonzero((share > drop_doc_above) & (np.arange(ndocs) >= d))
            if not len(above):
                break
            e = int(above[0])
            dropped_doc[e] = True
            mine = row_doc == e
            frozen.rep[mine] = within.rep[mine]
            frozen.jaccard[mine] = within.jaccard[mine]
            frozen.containment[mine] = within.containment[mine]
            excluded |= mine
            if np.any(~mine & mine[within.rep] & ~dup[within.rep]):
                within = self._within(p, excluded)
            d = e + 1
        held = dropped_doc[row_doc]
        return (
            Assignment(
                np.where(held, frozen.rep, within.rep),
                np.where(held, frozen.jaccard, within.jaccard),
                np.where(held, frozen.containment, within.containment),
            ),
            dropped_doc,
        )

    def _decide(self, p: _Prepared) -> tuple[list[Outcome], np.ndarray, int]:
        """Decide a batch, add its kept paragraphs to the index; return the outcomes, the new
        pids and the number of paragraphs left out of matching. Call inside the index's batch."""
        drops_of, pids, unmatched, dropped_doc = self._judge(p, self.drop_doc_above)
        totals = np.bincount(p.doc_of, minlength=len(p.docs))
        first_paragraph = np.searchsorted(p.doc_of, np.arange(len(p.docs) + 1))
        outcomes = []
        for d, doc in enumerate(p.docs):
            lo, hi = int(first_paragraph[d]), int(first_paragraph[d + 1])
            outcomes.append(self._outcome(doc, drops_of[d], int(totals[d]), bool(dropped_doc[d]), [q.text for q in p.paragraphs[lo:hi]]))
        return outcomes, pids, unmatched

    def _outcome(self, doc: Document, drops: list[Drop], total: int, dropped: bool, texts: list[str] | None = None) -> Outcome:
        """The outcome of a document from its drops; ``texts``, its paragraphs (else cut from
        its text again when needed)."""
        kept = tuple(drops)
        if dropped:
            return Outcome(doc, None, "dropped", total, kept)
        if not drops:
            return Outcome(doc, self._output(doc, doc.text), "kept", total, kept)
        if self.mark:
            return Outcome(doc, self._output(doc, doc.text, [drop.mark() for drop in drops]), "marked", total, kept)
        if len(drops) == total:
            return Outcome(doc, None, "emptied", total, kept)
        if texts is None:
            texts = [doc.text[start:end] for start, end, _ in spans_of(doc.text)]
        gone = {drop.paragraph.number for drop in drops}
        text = "\n\n".join(texts[j] for j in range(total) if j + 1 not in gone)
        return Outcome(doc, self._output(doc, text), "filtered", total, kept)

    def _judge(self, p: _Prepared, drop_doc_above: float | None) -> tuple[list[list[Drop]], np.ndarray, int, np.ndarray]:
        """Decide a batch and add its kept paragraphs to the index: the drops of each document,
        the new pids, the number of paragraphs left out of matching, and which documents are
        dropped whole (with ``drop_doc_above``). Call inside the index's batch."""
        m = len(p.rows)
        n = len(p.paragraphs)
        ndocs = len(p.docs)
        found, index_j, index_c, fetched = self._index_matches(p)
        by_index = found >= 0
        assignment, dropped_doc = self._assign(p, by_index, drop_doc_above)
        rep = assignment.rep
        row_doc = p.doc_of[p.rows]
        totals = np.bincount(p.doc_of, minlength=ndocs)
        in_dropped = dropped_doc[row_doc]
        by_input = ~by_index & (rep != np.arange(m))
        kept_rows = ~by_index & ~by_input & ~in_dropped

        now = float(self.clock())
        add_rows = np.flatnonzero(kept_rows)
        pids = np.empty(0, dtype=np.int64)
        if len(add_rows):
            sizes = p.offsets[add_rows + 1] - p.offsets[add_rows]
            offsets = np.zeros(len(add_rows) + 1, dtype=np.int64)
            np.cumsum(sizes, out=offsets[1:])
            index = np.repeat(p.offsets[add_rows] - offsets[:-1], sizes) + np.arange(offsets[-1], dtype=np.int64)
            rows = p.rows[add_rows]
            pids = self.index.add(
                [p.docs[d].name for d in p.doc_of[rows].tolist()],
                np.asarray([p.paragraphs[i].number for i in rows.tolist()], dtype=np.int64),
                p.keys[:, add_rows],
                p.hashes[index],
                offsets,
                now,
                exact_keys=p.exact[add_rows],
                queried=add_rows,
            )
        pid_of_row = np.full(m, -1, dtype=np.int64)
        pid_of_row[add_rows] = pids

        # Drops, per paragraph (rows are positions in p.rows; paragraphs are positions in p).
        names = [doc.name for doc in p.docs]
        drops_of: list[list[Drop]] = [[] for _ in range(ndocs)]
        row_of_paragraph = np.full(n, -1, dtype=np.int64)
        row_of_paragraph[p.rows] = np.arange(m)
        duplicate = by_index | by_input
        dups_per_doc = np.bincount(row_doc[duplicate], minlength=ndocs)
        dropped_paragraphs = dropped_doc[p.doc_of]
        dropped_paragraphs[p.rows[duplicate]] = True
        own = np.zeros(m, dtype=bool)
        if fetched is not None:
            own[by_index] = self._own(fetched.pids[found[by_index]])
        doc_of = p.doc_of.tolist()
        row_of = row_of_paragraph.tolist()
        for i in np.flatnonzero(dropped_paragraphs).tolist():
            d = doc_of[i]
            k = row_of[i]
            if k >= 0 and by_index[k]:
                assert fetched is not None
                f = int(found[k])
                pid = int(fetched.pids[f])
                reason: Reason = "input" if own[k] else "index"
                match = Match(pid, fetched.doc_ids[f], int(fetched.paragraphs[f]), float(fetched.ingested_at[f]))
                drops_of[d].append(Drop(p.paragraphs[i], reason, float(index_j[k]), float(index_c[k]), match))
            elif k >= 0 and by_input[k] and pid_of_row[rep[k]] >= 0:
                # (A repeat of a paragraph that was never written, its document being dropped
                # whole, is dropped with its own document: the branch below.)
                r = int(rep[k])
                rep_i = int(p.rows[r])
                match = Match(int(pid_of_row[r]), names[int(p.doc_of[rep_i])], p.paragraphs[rep_i].number, now)
                drops_of[d].append(Drop(p.paragraphs[i], "input", float(assignment.jaccard[k]), float(assignment.containment[k]), match))
            elif dropped_doc[d]:
                drops_of[d].append(Drop(p.paragraphs[i], "document", document_share=float(dups_per_doc[d] / totals[d])))

        return drops_of, pids, n - m, dropped_doc

    def _own(self, pids: np.ndarray) -> np.ndarray:
        """Which of ``pids`` this filter added (in an earlier, committed batch)."""
        firsts = np.asarray(self._own_first, dtype=np.int64)
        lasts = np.asarray(self._own_last, dtype=np.int64)
        k = np.searchsorted(firsts, pids, side="right") - 1
        return (k >= 0) & (pids <= lasts[np.maximum(k, 0)]) if len(firsts) else np.zeros(len(pids), dtype=bool)

    def _output(self, doc: Document, text: str, marks: list[dict[str, Any]] | None = None) -> Document:
        record: dict[str, Any] = dict(doc.fields) if doc.fields is not None else {self.id_field: doc.name}
        record[self.text_field] = text
        if marks is not None:
            record[self.mark_field] = marks
        return Document(doc.name, text, fields=record)
