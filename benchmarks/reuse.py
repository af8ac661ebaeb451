"""Reuse detection on real prose: for each paragraph of a document, do the detectors find the
earlier documents that hold most of its text, when editors split, merged, trimmed, reordered or
reworded it? ``python -m benchmarks.reuse [--documents 80] [--seed 0] [--threshold 0.5] [--repeat 3]``.

The corpus is :mod:`benchmarks.reuse_corpus` (real prose, planted and labelled edits). Each
detector is a function from documents, in input order, to :class:`Scores`: for a paragraph
``(document, paragraph number)`` it says how much of it it finds in earlier documents and which
documents those are. A paragraph is **flagged** when its score is at or above a threshold, and
**traced** when the documents given for it include every source document of its label.

Detectors, all run in this process on the same documents:

- ``jaccard``: whole-paragraph matching alone, ``dedup.find_duplicates(documents, dedup.Config(reuse=False))``
  (word 3-gram Jaccard at or above 0.4). A paragraph is flagged when it is a member, not the
  representative, of a cluster whose representative is in another, earlier document, and traced
  to that document. It has no threshold of its own here.
- ``ngram-N`` for N in 3, 5, 8: BFF's score, the share of the paragraph's distinct word N-grams
  (of :func:`dedup.normalize`'s text) that occur in earlier documents; traced to each earlier
  document holding at least :data:`SOURCE_SHARE` of them. Swept over :data:`THRESHOLDS`.
- ``reuse``: ``dedup.reuse.find_reuse(documents)``, once it exists: links with ``.doc``,
  ``.paragraph`` (1-based), ``.coverage`` (0 to 1) and ``.sources`` (each with ``.doc``); a
  paragraph's score is its highest coverage, traced to the sources of every link at or above
  the threshold.

Targets, for each detector at its operating point: merged copies (both kinds) and prefix copies
95% or more found; split copies: 95% or more of the parts traced to their source; hard negatives
under 2% flagged; no paragraph of the unrelated real documents flagged.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks._harness import Row, machine, peak_rss_mb, print_machine, time_best, write_json
from benchmarks.reuse_corpus import CATEGORIES, REUSE_CATEGORIES, REUSE_SHARE, Label, PoolTooSmall, ReuseCorpus, make_reuse_corpus

__all__ = [
    "Scores",
    "Detection",
    "Detector",
    "Unavailable",
    "CategoryResult",
    "Outcome",
    "Measured",
    "measure",
    "jaccard_scores",
    "ngram_scores",
    "reuse_scores",
    "detectors",
    "evaluate",
    "run",
    "main",
    "add_arguments",
    "HELP",
    "THRESHOLDS",
    "NGRAM_SIZES",
    "SOURCE_SHARE",
    "DEFAULT_DOCUMENTS",
    "DEFAULT_UNRELATED",
    "DEFAULT_THRESHOLD",
    "DEFAULT_REPEAT",
]

HELP = "reuse detection on real prose: split, merged, trimmed, reordered and reworded paragraphs"
DEFAULT_DOCUMENTS = 80
DEFAULT_UNRELATED = 40
DEFAULT_THRESHOLD = 0.5
DEFAULT_REPEAT = 3
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
NGRAM_SIZES = (3, 5, 8)
# An n-gram detector traces a paragraph to each earlier document holding at least this share of
# its n-grams: low enough for the smaller half of a merge, high enough to leave out documents
# that share a stock phrase.
SOURCE_SHARE = 0.15

DEFAULT_SPEED_PARAGRAPHS = 60_000
TARGET_SPEED = 2.0  # the report with reuse, at most this many times the Jaccard-only report

TARGET_FOUND = 0.95  # merged and prefix copies found
TARGET_SPLIT_TRACED = 0.95  # parts of split copies traced to their source
TARGET_HARD_NEGATIVES = 0.02  # flagged, strictly under
TARGET_UNRELATED = 0  # flagged paragraphs of unrelated real documents

Key = tuple[str, int]  # (document, 1-based paragraph number)
Documents = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Detection:
    """The flagged paragraphs, and the documents each was traced to."""

    flagged: frozenset[Key]
    sources: Mapping[Key, frozenset[str]]


@dataclass(frozen=True)
class Scores:
    """A detector's evidence per paragraph: ``(score, documents)`` pairs, score in [0, 1].
    Kept apart from any threshold, so one run gives every point of a sweep."""

    evidence: Mapping[Key, tuple[tuple[float, frozenset[str]], ...]]

    def at(self, threshold: float) -> Detection:
        """Flagged: a score at or above ``threshold``; traced to the documents of every piece
        of evidence at or above it."""
        flagged: set[Key] = set()
        sources: dict[Key, frozenset[str]] = {}
        for key, pieces in self.evidence.items():
            docs = [d for score, d in pieces if score >= threshold]
            if docs:
                flagged.add(key)
                sources[key] = frozenset().union(*docs)
        return Detection(frozenset(flagged), sources)


class Unavailable(Exception):
    """The detector cannot run here (its module is not there yet)."""


@dataclass(frozen=True)
class Detector:
    """A detector as the suite runs it: ``score(documents)``, its settings in words, the
    thresholds swept (none for a detector that decides by itself) and its operating point."""

    name: str
    settings: str
    score: Callable[[Documents], Scores]
    threshold: float = 0.0
    thresholds: tuple[float, ...] = ()


def jaccard_scores(documents: Documents) -> Scores:
    """dedup today: cluster members whose representative is in another, earlier document."""
    import dedup

    result = dedup.find_duplicates(list(documents), dedup.Config(reuse=False))
    evidence: dict[Key, tuple[tuple[float, frozenset[str]], ...]] = {}
    for cluster in result.clusters:
        rep = cluster.representative
        for member in cluster.members[1:]:
            if member.doc != rep.doc:
                evidence[(member.doc, member.paragraph.number)] = ((1.0, frozenset({rep.doc})),)
    return Scores(evidence)


def ngram_scores(documents: Documents, n: int) -> Scores:
    """BFF's score over word ``n``-grams: the share of a paragraph's distinct n-grams already
    seen in earlier documents (a document's own n-grams join the index after it is scored)."""
    from dedup import normalize, segment

    seen: dict[tuple[str, ...], list[int]] = {}  # n-gram -> documents that hold it, ascending
    names = [name for name, _ in documents]
    evidence: dict[Key, tuple[tuple[float, frozenset[str]], ...]] = {}
    for d, (name, text) in enumerate(documents):
        own: set[tuple[str, ...]] = set()
        for paragraph in segment(text):
            words = normalize(paragraph.text).split()
            grams = {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}
            if not grams:
                continue
            hits = 0
            per_doc: Counter[int] = Counter()
            for gram in grams:
                holders = seen.get(gram)
                if holders:
                    hits += 1
                    per_doc.update(holders)
            if hits:
                traced = frozenset(names[k] for k, count in per_doc.items() if count >= SOURCE_SHARE * len(grams))
                evidence[(name, paragraph.number)] = ((hits / len(grams), traced),)
            own |= grams
        for gram in own:
            seen.setdefault(gram, []).append(d)
    return Scores(evidence)


def reuse_scores(documents: Documents) -> Scores:
    """``dedup.reuse.find_reuse``, imported here so that the suite runs before it exists."""
    try:
        from dedup.reuse import find_reuse  # type: ignore[import-not-found,unused-ignore]
    except ImportError as err:
        raise Unavailable(f"dedup.reuse.find_reuse is not available yet ({err})") from err
    evidence: dict[Key, list[tuple[float, frozenset[str]]]] = {}
    for link in find_reuse(list(documents)):
        key = (str(link.doc), int(link.paragraph))
        evidence.setdefault(key, []).append((float(link.coverage), frozenset(str(s.doc) for s in link.sources)))
    return Scores({key: tuple(pieces) for key, pieces in evidence.items()})


def detectors(threshold: float = DEFAULT_THRESHOLD) -> list[Detector]:
    """Every detector of the suite, the first the baseline of the time ratios."""
    out = [
        Detector(
            "jaccard",
            "dedup.find_duplicates(documents, dedup.Config(reuse=False)): word 3-gram Jaccard >= 0.4, MinHash LSH "
            "(128 permutations, seed 1) then exact verification; flagged = a cluster member whose representative "
            "is in an earlier document, traced to that document",
            jaccard_scores,
        )
    ]
    for n in NGRAM_SIZES:
        out.append(
            Detector(
                f"ngram-{n}",
                f"share of the paragraph's distinct word {n}-grams (dedup.normalize) seen in earlier documents >= {threshold:g} "
                f"(swept {', '.join(f'{t:g}' for t in THRESHOLDS)}); traced to earlier documents holding >= {SOURCE_SHARE:.0%} of them",
                functools.partial(ngram_scores, n=n),
                threshold,
                THRESHOLDS,
            )
        )
    out.append(
        Detector(
            "reuse",
            f"dedup.reuse.find_reuse(documents): flagged when a link's coverage >= {threshold:g} (swept {', '.join(f'{t:g}' for t in THRESHOLDS)}); "
            "traced to the sources of those links",
            reuse_scores,
            threshold,
            THRESHOLDS,
        )
    )
    return out


@dataclass(frozen=True)
class CategoryResult:
    """Of ``n`` labelled paragraphs, ``found`` were flagged and ``traced`` were flagged and
    traced to every one of their source documents."""

    n: int
    found: int
    traced: int

    @property
    def found_share(self) -> float:
        return self.found / self.n if self.n else float("nan")

    @property
    def traced_share(self) -> float:
        return self.traced / self.n if self.n else float("nan")


def evaluate(detection: Detection, labels: Iterable[Label]) -> dict[str, CategoryResult]:
    """Per category: how many labelled paragraphs were flagged, and traced."""
    n: Counter[str] = Counter()
    found: Counter[str] = Counter()
    traced: Counter[str] = Counter()
    for label in labels:
        n[label.category] += 1
        if label.key in detection.flagged:
            found[label.category] += 1
            if label.source_docs <= detection.sources.get(label.key, frozenset()):
                traced[label.category] += 1
    return {c: CategoryResult(n[c], found[c], traced[c]) for c in CATEGORIES}


def _combined(results: Mapping[str, CategoryResult], categories: Iterable[str]) -> CategoryResult:
    parts = [results[c] for c in categories]
    return CategoryResult(sum(p.n for p in parts), sum(p.found for p in parts), sum(p.traced for p in parts))


@dataclass
class Outcome:
    """One detector at one threshold: results per category and on the unrelated documents."""

    threshold: float
    categories: dict[str, CategoryResult]
    unrelated_flagged: int

    @property
    def merged(self) -> CategoryResult:
        return _combined(self.categories, ("merge", "merge-2-docs"))

    @property
    def reuse(self) -> CategoryResult:
        return _combined(self.categories, REUSE_CATEGORIES)

    def targets(self) -> dict[str, tuple[float, bool]]:
        """Each target's measured value and whether it is met."""
        merged = self.merged.found_share
        prefix = self.categories["prefix"].found_share
        split = self.categories["split"].traced_share
        hard = self.categories["hard-negative"].found_share
        return {
            "merged_found": (merged, merged >= TARGET_FOUND),
            "prefix_found": (prefix, prefix >= TARGET_FOUND),
            "split_traced": (split, split >= TARGET_SPLIT_TRACED),
            "hard_negatives_flagged": (hard, hard < TARGET_HARD_NEGATIVES),
            "unrelated_flagged": (float(self.unrelated_flagged), self.unrelated_flagged <= TARGET_UNRELATED),
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "categories": {c: {"n": r.n, "found": r.found, "traced": r.traced, "found_share": r.found_share, "traced_share": r.traced_share} for c, r in self.categories.items()},
            "unrelated_flagged": self.unrelated_flagged,
            "targets": {k: {"value": v, "met": ok} for k, (v, ok) in self.targets().items()},
        }


@dataclass
class Measured:
    """A detector's run: seconds on the evaluation documents, its operating point and sweep,
    or why it did not run."""

    detector: Detector
    seconds: float = float("nan")
    main: Outcome | None = None
    sweep: list[Outcome] = field(default_factory=list)
    unavailable: str | None = None

    @property
    def label(self) -> str:
        d = self.detector
        return f"{d.name} >={d.threshold:g}" if d.thresholds else d.name


def measure(detector: Detector, corpus: ReuseCorpus, repeat: int = 1) -> Measured:
    """Run ``detector`` on the evaluation documents (timed, best of ``repeat``: a run of a tenth
    of a second moves by half between runs on a shared machine) and on the unrelated ones."""
    documents = corpus.documents
    try:
        seconds, _, scores = time_best(lambda: detector.score(documents), repeat)
        unrelated_scores = detector.score(corpus.unrelated)
    except Unavailable as err:
        return Measured(detector, unavailable=str(err))

    def outcome(threshold: float) -> Outcome:
        return Outcome(threshold, evaluate(scores.at(threshold), corpus.labels), len(unrelated_scores.at(threshold).flagged))

    sweep = [outcome(t) for t in detector.thresholds]
    return Measured(detector, seconds, outcome(detector.threshold), sweep)


def _pct(value: float) -> str:
    return "-" if value != value else f"{100 * value:.1f}"


_LEGEND = {
    "exact": "a copy (control)",
    "light-edit": "1-2 words replaced, inserted or deleted (control)",
    "edit-5%": "5% of words replaced, inserted or deleted",
    "edit-15%": "15% of words replaced, inserted or deleted",
    "split": "a paragraph cut into 2-3 at sentence ends; each part counted",
    "merge": "two consecutive paragraphs made one",
    "merge-2-docs": "paragraphs of two source documents made one (traced: both)",
    "prefix": "first 50-80% of the words (end cut)",
    "suffix": "last 50-80% of the words (start cut)",
    "reorder-sentences": "sentences in another order",
    "reorder-paragraphs": "three consecutive paragraphs copied in another order",
    "fresh": "real paragraph of a document not among the sources (flagged = false)",
    "hard-negative": "fresh paragraph with 2-4 names, numbers, stock phrases of a source (flagged = false)",
}


def _print_table(corpus: ReuseCorpus, measured: Sequence[Measured]) -> None:
    ran = [(m, m.main) for m in measured if m.main is not None]
    headers = ["category", "n"] + [m.label for m, _ in ran]
    sub = ["", ""] + ["found / traced %" for _ in ran]
    rows: list[list[str]] = []
    for category in CATEGORIES:
        cells = [category, f"{corpus.count(category):,}"]
        for _, main in ran:
            r = main.categories[category]
            cells.append(f"{_pct(r.found_share)} / {_pct(r.traced_share)}" if category in REUSE_CATEGORIES else f"{_pct(r.found_share)} flagged")
        rows.append(cells)
    reuse_n = sum(corpus.count(c) for c in REUSE_CATEGORIES)
    rows.append(["all reuse", f"{reuse_n:,}"] + [f"{_pct(main.reuse.found_share)} / {_pct(main.reuse.traced_share)}" for _, main in ran])
    rows.append(["unrelated real text", f"{_paragraphs(corpus.unrelated):,}"] + [f"{main.unrelated_flagged:,} flagged" for _, main in ran])
    base = ran[0][0].seconds if ran else float("nan")
    rows.append(["seconds", ""] + [f"{m.seconds:.3f}" for m, _ in ran])
    rows.append(["time vs jaccard", ""] + [f"{m.seconds / base:.1f}x" for m, _ in ran])
    _print_rows([headers, sub, *rows])
    for m in measured:
        if m.unavailable:
            print(f"{m.detector.name}: {m.unavailable}")


def _print_rows(rows: Sequence[Sequence[str]]) -> None:
    """Fixed-width columns: the first left-aligned, the rest right-aligned."""
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) if k == 0 else cell.rjust(w) for k, (cell, w) in enumerate(zip(row, widths))))


def _paragraphs(documents: Documents) -> int:
    """Paragraphs of documents this suite wrote: one a line, a blank line between."""
    return sum(text.count("\n\n") + 1 for _, text in documents)


def _print_sweep(measured: Sequence[Measured]) -> None:
    headers = ["detector", "threshold", "all reuse", "merged", "prefix", "split traced", "fresh", "hard neg", "unrelated", "targets met"]
    rows = [headers]
    for m in measured:
        for o in m.sweep:
            met = sum(ok for _, ok in o.targets().values())
            rows.append(
                [
                    m.detector.name,
                    f"{o.threshold:g}",
                    _pct(o.reuse.found_share),
                    _pct(o.merged.found_share),
                    _pct(o.categories["prefix"].found_share),
                    _pct(o.categories["split"].traced_share),
                    _pct(o.categories["fresh"].found_share),
                    _pct(o.categories["hard-negative"].found_share),
                    f"{o.unrelated_flagged:,}",
                    f"{met}/5",
                ]
            )
    if len(rows) == 1:
        return
    print()
    print("threshold sweep (% of paragraphs flagged; split: % of parts traced; unrelated: paragraphs flagged)")
    _print_rows(rows)


_TARGET_TEXT = {
    "merged_found": f"merged copies (merge, merge-2-docs) found >= {TARGET_FOUND:.0%}",
    "prefix_found": f"prefix copies found >= {TARGET_FOUND:.0%}",
    "split_traced": f"split copies: parts traced to their source >= {TARGET_SPLIT_TRACED:.0%}",
    "hard_negatives_flagged": f"hard negatives flagged < {TARGET_HARD_NEGATIVES:.0%}",
    "unrelated_flagged": f"unrelated real text: paragraphs flagged = {TARGET_UNRELATED}",
}


def _print_targets(measured: Sequence[Measured]) -> None:
    print()
    for key, text in _TARGET_TEXT.items():
        print(f"target   {text}")
        for m in measured:
            if m.main is None:
                continue
            value, ok = m.main.targets()[key]
            shown = f"{value:,.0f}" if key == "unrelated_flagged" else f"{_pct(value)}%"
            print(f"           {m.label:<16} {shown:>8}  {'met' if ok else 'NOT met'}")


def _describe(corpus: ReuseCorpus) -> None:
    real = corpus.pool
    derived_paragraphs = len(corpus.labels)
    source_paragraphs = _paragraphs(corpus.sources)
    unrelated_paragraphs = _paragraphs(corpus.unrelated)
    print(
        f"corpus   real prose of Python {real.python}'s own documentation: the standard library's docstrings (read with ast) "
        f"and its Language Reference (pydoc_data.topics); {len(real.documents):,} documents, {real.paragraphs:,} paragraphs "
        f"({real.dropped:,} of {real.extracted:,} prose paragraphs dropped as sharing text with an earlier one)"
    )
    print(
        f"         seed {corpus.seed}, fingerprint {corpus.fingerprint()}: {len(corpus.sources)} sources ({source_paragraphs:,} paragraphs), "
        f"{len(corpus.derived)} derived ({derived_paragraphs:,} labelled paragraphs), fresh text from {corpus.donors} other documents, "
        f"unrelated sets of {len(corpus.unrelated_a)} and {len(corpus.unrelated_b)} documents ({unrelated_paragraphs:,} paragraphs)"
    )
    print(f"         reuse = at least {REUSE_SHARE:.0%} of a paragraph's words verbatim from its sources; categories:")
    for category in CATEGORIES:
        print(f"           {category:<19} {_LEGEND[category]}")


def measure_speed(paragraphs: int, repeat: int) -> dict[str, Any]:
    """The report with and without reuse on the same ``paragraphs`` paragraphs (the synthetic
    prose of :mod:`benchmarks.corpus`, 10% of them planted copies): the library call
    (``dedup.find_duplicates``, in this process, warmed by an untimed run on the same corpus) and
    the whole command (``dedup report FILE.jsonl --format json``, a fresh process each time,
    after an untimed one), best of ``repeat``."""
    import os
    import subprocess
    import tempfile
    import time
    from pathlib import Path

    import dedup
    from benchmarks.corpus import make_corpus, write_corpus

    corpus = make_corpus(paragraphs, seed=0)
    documents = list(corpus.iter_documents())
    out: dict[str, Any] = {"paragraphs": paragraphs, "documents": len(documents)}
    stage: list[float] = []  # the reuse stage of each run with reuse, by the pipeline's own timer
    for reuse in (False, True):
        key = "reuse" if reuse else "jaccard"

        def report(reuse: bool = reuse) -> Any:
            result = dedup.find_duplicates(documents, dedup.Config(reuse=reuse))
            if reuse:
                stage.append(result.timings["reuse"])
            return result

        report()  # warm: its first run on this corpus is not timed, as the command's is not
        stage.clear()
        best, _, result = time_best(report, repeat)
        out[f"library_{key}"] = best
        out[f"reused_{key}"] = len(result.reuse)
    out["library_reuse_stage"] = min(stage)
    with tempfile.TemporaryDirectory(prefix="dedup-bench-") as tmp:
        path = write_corpus(corpus, Path(tmp) / "corpus.jsonl", "jsonl")
        env = {**os.environ, "DEDUP_CACHE_DIR": os.environ.get("DEDUP_CACHE_DIR", str(Path(tmp) / "cache"))}
        for reuse in (False, True):
            command = [sys.executable, "-m", "dedup", "report", str(path), "--format", "json", "-o", os.devnull, *(["--reuse"] if reuse else [])]
            subprocess.run(command, check=True, env=env)  # the kernels' and tables' caches warm
            times = []
            for _ in range(max(1, repeat)):
                start = time.perf_counter()
                subprocess.run(command, check=True, env=env)
                times.append(time.perf_counter() - start)
            out[f"command_{'reuse' if reuse else 'jaccard'}"] = min(times)
    return out


def _print_speed(speed: dict[str, Any], repeat: int) -> None:
    print()
    print(
        f"speed    the report with and without --reuse on {speed['paragraphs']:,} paragraphs ({speed['documents']:,} documents of "
        f"benchmarks.corpus's synthetic prose, 10% planted copies), best of {repeat}, both sides the same threads (all cores), threshold 0.4"
    )
    for kind, what in (("library", "dedup.find_duplicates, warm, in this process"), ("command", "dedup report FILE.jsonl --format json, a new process")):
        jaccard, reuse = speed[f"{kind}_jaccard"], speed[f"{kind}_reuse"]
        ratio = reuse / jaccard
        print(f"  {kind:<8} Jaccard only {jaccard:7.3f} s   with reuse {reuse:7.3f} s   ratio {ratio:5.2f}x  (target <= {TARGET_SPEED:g}x: {'met' if ratio <= TARGET_SPEED else 'NOT met'})  {what}")
    print(f"  reused paragraphs found: {speed['reused_reuse']:,}; the reuse stage alone (the pipeline's timer, its best run): {speed['library_reuse_stage']:.3f} s")


def run(
    documents: int = DEFAULT_DOCUMENTS,
    json_path: str | None = None,
    seed: int = 0,
    unrelated: int = DEFAULT_UNRELATED,
    threshold: float = DEFAULT_THRESHOLD,
    repeat: int = DEFAULT_REPEAT,
    speed_paragraphs: int = DEFAULT_SPEED_PARAGRAPHS,
) -> int:
    """Build the corpus, run every detector, print the tables and targets, then the speed of
    the report with and without reuse on ``speed_paragraphs`` paragraphs (0: not measured); 1
    if a detector failed (an unmet target is a result, not a failure)."""
    info = machine()
    print_machine(info)
    corpus = make_reuse_corpus(documents, seed, unrelated)
    _describe(corpus)
    import dedup

    # Load dedup's kernels and normalization tables before any clock starts.
    dedup.find_duplicates([("warm-up", "Warm the kernels up before timing.\n\nA second paragraph.")])
    dedup.normalize("Warm up.")

    failures: list[str] = []
    measured: list[Measured] = []
    for detector in detectors(threshold):
        try:
            measured.append(measure(detector, corpus, repeat))
        except Exception as err:  # one broken detector must not hide the others' numbers
            failures.append(f"{detector.name}: {type(err).__name__}: {err}")
            measured.append(Measured(detector, unavailable=f"failed: {type(err).__name__}: {err}"))

    print(
        f"conditions  each detector in this process on the same {len(corpus.documents)} documents in input order "
        f"(sources, then derived); seconds: best of {repeat}, not counting the corpus or the unrelated run; dedup warmed up first"
    )
    print("detectors")
    for m in measured:
        print(f"  {m.detector.name:<9} {m.detector.settings}")
    print()
    _print_table(corpus, measured)
    _print_sweep(measured)
    _print_targets(measured)
    speed = measure_speed(speed_paragraphs, repeat) if speed_paragraphs else None
    if speed is not None:
        _print_speed(speed, repeat)
    for failure in failures:
        print(f"FAILED   {failure}")

    if json_path:
        paragraphs = _paragraphs(corpus.documents)
        rows = []
        base = next((m.seconds for m in measured if m.main is not None), float("nan"))
        for m in measured:
            if m.main is None:
                continue
            row = Row.of(m.label, paragraphs, m.seconds, peak_rss_mb(), key=m.detector.name, settings=m.detector.settings, time_vs_jaccard=m.seconds / base, **m.main.as_json())
            row.ratio = base / m.seconds if m.seconds > 0 else None
            row.extra["sweep"] = [o.as_json() for o in m.sweep]
            rows.append(row)
        write_json(
            json_path,
            "reuse",
            info,
            rows,
            corpus={
                "python": corpus.pool.python,
                "seed": seed,
                "fingerprint": corpus.fingerprint(),
                "sources": len(corpus.sources),
                "derived": len(corpus.derived),
                "unrelated": [len(corpus.unrelated_a), len(corpus.unrelated_b)],
                "counts": {c: corpus.count(c) for c in CATEGORIES},
            },
            unavailable={m.detector.name: m.unavailable for m in measured if m.unavailable},
            threshold=threshold,
            targets={"found": TARGET_FOUND, "split_traced": TARGET_SPLIT_TRACED, "hard_negatives_below": TARGET_HARD_NEGATIVES, "unrelated": TARGET_UNRELATED},
            failures=failures,
            speed=speed,
        )
    return 1 if failures else 0


def _positive(text: str) -> int:
    value = int(text.replace("_", "").replace(",", ""))
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text!r}")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be greater than 0 and at most 1, not {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """This suite's options, for its own command line and for ``python -m benchmarks reuse``."""
    parser.add_argument("--documents", type=_positive, default=DEFAULT_DOCUMENTS, help=f"source documents, and as many derived ones (default {DEFAULT_DOCUMENTS})")
    parser.add_argument("--unrelated", type=_positive, default=DEFAULT_UNRELATED, help=f"documents in each of the two unrelated sets, at most (default {DEFAULT_UNRELATED})")
    parser.add_argument("--threshold", type=_share, default=DEFAULT_THRESHOLD, help=f"operating point of the n-gram and reuse detectors (default {DEFAULT_THRESHOLD})")
    parser.add_argument("--repeat", type=_positive, default=DEFAULT_REPEAT, help=f"time each detector as the best of K runs (default {DEFAULT_REPEAT})")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    parser.add_argument(
        "--speed-paragraphs",
        type=int,
        default=DEFAULT_SPEED_PARAGRAPHS,
        help=f"time the report with and without reuse on this many paragraphs, 0 not to (default {DEFAULT_SPEED_PARAGRAPHS:,})",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON to PATH")


def run_args(args: argparse.Namespace) -> int:
    """Run the suite with the options of :func:`add_arguments`; a size the pool cannot fill is
    a usage error (exit 2), from either command line."""
    try:
        return run(args.documents, args.json, args.seed, args.unrelated, args.threshold, args.repeat, args.speed_paragraphs)
    except PoolTooSmall as err:
        print(f"reuse: error: {err}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reuse", description=HELP)
    add_arguments(parser)
    return run_args(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
