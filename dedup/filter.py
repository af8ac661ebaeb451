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
most 64 paragraphs per bucket (the earliest; see :mod:`dedup.index.sqlite`), so a band key that
very many paragraphs share cannot make a batch fetch and verify all of them.
Paragraphs with nothing left after normalization, shorter than ``min_words`` or longer than
``max_chars`` are kept without matching and are not indexed.

With ``containment`` (a share T), a paragraph is also dropped when earlier documents cover at
least T of its words: the *coverage* of :mod:`dedup.reuse` (runs of word n-grams found in
order in one earlier document, across its paragraph boundaries; up to three documents; stock
n-grams ignored), worked out by :func:`dedup.reuse.explain` from the paragraph's n-grams found
in the index's postings (:meth:`dedup.index.Index.query_postings`) and in the earlier kept
paragraphs of its batch. This finds what editors do to reused text (split, merge, trim, change
a few words), which no single earlier paragraph is near as a whole. The kept paragraphs' n-grams
are stored with them, in the same commit, whenever the index keeps postings, so that a later
run can ask for containment.

Each drop carries its reason: ``index`` (repeats a paragraph ingested before this run),
``input`` (repeats an earlier kept paragraph of this run's input), ``reuse`` (covered by earlier
documents, with ``containment``; its :class:`Source` list names them, with the spans) or
``document`` (its document's share of duplicate paragraphs exceeded ``drop_doc_above``). A
paragraph that is both a near-duplicate and covered is dropped as the near-duplicate.

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
from dedup.index import Fetched, Index, IndexError_, IndexParams, Postings, Records, iso_time
from dedup.lsh import DEFAULT_WINDOW, BandedLSH, lsh_params
from dedup.config import DEFAULT_BATCH_PARAGRAPHS, DEFAULT_MAX_CHARS, DEFAULT_NUM_PERM, DEFAULT_SEED, DEFAULT_THRESHOLD, Config
from dedup.matching import prepare, verified_blocks
from dedup.paragraphs import Paragraph, ParagraphTable
from dedup.reuse import CharMapper, Explained, NGrams, ReuseConfig, explain, ngrams, rows_holding
from dedup.reuse import hits as batch_hits
from dedup.shingling import DEFAULT_SHINGLE, ShingleSpec
from dedup.signatures import permutations
from dedup.verify import ShingleSets

__all__ = [
    "Filter",
    "FilterStats",
    "Outcome",
    "Drop",
    "Match",
    "Source",
    "SourceSpan",
    "REASONS",
    "index_params",
    "iso_time",
    "DEFAULT_BATCH_PARAGRAPHS",
]

Reason = Literal["index", "input", "reuse", "document"]
REASONS: tuple[Reason, ...] = ("index", "input", "reuse", "document")
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
class SourceSpan:
    """One run of reused text: characters ``[start, end)`` of the dropped paragraph (offsets in
    its text), ``words`` of its words, found in order at words ``[source_first, source_stop)``
    of the source document (normalized words, counted through its paragraphs), which lie in
    its paragraphs ``source_paragraphs`` (first, last)."""

    start: int
    end: int
    words: int
    source_first: int
    source_stop: int
    source_paragraphs: tuple[int, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "words": self.words,
            "source_words": [self.source_first, self.source_stop],
            "source_paragraphs": list(self.source_paragraphs),
        }


@dataclass(frozen=True)
class Source:
    """An earlier document that covers part of a paragraph dropped for reuse: its id, where it
    was (``index``: ingested before this run; ``input``: an earlier document of this run), the
    share of the paragraph's words it covers on its own (``coverage``) and beyond the sources
    before it (``added``), the range of its paragraphs the runs lie in, their lines when known
    (for this run's input), and the runs."""

    doc: str
    origin: Literal["index", "input"]
    coverage: float
    added: float
    paragraphs: tuple[int, int]
    lines: tuple[int, int] | None
    spans: tuple[SourceSpan, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "doc": self.doc,
            "origin": self.origin,
            "coverage": round(self.coverage, 6),
            "added": round(self.added, 6),
            "paragraphs": list(self.paragraphs),
            "lines": None if self.lines is None else list(self.lines),
            "spans": [span.as_dict() for span in self.spans],
        }


@dataclass(frozen=True)
class Drop:
    """A dropped paragraph and why. ``jaccard``/``containment`` and ``match`` are set for the
    reasons ``index`` and ``input``; ``coverage`` and ``sources`` for ``reuse``;
    ``document_share`` for ``document``."""

    paragraph: Paragraph
    reason: Reason
    jaccard: float | None = None
    containment: float | None = None
    match: Match | None = None
    document_share: float | None = None
    coverage: float | None = None
    sources: tuple[Source, ...] = ()

    def __post_init__(self) -> None:
        if self.reason not in REASONS:
            raise ValueError(f"reason must be one of {', '.join(REASONS)}, not {self.reason!r}")
        if (self.match is not None) != (self.reason in ("index", "input")):
            raise ValueError("a duplicate names its match; a paragraph dropped for reuse or with its document does not")
        if (self.coverage is not None and len(self.sources) > 0) != (self.reason == "reuse"):
            raise ValueError("a paragraph dropped for reuse names its coverage and sources; no other drop does")

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
        if self.reason == "reuse":
            assert self.coverage is not None
            row["coverage"] = round(self.coverage, 6)
            row["sources"] = [source.as_dict() for source in self.sources]
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
    count: int  # paragraphs: table rows start to start + count
    rows: np.ndarray  # paragraphs that take part in matching
    keys: np.ndarray  # (bands, len(rows)) uint64
    exact: np.ndarray  # (len(rows),) uint64: hash of each row's normalized text
    hashes: np.ndarray  # shingle sets of rows, concatenated
    offsets: np.ndarray
    left: np.ndarray  # verified pairs within the batch (positions in rows), left < right
    right: np.ndarray
    jaccard: np.ndarray
    containment: np.ndarray
    table: ParagraphTable
    start: int  # of the batch's paragraphs in table
    grams: NGrams | None  # word n-grams of rows (positions in the batch), when needed


@dataclass
class _Hits:
    """The n-grams of a batch's rows found earlier: in the index's postings or in an earlier
    document of the batch. Hit ``i``: the n-gram of row ``row[i]`` (a position in the batch's
    rows) at its word ``pos[i]`` was found at word ``source_word[i]`` of source ``source[i]``
    (a document of the batch, numbered as in it, or ``len(docs) + k`` for ``names[k]`` of
    the index), in the stored paragraph ``pid[i]`` (index) or in row ``source_row[i]``
    (batch); the other is -1."""

    row: np.ndarray
    pos: np.ndarray
    source: np.ndarray
    source_word: np.ndarray
    source_row: np.ndarray
    pid: np.ndarray
    words: np.ndarray  # words of each row
    names: list[str]  # the index's source documents
    fetched: Fetched | None  # their paragraphs that were hit

    def subset(self, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self.row[keep], self.pos[keep], self.source[keep], self.source_word[keep]


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
      (it is committed whole); a longer one is matched a batch of paragraphs at a time;
    - ``containment``: drop a paragraph whose coverage by earlier documents is at least this
      share (reason ``reuse``; see the module's doc); ``reuse`` the other settings of the
      coverage (:class:`~dedup.reuse.ReuseConfig`; its ``min_coverage`` is ``containment``).
      The index must keep postings for every paragraph it holds (else :class:`IndexError_`
      says why, before anything is read);
    - ``postings``: store the kept paragraphs' n-gram postings (default: whenever the index
      keeps them; ``False`` leaves the index unable to answer ``containment`` afterwards).

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
        containment: float | None = None,
        reuse: ReuseConfig | None = None,
        postings: bool | None = None,
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
        self.containment = containment
        if containment is not None:
            if not 0.0 < containment <= 1.0:
                raise ValueError(f"containment must be above 0 and at most 1, not {containment!r}")
            problem = index.postings_status()
            if problem is not None:
                raise IndexError_(problem)
        base = reuse or ReuseConfig()
        self.reuse = ReuseConfig(**{**base.as_dict(), "min_coverage": containment or base.min_coverage})
        # N-grams are worked out for the index to store whenever it keeps postings, so that a
        # later run can ask for containment, and for matching when asked for.
        if postings and not index.keeps_postings:
            raise IndexError_(index.postings_status() or "this index keeps no n-gram postings")
        self._store = index.keeps_postings if postings is None else postings
        self._grams = containment is not None or self._store
        # Words of the large document in progress before its current part, and the first pid
        # it added (its own paragraphs are no source of reuse for it).
        self._part_words = 0
        self._doc_first_pid: int | None = None
        # pids this filter added, as (first, last) per committed batch: a match among them is
        # an earlier paragraph of the same input (reason "input"), whatever the batch.
        self._own_first: list[int] = []
        self._own_last: list[int] = []
        self._own_lines: list[np.ndarray] = []  # lines of each committed batch's pids
        self._added_lines = np.empty(0, dtype=np.int64)  # of the batch being decided

    def __call__(self, documents: Mapping[str, str] | Iterable[tuple[str, str]] | Iterable[Document]) -> Iterator[Document]:
        for outcomes in self.batches(documents):
            for outcome in outcomes:
                if outcome.output is not None:
                    yield outcome.output

    def batches(self, documents: Mapping[str, str] | Iterable[tuple[str, str]] | Iterable[Document]) -> Generator[list[Outcome], None, None]:
        """The outcome of every document, a batch at a time, in input order. Each list is
        yielded inside the index's batch, before its commit: write it out, then ask for more."""
        for docs, utf8, counts in self._chunks(as_documents(documents)):
            if counts[0] > self.batch_paragraphs:
                yield from self._large_document(docs[0], utf8[0], counts[0])
                continue
            prepared = self._prepare(ParagraphTable([d.name for d in docs], [d.text for d in docs], utf8), docs)  # no lock needed
            with self.index.batch():
                outcomes, added, unmatched = self._decide(prepared)
                yield outcomes
            self.stats.record(outcomes, unmatched)
            self._record_own(added)

    def _large_document(self, doc: Document, utf8: bytes, total: int) -> Iterator[list[Outcome]]:
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
        table = ParagraphTable([doc.name], [doc.text], [utf8])
        self._part_words, self._doc_first_pid = 0, None
        try:
            with self.index.batch():
                for start in range(0, total, step):
                    prepared = self._prepare(table, [doc], (start, min(start + step, total)))
                    part, pids, left_out, _ = self._judge(prepared, None)
                    drops += part[0]
                    unmatched += left_out
                    added.append(pids)
                    self._record_own(pids)  # later parts' repeats of it are "input"
                    if prepared.grams is not None:
                        self._part_words += int(prepared.grams.counts.sum())
                    if self._doc_first_pid is None and len(pids):
                        self._doc_first_pid = int(pids[0])
                share = sum(d.reason != "document" for d in drops) / total
                if self.drop_doc_above is not None and share > self.drop_doc_above:
                    raise _DroppedWhole
                outcome = self._outcome(doc, drops, total, False, table.start, table.end)
                yield [outcome]
        except _DroppedWhole:
            del self._own_first[own_before:], self._own_last[own_before:], self._own_lines[own_before:]
            ours = np.concatenate(added)
            whole = [d if d.match is None or not len(ours) or d.match.pid < ours[0] else Drop(d.paragraph, "document", document_share=share) for d in drops]
            numbered = {d.paragraph.number for d in whole}
            rest = np.array([i for i in range(total) if i + 1 not in numbered], dtype=np.int64)
            whole += [Drop(paragraph, "document", document_share=share) for paragraph in table.paragraphs(rest)]
            whole.sort(key=lambda d: d.paragraph.number)
            outcome = Outcome(doc, None, "dropped", total, tuple(whole))
            yield [outcome]  # nothing to commit: the index is as it was
        finally:
            self._part_words, self._doc_first_pid = 0, None
        assert outcome is not None
        self.stats.record([outcome], unmatched)

    def _record_own(self, added: np.ndarray) -> None:
        """Note the pids this filter added, for telling an ``input`` repeat from an ``index`` one."""
        if len(added):
            self._own_first.append(int(added.min()))
            self._own_last.append(int(added.max()))
            self._own_lines.append(self._added_lines)

    def _chunks(self, documents: Iterator[Document]) -> Iterator[tuple[list[Document], list[bytes], list[int]]]:
        """Batches of documents, with each one's UTF-8 (encoded once, for its batch's
        :class:`ParagraphTable` too) and its number of paragraphs."""
        docs: list[Document] = []
        utf8: list[bytes] = []
        counts: list[int] = []
        count = 0
        for doc in documents:
            data = doc.utf8 if doc.utf8 is not None else doc.text.encode("utf-8", "surrogatepass")
            docs.append(doc)
            utf8.append(data)
            counts.append(_kernel.paragraphs_of(data).shape[1])
            count += counts[-1]
            if count >= self.batch_paragraphs:
                yield docs, utf8, counts
                docs, utf8, counts, count = [], [], [], 0
        if docs:
            yield docs, utf8, counts

    # -- hashing -----------------------------------------------------------------------------

    def _prepare(self, table: ParagraphTable, docs: list[Document], part: tuple[int, int] | None = None) -> _Prepared:
        """Hash a batch: the paragraphs of ``table`` (those in ``range(*part)`` of it, for a part
        of a large document), whose documents are ``docs``. The stages are the report's
        (:mod:`dedup.matching`); the band keys are 64-bit, as the index stores them, and LSH
        takes their low 32 bits, which are the report's keys."""
        prepared = prepare(table, self.config, part)
        start = prepared.start
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
        grams = None
        if self._grams:
            doc_of = table.doc[start : start + len(prepared)]
            grams = ngrams(batch.data, batch.offsets, rows, doc_of, len(prepared), self.reuse.ngram)
            # A part of a large document goes on from the words of the parts before it.
            grams.before += self._part_words
        return _Prepared(
            docs,
            table.doc[start : start + len(prepared)],
            len(prepared),
            rows,
            keys,
            prepared.text_hashes[rows],
            hashes,
            offsets,
            codes // n,
            codes % n,
            jaccard[unique],
            containment[unique],
            table,
            start,
            grams,
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
        first_paragraph = p.start + np.searchsorted(p.doc_of, np.arange(len(p.docs) + 1))
        outcomes = []
        table = p.table
        for d, doc in enumerate(p.docs):
            lo, hi = int(first_paragraph[d]), int(first_paragraph[d + 1])
            outcomes.append(self._outcome(doc, drops_of[d], int(totals[d]), bool(dropped_doc[d]), table.start[lo:hi], table.end[lo:hi]))
        return outcomes, pids, unmatched

    def _outcome(self, doc: Document, drops: list[Drop], total: int, dropped: bool, starts: np.ndarray, ends: np.ndarray) -> Outcome:
        """The outcome of a document from its drops; ``starts``, ``ends``: its paragraphs'
        spans in characters of its text (cut out only when some are dropped)."""
        kept = tuple(drops)
        if dropped:
            return Outcome(doc, None, "dropped", total, kept)
        if not drops:
            return Outcome(doc, self._output(doc, doc.text), "kept", total, kept)
        if self.mark:
            return Outcome(doc, self._output(doc, doc.text, [drop.mark() for drop in drops]), "marked", total, kept)
        if len(drops) == total:
            return Outcome(doc, None, "emptied", total, kept)
        gone = {drop.paragraph.number for drop in drops}
        whole = doc.text
        text = "\n\n".join(whole[a:b] for j, (a, b) in enumerate(zip(starts.tolist(), ends.tolist()), start=1) if j not in gone)
        return Outcome(doc, self._output(doc, text), "filtered", total, kept)

    def _judge(self, p: _Prepared, drop_doc_above: float | None) -> tuple[list[list[Drop]], np.ndarray, int, np.ndarray]:
        """Decide a batch and add its kept paragraphs to the index: the drops of each document,
        the new pids, the number of paragraphs left out of matching, and which documents are
        dropped whole (with ``drop_doc_above``). Call inside the index's batch."""
        m = len(p.rows)
        n = p.count
        ndocs = len(p.docs)
        found, index_j, index_c, fetched = self._index_matches(p)
        by_index = found >= 0
        reused = np.zeros(m, dtype=bool)
        explained: dict[int, Explained] = {}
        hits: _Hits | None = None
        if self.containment is not None and p.grams is not None:
            hits = self._reuse_hits(p, by_index)
            assignment, dropped_doc, reused, explained = self._assign_with_reuse(p, by_index, hits, drop_doc_above)
        else:
            assignment, dropped_doc = self._assign(p, by_index, drop_doc_above)
        rep = assignment.rep
        row_doc = p.doc_of[p.rows]
        totals = np.bincount(p.doc_of, minlength=ndocs)
        in_dropped = dropped_doc[row_doc]
        by_input = ~by_index & ~reused & (rep != np.arange(m))
        kept_rows = ~by_index & ~by_input & ~reused & ~in_dropped

        now = float(self.clock())
        add_rows = np.flatnonzero(kept_rows)
        pids = np.empty(0, dtype=np.int64)
        if len(add_rows):
            sizes = p.offsets[add_rows + 1] - p.offsets[add_rows]
            offsets = np.zeros(len(add_rows) + 1, dtype=np.int64)
            np.cumsum(sizes, out=offsets[1:])
            index = np.repeat(p.offsets[add_rows] - offsets[:-1], sizes) + np.arange(offsets[-1], dtype=np.int64)
            rows = p.rows[add_rows]
            records = Records(
                doc_ids=[p.docs[d].name for d in p.doc_of[rows].tolist()],
                paragraphs=p.table.number[p.start + rows],
                band_keys=p.keys[:, add_rows],
                hashes=p.hashes[index],
                offsets=offsets,
                ingested_at=now,
                exact_keys=p.exact[add_rows],
                postings=self._postings_of(p, add_rows),
            )
            pids = self.index.add(records, queried=add_rows)
        self._added_lines = p.table.line[p.start + p.rows[add_rows]].astype(np.int64)
        pid_of_row = np.full(m, -1, dtype=np.int64)
        pid_of_row[add_rows] = pids

        # Drops, per paragraph (rows are positions in p.rows; paragraphs are positions in p).
        names = [doc.name for doc in p.docs]
        drops_of: list[list[Drop]] = [[] for _ in range(ndocs)]
        row_of_paragraph = np.full(n, -1, dtype=np.int64)
        row_of_paragraph[p.rows] = np.arange(m)
        duplicate = by_index | by_input | reused
        dups_per_doc = np.bincount(row_doc[duplicate], minlength=ndocs)
        dropped_paragraphs = dropped_doc[p.doc_of]
        dropped_paragraphs[p.rows[duplicate]] = True
        own = np.zeros(m, dtype=bool)
        if fetched is not None:
            own[by_index] = self._own(fetched.pids[found[by_index]])
        doc_of = p.doc_of.tolist()
        row_of = row_of_paragraph.tolist()
        reuse_drops = self._reuse_drops(p, explained, hits, now) if explained else {}
        at = np.flatnonzero(dropped_paragraphs)
        numbers = p.table.number
        # Paragraph objects for the dropped paragraphs only, made all at once.
        for i, paragraph in zip(at.tolist(), p.table.paragraphs(p.start + at)):
            d = doc_of[i]
            k = row_of[i]
            if k >= 0 and by_index[k]:
                assert fetched is not None
                f = int(found[k])
                pid = int(fetched.pids[f])
                reason: Reason = "input" if own[k] else "index"
                match = Match(pid, fetched.doc_ids[f], int(fetched.paragraphs[f]), float(fetched.ingested_at[f]))
                drops_of[d].append(Drop(paragraph, reason, float(index_j[k]), float(index_c[k]), match))
            elif k >= 0 and by_input[k] and pid_of_row[rep[k]] >= 0:
                # (A repeat of a paragraph that was never written, its document being dropped
                # whole, is dropped with its own document: the branch below.)
                r = int(rep[k])
                rep_i = int(p.rows[r])
                match = Match(int(pid_of_row[r]), names[int(p.doc_of[rep_i])], int(numbers[p.start + rep_i]), now)
                drops_of[d].append(Drop(paragraph, "input", float(assignment.jaccard[k]), float(assignment.containment[k]), match))
            elif k >= 0 and reused[k]:
                coverage, sources = reuse_drops[k]
                drops_of[d].append(Drop(paragraph, "reuse", coverage=coverage, sources=sources))
            elif dropped_doc[d]:
                drops_of[d].append(Drop(paragraph, "document", document_share=float(dups_per_doc[d] / totals[d])))

        return drops_of, pids, n - m, dropped_doc

    # -- reuse (containment) -------------------------------------------------------------------

    def _postings_of(self, p: _Prepared, add_rows: np.ndarray) -> Postings | None:
        """The postings of the rows ``add_rows`` (positions in ``p.rows``), for the index."""
        g = p.grams
        if g is None or not self._store:
            return None
        # n-grams are in row order: row k's are first[k]:first[k + 1].
        sizes = np.diff(g.first)[add_rows]
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        at = np.repeat(g.first[add_rows] - offsets[:-1], sizes) + np.arange(int(offsets[-1]), dtype=np.int64)
        return Postings(offsets, g.hashes[at], g.doc_pos_of(at))

    def _reuse_hits(self, p: _Prepared, by_index: np.ndarray) -> _Hits:
        """Every hit of the rows not already dropped as near-duplicates of the index: in the
        index's postings and in the batch's earlier documents (see :class:`_Hits`)."""
        g = p.grams
        assert g is not None
        m, ndocs = len(p.rows), len(p.docs)
        cfg = self.reuse
        row_of_position = np.full(p.count, -1, dtype=np.int64)
        row_of_position[p.rows] = np.arange(m)
        words = g.counts[p.rows]
        # Within the batch: dedup.reuse's hits among its documents (rows and words as there).
        b_pos_row, b_pos, b_doc, b_word = batch_hits(g, p.doc_of, cfg)
        b_row = row_of_position[b_pos_row]
        b_keep = ~by_index[b_row]
        b_row, b_pos, b_doc, b_word = b_row[b_keep], b_pos[b_keep], b_doc[b_keep], b_word[b_keep]
        # The source row holding each source word.
        b_source_row = rows_holding(p.doc_of[p.rows], g.before[p.rows], words, b_doc, b_word)
        # In the index: the n-grams of the rows that may still be kept.
        gram_row = np.repeat(np.arange(m, dtype=np.int64), np.diff(g.first))
        asked = np.flatnonzero(~by_index[gram_row])
        qi, pids, i_word = self.index.query_postings(g.hashes[asked])
        at = asked[qi]
        if self._doc_first_pid is not None:  # a large document's earlier parts are no source for it
            ok = pids < self._doc_first_pid
            at, pids, i_word = at[ok], pids[ok], i_word[ok]
        i_row = gram_row[at]
        # Hits that cannot be in a run: a run's hits are at most max_gap words apart, and each
        # stored paragraph between two of them holds a word at least, so the next hit of a run
        # is in a paragraph at most max_gap + 1 pids on (a document's paragraphs are stored
        # under consecutive pids). A hit with no other hit of its row that near is isolated.
        order = np.lexsort((pids, i_row))
        r_sorted, p_sorted = i_row[order], pids[order]
        near = np.zeros(len(order), dtype=bool)
        close = (r_sorted[1:] == r_sorted[:-1]) & (p_sorted[1:] - p_sorted[:-1] <= cfg.max_gap + 1)
        near[1:] |= close
        near[:-1] |= close
        keep = np.empty(len(order), dtype=bool)
        keep[order] = near
        at, i_row, pids, i_word = at[keep], i_row[keep], pids[keep], i_word[keep]
        # Rows with too few hits to reach the coverage: a run of h hits covers at most
        # h * max(max_gap, ngram) words. Dropped before their sources are fetched.
        need = np.ceil(np.maximum(np.maximum(cfg.min_coverage * words, cfg.min_words), 1) / max(cfg.max_gap, cfg.ngram))
        need = np.maximum(need, 2)
        count = np.bincount(i_row, minlength=m) + np.bincount(b_row, minlength=m)
        hopeful = count >= need
        ok = hopeful[i_row]
        at, i_row, pids, i_word = at[ok], i_row[ok], pids[ok], i_word[ok]
        b_ok = hopeful[b_row]
        b_row, b_pos, b_doc, b_word, b_source_row = b_row[b_ok], b_pos[b_ok], b_doc[b_ok], b_word[b_ok], b_source_row[b_ok]
        names: list[str] = []
        fetched = None
        i_source = np.empty(0, dtype=np.int64)
        if len(pids):
            unique = np.unique(pids)
            fetched = self.index.fetch(unique)
            # A source is a document id: its paragraphs' words are numbered through it.
            distinct, doc_index = np.unique(np.array(fetched.doc_ids, dtype=object), return_inverse=True)
            names = [str(name) for name in distinct]
            i_source = ndocs + doc_index[np.searchsorted(unique, pids)]
        none = np.full(len(b_row), -1, dtype=np.int64)
        return _Hits(
            row=np.concatenate([i_row, b_row]),
            pos=np.concatenate([g.pos[at].astype(np.int64), b_pos]),
            source=np.concatenate([i_source, b_doc]).astype(np.int64),
            source_word=np.concatenate([i_word, b_word]).astype(np.int64),
            source_row=np.concatenate([np.full(len(i_row), -1, dtype=np.int64), b_source_row]),
            pid=np.concatenate([pids, none]),
            words=words,
            names=names,
            fetched=fetched,
        )

    def _assign_with_reuse(
        self, p: _Prepared, by_index: np.ndarray, hits: _Hits, drop_doc_above: float | None
    ) -> tuple[Assignment, np.ndarray, np.ndarray, dict[int, Explained]]:
        """:meth:`_assign`, with the rows covered by earlier documents dropped too: the
        assignment, the documents dropped whole, the rows dropped for reuse, and their
        explanations.

        As with a batch of one document at a time, only kept rows of earlier documents are
        sources, and a row dropped for reuse is no one's near-duplicate match. Every row is
        first decided against the rows kept so far; when a row dropped for reuse was a source
        or a match of a later one, or made its document be dropped whole, the documents up to
        its own are settled and those after are decided again without it. Each round drops at
        least one row more, or settles a document more."""
        m = len(p.rows)
        row_doc = p.doc_of[p.rows]
        reused = np.zeros(m, dtype=bool)
        explained: dict[int, Explained] = {}
        is_source = np.zeros(m, dtype=bool)
        is_source[hits.source_row[hits.source_row >= 0]] = True
        is_match = np.zeros(m, dtype=bool)
        is_match[p.left] = True
        d = 0
        was_dropped = np.zeros(len(p.docs), dtype=bool)
        while True:
            assignment, dropped_doc = self._assign(p, by_index | reused, drop_doc_above)
            newly = np.flatnonzero(dropped_doc & ~was_dropped)
            was_dropped = dropped_doc
            if len(newly):
                # A document dropped whole (its reuse drops took it past the ratio) is no
                # source: the rows of later documents dropped for reuse are decided again.
                e = int(newly[0])
                undo = reused & (row_doc > e)
                if undo.any():
                    reused &= ~undo
                    for r in np.flatnonzero(undo).tolist():
                        explained.pop(r, None)
                    d = min(d, e + 1)
                    continue
            near = by_index | (assignment.rep != np.arange(m))
            kept = ~near & ~reused & ~dropped_doc[row_doc]
            targets = ~near & ~reused & (row_doc >= d)
            usable = targets[hits.row] & ((hits.source_row < 0) | kept[np.maximum(hits.source_row, 0)])
            found = explain(*hits.subset(usable), hits.words, self.reuse)
            if not found:
                return assignment, dropped_doc, reused, explained
            new = np.zeros(m, dtype=bool)
            new[[e.row for e in found]] = True
            feeds = new & (is_source | is_match)
            if feeds.any():
                e = int(row_doc[feeds].min())
                new &= row_doc <= e
                d = e
            reused |= new
            explained.update((x.row, x) for x in found if new[x.row])

    def _own_line(self, pid: int) -> int | None:
        """The line of a paragraph this filter added, or None."""
        k = int(np.searchsorted(np.asarray(self._own_first, dtype=np.int64), pid, side="right")) - 1
        if k < 0 or pid > self._own_last[k] or not len(self._own_lines[k]):
            return None
        return int(self._own_lines[k][pid - self._own_first[k]])

    def _reuse_drops(self, p: _Prepared, explained: dict[int, Explained], hits: _Hits | None, now: float) -> dict[int, tuple[float, tuple[Source, ...]]]:
        """The coverage and sources of each row dropped for reuse, with the spans in characters
        of the paragraph and the source paragraphs each run lies in."""
        assert hits is not None and p.grams is not None
        g = p.grams
        ndocs = len(p.docs)
        # Where each (source, word) was hit: its stored paragraph or batch row.
        key = hits.source << 32 | hits.source_word
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        fetched = hits.fetched
        position = {int(x): k for k, x in enumerate(fetched.pids.tolist())} if fetched is not None else {}

        def where(source: int, word: int) -> tuple[int, int | None, bool]:
            """(paragraph number, line or None, from this run's input) of a source word."""
            k = order[min(int(np.searchsorted(sorted_key, source << 32 | word)), len(order) - 1)]
            r = int(hits.source_row[k])
            if r >= 0:
                q = int(p.start + p.rows[r])
                return int(table.number[q]), int(table.line[q]), True
            pid = int(hits.pid[k])
            assert fetched is not None
            line = self._own_line(pid)
            return int(fetched.paragraphs[position[pid]]), line, line is not None

        # Character offsets of the dropped rows' words (dedup.reuse's mapper, on this batch).
        table = p.table
        counts = np.zeros(len(table), dtype=np.int64)
        before = np.zeros(len(table), dtype=np.int64)
        counts[p.start : p.start + p.count] = g.counts
        before[p.start : p.start + p.count] = g.before
        mapper = CharMapper(table, [doc.text for doc in p.docs], counts, before)
        rows = np.array(sorted(explained), dtype=np.int64)
        mapper.prepare(p.start + p.rows[rows])
        n = self.reuse.ngram
        out: dict[int, tuple[float, tuple[Source, ...]]] = {}
        for r in rows.tolist():
            e = explained[r]
            t = int(p.start + p.rows[r])
            base, offset = int(mapper.word_base[t]), int(table.start[t])
            sources = []
            for src in e.sources:
                spans = []
                for first, stop, s_first, s_stop in zip(src.first.tolist(), src.stop.tolist(), src.source_first.tolist(), src.source_stop.tolist()):
                    stop = min(stop, e.words)
                    a, _, _ = where(src.source, s_first)
                    b, _, _ = where(src.source, s_stop - n)
                    start = int(mapper.word_start[base + first]) - offset
                    end = int(mapper.word_end[base + stop - 1]) - offset
                    spans.append(SourceSpan(start, end, stop - first, s_first, s_stop, (a, b)))
                places = [where(src.source, w) for w in src.source_first.tolist()] + [where(src.source, w - n) for w in src.source_stop.tolist()]
                numbers = [x[0] for x in places]
                lines = [x[1] for x in places]
                own = src.source < ndocs or all(x[2] for x in places)
                doc = p.docs[src.source].name if src.source < ndocs else hits.names[src.source - ndocs]
                sources.append(
                    Source(
                        doc,
                        "input" if own else "index",
                        src.covered / e.words,
                        src.added / e.words,
                        (min(numbers), max(numbers)),
                        None if None in lines else (min(x for x in lines if x is not None), max(x for x in lines if x is not None)),
                        tuple(sorted(spans, key=lambda span: span.start)),
                    )
                )
            out[r] = (e.covered / e.words, tuple(sources))
        return out

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
