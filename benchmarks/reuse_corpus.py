"""A seeded evaluation corpus for reuse detection: real prose, with planted and labelled edits.

**Why real prose.** The generated corpus of the other suites (:mod:`benchmarks.corpus`) has no
stock phrases, no names, no numbers and no sentences worth the name, so the mistakes that matter
to a reuse matcher (two texts that share "If the argument is" and ``TypeError`` and nothing
else) never happen in it. Nobody here wrote this text.

**Where it comes from, and why there.** No small package on PyPI ships books or news as package
data: the Project Gutenberg clients download at run time, and the packages that bundle text
bundle word lists, Markov tables or lines of dialogue. So the prose is the one body of real
English that every Python installation carries, with nothing to install: the documentation of
the standard library itself,

- the docstrings of its modules, classes and functions, one document per module, read with
  :mod:`ast` (nothing is imported or run), and
- the Language Reference that ``help()`` shows (``pydoc_data.topics``), one document per section.

Hundreds of people wrote it over thirty years. It is technical prose, dense with names
(``__init__``, ``TypeError``), numbers and stock phrases ("is raised if", "the object is"),
which is what makes the hard negatives hard. It changes with the Python version, so a run prints
the version and a fingerprint of the corpus.

**The pool.** A block of a docstring or a section between blank lines is kept as a paragraph when
it reads as prose: at least 12 and at most 300 words, at least 80% of them plain words, ending a
sentence, and not code, a doctest, a grammar rule, a table or a heading. Its whitespace is
collapsed to single spaces. The standard library repeats itself (``_pyio`` copies ``io``, the
Reference's ``specialnames`` holds ``customization``, overloads share a docstring), and a
"fresh" paragraph must be fresh: a paragraph is dropped when 10% of its word 5-grams (of
:func:`dedup.normalize`'s text) occur in one earlier kept paragraph, or it holds 20% of one's.
Documents keep their paragraphs in order; those left with fewer than 3 are dropped.

**The corpus.** With ``random.Random(seed)``, the pool's documents are dealt out: ``documents``
sources (each with at least 8 paragraphs), donors of fresh text (never shown to a detector),
and two sets of ``unrelated`` documents each. Derived document ``k`` is made from source ``k``:
its paragraphs are taken, each at most once in the whole corpus, into blocks of the category
that has the fewest blocks so far among those the remaining paragraphs allow:

==================== =================================================================== =====
category             what the derived paragraph is                                       reuse
==================== =================================================================== =====
exact                a copy (control)                                                    yes
light-edit           a copy with 1 or 2 words replaced, inserted or deleted (control)    yes
edit-5%, edit-15%    5% or 15% of its words replaced (by a real word drawn from the      yes
                     pool), inserted or deleted
split                one paragraph cut at sentence ends into 2 or 3 (each part at least  yes
                     8 words, each labelled with the source)
merge                two consecutive paragraphs made one                                 yes
merge-2-docs         a paragraph of this source and one of another source made one       yes
prefix               its first 50-80% of words (the end cut)                             yes
suffix               its last 50-80% of words (the start cut)                            yes
reorder-sentences    its sentences in another order                                      yes
reorder-paragraphs   three consecutive paragraphs, copied in another order               yes
fresh                a paragraph of a donor document                                     no
hard-negative        a donor paragraph of 30+ words with 2-4 names, numbers or stock     no
                     phrases (3-5 common words) of a source paragraph spliced in
==================== =================================================================== =====

Each derived document also gets fresh and hard-negative paragraphs, a fifth as many of each as
it has blocks; then its blocks are shuffled (a block's paragraphs stay together). Every derived
paragraph has a :class:`Label`: its category, whether it is reuse, its source paragraphs and the
share of its words that are verbatim from them. Reuse means at least 80% verbatim, and the
builder checks that every reuse category meets it and every negative does not.

Documents are written as dedup reads them: one paragraph a line, paragraphs separated by one
blank line; the builder checks that :func:`dedup.segment` finds exactly the labelled paragraphs.

>>> sentences("It is. It was (here). \\"Quoted.\\" Last one? e.g. not split")
['It is.', 'It was (here).', '"Quoted."', 'Last one? e.g. not split']
"""

from __future__ import annotations

import ast
import functools
import hashlib
import os
import platform
import random
import re
import sysconfig
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "REUSE_CATEGORIES",
    "NEGATIVE_CATEGORIES",
    "CATEGORIES",
    "REUSE_SHARE",
    "Label",
    "PoolDocument",
    "Pool",
    "ReuseCorpus",
    "PoolTooSmall",
    "pool",
    "make_reuse_corpus",
    "sentences",
]

REUSE_CATEGORIES = (
    "exact",
    "light-edit",
    "edit-5%",
    "edit-15%",
    "split",
    "merge",
    "merge-2-docs",
    "prefix",
    "suffix",
    "reorder-sentences",
    "reorder-paragraphs",
)
NEGATIVE_CATEGORIES = ("fresh", "hard-negative")
CATEGORIES = REUSE_CATEGORIES + NEGATIVE_CATEGORIES

# A derived paragraph is reuse when at least this share of its words is verbatim from sources.
REUSE_SHARE = 0.8

MIN_WORDS = 12  # shorter blocks are captions, signatures and headings more often than prose
MAX_WORDS = 300
MIN_SOURCE_PARAGRAPHS = 8  # enough for several kinds of block from one source
MIN_DOCUMENT_PARAGRAPHS = 3
MIN_PART_WORDS = 8  # each part of a split
MIN_TRIM_WORDS = 20  # a trimmed paragraph keeps at least 10 words
MIN_HARD_BASE_WORDS = 30  # so that 2-4 spliced items stay a minority of the words
NEGATIVE_SHARE = 0.2  # fresh (and hard-negative) paragraphs per block of a derived document
COMMON_WORDS = 300  # the pool's commonest words make the stock phrases
# Pool cleaning, on word 5-grams of normalized text (see the module docstring).
DEDUPE_N = 5
DEDUPE_SHARE_OF_NEW = 0.1
DEDUPE_SHARE_OF_KEPT = 0.2

# Directories of the standard library that are not its documentation: tests, demos, and the
# installed third-party packages.
_SKIP_DIRS = frozenset({"test", "tests", "idle_test", "idlelib", "turtledemo", "site-packages", "dist-packages", "ensurepip", "pydoc_data", "__pycache__"})
_UNDERLINE = re.compile(r"^\s*([*=\-^~#\"'`+])\1{2,}\s*$")
_PLAIN_WORD = re.compile(r"^[(\"“'‘]*[A-Za-z][A-Za-z'’\-]*[.,;:!?)”\"']*$")
_SENTENCE_BREAK = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"”')]))\s+(?=[\"“'(]?[A-Z])")
_BARE = re.compile(r"^[^\w]+|[^\w]+$")


def sentences(text: str) -> list[str]:
    """``text`` cut after a full stop, question or exclamation mark (and a closing quote or
    bracket) that a capital follows: good enough for prose, and an abbreviation followed by a
    capital only makes one more cut."""
    return [s for s in _SENTENCE_BREAK.split(text) if s]


@dataclass(frozen=True)
class PoolDocument:
    """A real document: its name in the pool (``stdlib/json/decoder.py``,
    ``reference/assignment/1``) and its prose paragraphs, in order."""

    name: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class Pool:
    """The real documents the corpus is dealt from, and how they were cleaned."""

    documents: tuple[PoolDocument, ...]
    extracted: int  # prose paragraphs found
    dropped: int  # of those, dropped as sharing text with an earlier one
    python: str
    vocabulary: tuple[str, ...] = field(repr=False)  # every plain word of the pool, repeats kept
    common: frozenset[str] = field(repr=False)  # its COMMON_WORDS commonest words, normalized

    @property
    def paragraphs(self) -> int:
        return sum(len(d.paragraphs) for d in self.documents)


@dataclass(frozen=True)
class Label:
    """What a derived paragraph is. ``sources`` are ``(document, paragraph number)`` of the
    source paragraphs it was made from (for a hard negative, the paragraph its names and
    phrases came from); ``verbatim`` is the share of its words copied from them."""

    doc: str
    paragraph: int
    category: str
    reuse: bool
    sources: tuple[tuple[str, int], ...]
    verbatim: float

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown category {self.category!r}")
        if self.reuse != (self.category in REUSE_CATEGORIES):
            raise ValueError(f"{self.category} paragraphs are {'not ' if self.reuse else ''}reuse")
        if self.reuse != (self.verbatim >= REUSE_SHARE):
            raise ValueError(f"{self.doc}:{self.paragraph} ({self.category}) is {self.verbatim:.0%} verbatim")

    @property
    def key(self) -> tuple[str, int]:
        return (self.doc, self.paragraph)

    @property
    def source_docs(self) -> frozenset[str]:
        return frozenset(doc for doc, _ in self.sources)


@dataclass(frozen=True)
class ReuseCorpus:
    """Sources, derived documents and their labels, and two sets of unrelated documents.
    Documents are ``(name, text)``; a detector sees ``documents`` (sources first, then derived)
    or ``unrelated`` (set A, then set B)."""

    sources: tuple[tuple[str, str], ...]
    derived: tuple[tuple[str, str], ...]
    labels: tuple[Label, ...]
    unrelated_a: tuple[tuple[str, str], ...]
    unrelated_b: tuple[tuple[str, str], ...]
    seed: int
    pool: Pool = field(repr=False)
    donors: int  # documents the fresh text was taken from

    @property
    def documents(self) -> list[tuple[str, str]]:
        return [*self.sources, *self.derived]

    @property
    def unrelated(self) -> list[tuple[str, str]]:
        return [*self.unrelated_a, *self.unrelated_b]

    def count(self, category: str) -> int:
        return sum(1 for label in self.labels if label.category == category)

    def fingerprint(self) -> str:
        """12 hex digits of SHA-256 over every document's name and text: equal fingerprints,
        equal corpora."""
        digest = hashlib.sha256()
        for name, text in [*self.documents, *self.unrelated]:
            digest.update(name.encode() + b"\0" + text.encode("utf-8", "surrogatepass") + b"\0")
        return digest.hexdigest()[:12]


def _prose(block: str) -> str | None:
    """``block`` with its whitespace collapsed if it reads as prose, else ``None``."""
    lines = [line for line in block.split("\n") if line.strip()]
    if not lines or lines[0].startswith("  "):  # code and quoted examples are indented
        return None
    if any(_UNDERLINE.match(line) for line in lines):
        return None
    if ">>>" in block or "::=" in block or "|" in block or "\t" in block:
        return None
    text = " ".join(block.split())
    words = text.split()
    if not MIN_WORDS <= len(words) <= MAX_WORDS:
        return None
    if sum(1 for w in words if _PLAIN_WORD.match(w)) < 0.8 * len(words):
        return None
    if text[-1] not in ".?!)”\"":
        return None
    return text


def _prose_paragraphs(text: str) -> list[str]:
    return [p for p in map(_prose, re.split(r"\n[ \t]*\n", text)) if p]


def _sections(text: str) -> list[str]:
    """A Reference topic cut at its headings (a line underlined with ``***``, ``===`` ...)."""
    lines = text.split("\n")
    out: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(lines):
        if i + 1 < len(lines) and lines[i].strip() and _UNDERLINE.match(lines[i + 1]):
            if current:
                out.append("\n".join(current))
            current = []
            i += 2
            continue
        current.append(lines[i])
        i += 1
    if current:
        out.append("\n".join(current))
    return out


def _reference_documents() -> Iterator[tuple[str, list[str]]]:
    try:
        from pydoc_data.topics import topics
    except ImportError:  # some distributions package it apart; the docstrings are enough
        return
    for topic in sorted(topics):
        for k, section in enumerate(_sections(topics[topic]), start=1):
            yield f"reference/{topic}/{k}", _prose_paragraphs(section)


def _docstrings(node: ast.AST) -> Iterator[str]:
    """Docstrings of ``node`` and the classes and functions in it, in source order."""
    if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        doc = ast.get_docstring(node)
        if doc:
            yield doc
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            yield from _docstrings(child)


def _stdlib_documents() -> Iterator[tuple[str, list[str]]]:
    root = Path(sysconfig.get_paths()["stdlib"])
    files: list[Path] = []
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in _SKIP_DIRS)
        files.extend(Path(directory, name) for name in names if name.endswith(".py"))
    for path in sorted(files, key=lambda p: p.relative_to(root).as_posix()):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # old escape sequences in some files warn
                tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError, OSError):
            continue
        yield f"stdlib/{path.relative_to(root).as_posix()}", [p for doc in _docstrings(tree) for p in _prose_paragraphs(doc)]


@functools.lru_cache(maxsize=1)
def pool() -> Pool:
    """The cleaned pool of real documents (built once per process: it reads the standard
    library, a few seconds)."""
    from dedup import normalize

    raw = [*_reference_documents(), *_stdlib_documents()]
    grams_of: list[int] = []  # kept paragraph -> its number of distinct 5-grams
    index: dict[tuple[str, ...], list[int]] = {}
    documents: list[PoolDocument] = []
    extracted = dropped = 0
    for name, paragraphs in raw:
        kept: list[str] = []
        for text in paragraphs:
            extracted += 1
            words = normalize(text).split()
            grams = {tuple(words[i : i + DEDUPE_N]) for i in range(len(words) - DEDUPE_N + 1)}
            if not grams:
                dropped += 1
                continue
            shared: Counter[int] = Counter()
            for gram in grams:
                shared.update(index.get(gram, ()))
            if any(count >= DEDUPE_SHARE_OF_NEW * len(grams) or count >= DEDUPE_SHARE_OF_KEPT * grams_of[pid] for pid, count in shared.items()):
                dropped += 1
                continue
            pid = len(grams_of)
            grams_of.append(len(grams))
            for gram in grams:
                index.setdefault(gram, []).append(pid)
            kept.append(text)
        if len(kept) >= MIN_DOCUMENT_PARAGRAPHS:
            documents.append(PoolDocument(name, tuple(kept)))
        else:
            dropped += len(kept)
    vocabulary = tuple(bare for d in documents for p in d.paragraphs for w in p.split() if (bare := _BARE.sub("", w)).isalpha())
    counts = Counter(normalize(w) for w in vocabulary)
    common = frozenset(w for w, _ in counts.most_common(COMMON_WORDS))
    return Pool(tuple(documents), extracted, dropped, platform.python_version(), vocabulary, common)


# --- Planted edits ------------------------------------------------------------------------
# A derived paragraph is built as marked words: (word, copied from the source?), so that the
# share of verbatim words is counted, not assumed.
Marked = list[tuple[str, bool]]


def _marked(text: str, copied: bool = True) -> Marked:
    return [(w, copied) for w in text.split()]


def _text(marked: Marked) -> str:
    return " ".join(w for w, _ in marked)


def _share(marked: Marked) -> float:
    return sum(1 for _, copied in marked if copied) / len(marked)


def _word_edits(text: str, edits: int, rng: random.Random, vocabulary: Sequence[str]) -> Marked:
    """``edits`` edits, each a replacement, an insertion or a deletion at a random place; new
    words are drawn from the pool's running text (so by their real frequency)."""
    marked = _marked(text)
    for _ in range(edits):
        kind = rng.randrange(3)
        if kind == 2 and len(marked) > MIN_WORDS // 2:
            del marked[rng.randrange(len(marked))]
        elif kind == 1:
            marked.insert(rng.randrange(len(marked) + 1), (rng.choice(vocabulary), False))
        else:
            pos = rng.randrange(len(marked))
            old = _BARE.sub("", marked[pos][0]).lower()
            new = rng.choice(vocabulary)
            while new.lower() == old:
                new = rng.choice(vocabulary)
            marked[pos] = (new, False)
    return marked


def _split_cuts(parts: Sequence[str], pieces: int) -> list[tuple[int, ...]]:
    """Ways to cut the sentences ``parts`` into ``pieces`` runs of at least MIN_PART_WORDS words:
    tuples of cut positions."""
    words = [len(s.split()) for s in parts]
    n = len(parts)
    out: list[tuple[int, ...]] = []

    def enough(lo: int, hi: int) -> bool:
        return sum(words[lo:hi]) >= MIN_PART_WORDS

    if pieces == 2:
        out = [(c,) for c in range(1, n) if enough(0, c) and enough(c, n)]
    else:
        out = [(a, b) for a in range(1, n) for b in range(a + 1, n) if enough(0, a) and enough(a, b) and enough(b, n)]
    return out


def _permuted(items: Sequence[str], rng: random.Random) -> list[str]:
    """``items`` in another order (never the same one, unless all are equal)."""
    order = list(items)
    if len(set(items)) < 2:
        return order
    while order == list(items):
        rng.shuffle(order)
    return order


def _is_name(word: str, sentence_start: bool) -> bool:
    """A name or a number as the hard negatives borrow them: digits, an identifier
    (``__init__``, ``os.path``, ``TypeError``), or a capitalised word inside a sentence."""
    bare = _BARE.sub("", word)
    if not bare:
        return False
    if any(c.isdigit() for c in bare) or "_" in bare or "." in bare:
        return True
    if any(c.isupper() for c in bare[1:]):
        return True
    return bare[0].isupper() and not sentence_start


def _borrowable(text: str, common: frozenset[str]) -> tuple[list[str], list[str]]:
    """The names and numbers of ``text``, and its stock phrases: runs of 3 to 5 words, all
    among the pool's commonest, within one sentence."""
    from dedup import normalize

    words = text.split()
    names: list[str] = []
    phrases: list[str] = []
    starts = {0} | {i + 1 for i, w in enumerate(words) if w[-1:] in ".!?"}
    for i, w in enumerate(words):
        if _is_name(w, i in starts):
            names.append(_BARE.sub("", w))
    plain = [normalize(w) in common and w[-1:] not in ".!?:;," for w in words]
    for i in range(len(words)):
        for length in (5, 4, 3):
            if i + length <= len(words) and all(plain[i : i + length - 1]) and normalize(words[i + length - 1]) in common:
                phrases.append(" ".join(words[i : i + length - 1] + [_BARE.sub("", words[i + length - 1])]))
                break
    return list(dict.fromkeys(names)), list(dict.fromkeys(phrases))


def _hard_negative(base: str, source: Sequence[str], rng: random.Random, common: frozenset[str]) -> tuple[Marked, int]:
    """``base`` (fresh text) with 2-4 names, numbers or stock phrases of one paragraph of
    ``source`` spliced in at word boundaries; returns it and that paragraph's index."""
    candidates = [(i, *_borrowable(p, common)) for i, p in enumerate(source)]
    rich = [c for c in candidates if len(c[1]) + len(c[2]) >= 2 and c[1] and c[2]]
    index, names, phrases = rng.choice(rich) if rich else max(candidates, key=lambda c: len(c[1]) + len(c[2]))
    wanted = rng.randint(2, 4)
    items: list[str] = []
    if names:
        items.append(rng.choice(names))
    if phrases:
        items.append(rng.choice(phrases))
    rest = [x for x in names + phrases if x not in items]
    rng.shuffle(rest)
    items += rest[: max(0, wanted - len(items))]
    if not items:  # a paragraph with no name, number or stock phrase: borrow its opening words
        items = [" ".join(source[index].split()[:3])]
    marked = _marked(base, copied=False)
    for item in items:
        pos = rng.randrange(len(marked) + 1)
        marked[pos:pos] = _marked(item)
    return marked, index


class PoolTooSmall(ValueError):
    """The pool has too few documents, or too little text, for the corpus asked for."""


# --- Dealing out the corpus ----------------------------------------------------------------


@dataclass
class _Block:
    """Consecutive derived paragraphs: (marked words, category, source paragraphs) each."""

    paragraphs: list[tuple[Marked, str, tuple[tuple[int, int], ...]]]


class _Builder:
    """Makes the blocks of the derived documents from the source documents' paragraphs, each
    paragraph used at most once in the whole corpus."""

    def __init__(self, sources: Sequence[PoolDocument], rng: random.Random, vocabulary: Sequence[str]) -> None:
        self.sources = sources
        self.rng = rng
        self.vocabulary = vocabulary
        self.unused = [set(range(len(d.paragraphs))) for d in sources]
        self.counts = Counter({c: 0 for c in REUSE_CATEGORIES})
        # What each paragraph's own text allows, worked out once.
        self.splittable = [{i for i, p in enumerate(d.paragraphs) if _split_cuts(sentences(p), 2)} for d in sources]
        self.reorderable = [{i for i, p in enumerate(d.paragraphs) if len(set(sentences(p))) >= 2} for d in sources]
        self.trimmable = [{i for i, p in enumerate(d.paragraphs) if len(p.split()) >= MIN_TRIM_WORDS} for d in sources]

    def text(self, doc: int, i: int) -> str:
        return self.sources[doc].paragraphs[i]

    def _eligible(self, category: str, doc: int) -> list[int]:
        """Paragraphs of ``doc`` a block of ``category`` can start at (for the runs, the first
        of consecutive unused ones)."""
        free = self.unused[doc]
        if category == "merge":
            return sorted(i for i in free if i + 1 in free)
        if category == "reorder-paragraphs":
            return sorted(i for i in free if i + 1 in free and i + 2 in free)
        if category == "split":
            return sorted(free & self.splittable[doc])
        if category == "reorder-sentences":
            return sorted(free & self.reorderable[doc])
        if category in ("prefix", "suffix"):
            return sorted(free & self.trimmable[doc])
        if category == "merge-2-docs":
            return sorted(free) if any(self.unused[d] for d in range(len(self.sources)) if d != doc) else []
        return sorted(free)

    def blocks(self, doc: int) -> list[_Block]:
        """Blocks from source ``doc`` until its unused paragraphs allow no more, each of the
        category with the fewest blocks so far (ties broken at random)."""
        out: list[_Block] = []
        while True:
            order = sorted(REUSE_CATEGORIES, key=lambda c: (self.counts[c], self.rng.random()))
            for category in order:
                eligible = self._eligible(category, doc)
                if eligible:
                    out.append(self._block(category, doc, self.rng.choice(eligible)))
                    self.counts[category] += 1
                    break
            else:
                return out

    def _take(self, doc: int, i: int) -> str:
        self.unused[doc].remove(i)
        return self.text(doc, i)

    def _block(self, category: str, doc: int, i: int) -> _Block:
        rng = self.rng
        text = self._take(doc, i)
        here = ((doc, i),)
        words = text.split()
        if category == "exact":
            return _Block([(_marked(text), category, here)])
        if category == "light-edit":
            return _Block([(_word_edits(text, rng.randint(1, 2), rng, self.vocabulary), category, here)])
        if category in ("edit-5%", "edit-15%"):
            rate = 0.05 if category == "edit-5%" else 0.15
            return _Block([(_word_edits(text, max(1, round(rate * len(words))), rng, self.vocabulary), category, here)])
        if category == "split":
            parts = sentences(text)
            cuts = _split_cuts(parts, 3) if rng.random() < 0.5 else []
            cut = rng.choice(cuts or _split_cuts(parts, 2))
            bounds = [0, *cut, len(parts)]
            return _Block([(_marked(" ".join(parts[a:b])), category, here) for a, b in zip(bounds, bounds[1:])])
        if category == "merge":
            second = self._take(doc, i + 1)
            return _Block([(_marked(text + " " + second), category, ((doc, i), (doc, i + 1)))])
        if category == "merge-2-docs":
            other = rng.choice([d for d in range(len(self.sources)) if d != doc and self.unused[d]])
            j = rng.choice(sorted(self.unused[other]))
            second = self._take(other, j)
            pair = [((doc, i), text), ((other, j), second)]
            rng.shuffle(pair)
            return _Block([(_marked(pair[0][1] + " " + pair[1][1]), category, (pair[0][0], pair[1][0]))])
        if category in ("prefix", "suffix"):
            keep = max(MIN_WORDS // 2, round(rng.uniform(0.5, 0.8) * len(words)))
            kept = words[:keep] if category == "prefix" else words[-keep:]
            return _Block([(_marked(" ".join(kept)), category, here)])
        if category == "reorder-sentences":
            return _Block([(_marked(" ".join(_permuted(sentences(text), rng))), category, here)])
        if category == "reorder-paragraphs":
            run = [(i, text), (i + 1, self._take(doc, i + 1)), (i + 2, self._take(doc, i + 2))]
            order = list(range(3))
            while order == [0, 1, 2]:
                rng.shuffle(order)
            return _Block([(_marked(run[k][1]), category, ((doc, run[k][0]),)) for k in order])
        raise ValueError(f"unknown category {category!r}")


def _document_text(paragraphs: Sequence[str]) -> str:
    return "\n\n".join(paragraphs) + "\n"


def _check_segments(name: str, text: str, expected: int) -> None:
    from dedup import segment

    found = len(segment(text))
    if found != expected:
        raise RuntimeError(f"{name}: dedup.segment finds {found} paragraphs, {expected} were written")


def make_reuse_corpus(documents: int, seed: int = 0, unrelated: int = 40) -> ReuseCorpus:
    """The evaluation corpus: ``documents`` sources and as many derived documents, and up to
    ``unrelated`` documents in each of the two unrelated sets (fewer when the pool runs out).
    See the module docstring."""
    if documents < 2:
        raise ValueError(f"documents must be at least 2 (a merge takes two sources), not {documents!r}")
    if unrelated < 1:
        raise ValueError(f"unrelated must be at least 1, not {unrelated!r}")
    real = pool()
    rng = random.Random(seed)
    order = list(real.documents)
    rng.shuffle(order)
    big = [d for d in order if len(d.paragraphs) >= MIN_SOURCE_PARAGRAPHS]
    if len(big) < documents:
        raise PoolTooSmall(f"the pool holds {len(big)} documents of {MIN_SOURCE_PARAGRAPHS}+ paragraphs (Python {real.python}); ask for at most that many")
    sources = big[:documents]
    taken = {d.name for d in sources}
    rest = [d for d in order if d.name not in taken]

    builder = _Builder(sources, rng, real.vocabulary)
    plans = [builder.blocks(k) for k in range(documents)]
    negatives = [max(1, round(NEGATIVE_SHARE * len(blocks))) for blocks in plans]

    # Fresh text: whole donor documents, taken until they hold enough paragraphs.
    need = sum(negatives)
    long_ones: list[str] = []
    short_ones: list[str] = []
    donors = 0
    while len(long_ones) < need or len(long_ones) + len(short_ones) < 2 * need:
        if donors == len(rest):
            raise PoolTooSmall(f"the pool has too little text for {documents} sources; ask for fewer")
        for p in rest[donors].paragraphs:
            (long_ones if len(p.split()) >= MIN_HARD_BASE_WORDS else short_ones).append(p)
        donors += 1
    rng.shuffle(long_ones)
    hard_bases = long_ones[:need]
    fresh_texts = long_ones[need:] + short_ones
    rng.shuffle(fresh_texts)
    fresh_texts = fresh_texts[:need]

    source_names = [f"source-{k:03d}:{d.name}" for k, d in enumerate(sources)]
    derived: list[tuple[str, str]] = []
    labels: list[Label] = []
    for k, blocks in enumerate(plans):
        blocks = list(blocks)
        for _ in range(negatives[k]):
            blocks.append(_Block([(_marked(fresh_texts.pop(), copied=False), "fresh", ())]))
            marked, j = _hard_negative(hard_bases.pop(), sources[k].paragraphs, rng, real.common)
            blocks.append(_Block([(marked, "hard-negative", ((k, j),))]))
        rng.shuffle(blocks)
        name = f"derived-{k:03d}"
        texts: list[str] = []
        for block in blocks:
            for marked, category, origin in block.paragraphs:
                texts.append(_text(marked))
                named = tuple((source_names[d], i + 1) for d, i in origin)
                labels.append(Label(name, len(texts), category, category in REUSE_CATEGORIES, named, round(_share(marked), 4)))
        text = _document_text(texts)
        _check_segments(name, text, len(texts))
        derived.append((name, text))

    source_docs = []
    for name, d in zip(source_names, sources):
        text = _document_text(d.paragraphs)
        _check_segments(name, text, len(d.paragraphs))
        source_docs.append((name, text))

    left = rest[donors:]
    half = min(unrelated, len(left) // 2)
    sets = []
    for tag, docs in (("a", left[:half]), ("b", left[half : 2 * half])):
        written = [(f"unrelated-{tag}-{k:03d}:{doc.name}", _document_text(doc.paragraphs), len(doc.paragraphs)) for k, doc in enumerate(docs)]
        for name, text, count in written:
            _check_segments(name, text, count)
        sets.append(tuple((name, text) for name, text, _ in written))
    return ReuseCorpus(tuple(source_docs), tuple(derived), tuple(labels), sets[0], sets[1], seed, real, donors)
