"""A seeded, deterministic corpus of documents with planted near-duplicate paragraphs.

The shape follows what web and news text looks like to a paragraph deduplicator:

- paragraph lengths are lognormal in words (median 20, clipped to 1..800), so most paragraphs
  are a sentence or two and a few are walls of text;
- words are Zipf-distributed over a pseudo-word vocabulary built from syllables, with the common
  English function words taking the top ranks (about half of all tokens, as in English);
- sentences end with a full stop and start with a capital; some words carry a comma or a
  possessive ``’s`` (curly apostrophe), so normalization has work to do;
- a share of paragraphs (``dup_share``, default 10%) are copies of a paragraph from an earlier
  document: half exact, half with 1 to 3 word edits (substitution, insertion or deletion);
- paragraphs are grouped into documents (lognormal, median 12 paragraphs), separated by one
  blank line, one paragraph per line.

The same ``(paragraphs, seed, dup_share)`` gives the same corpus on every machine with the same
numpy (``numpy.random.Generator`` streams are stable within a numpy release).

>>> c = make_corpus(200, seed=3)
>>> len(c.paragraphs), len(c.documents) > 1, c.paragraphs == make_corpus(200, seed=3).paragraphs
(200, True, True)
>>> sum(len(p.split()) for p in c.paragraphs) > 200
True
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Corpus", "make_corpus", "write_corpus", "read_paragraphs", "read_documents"]

# The most frequent English function words, in rough frequency order; they take the top ranks
# of the Zipf law.
FUNCTION_WORDS = (
    "the of and to a in that is was he for it with as his on be at by i this had not are but from "
    "or have an they which one you were her all she there would their we him been has when who will "
    "more no if out so said what up its about into than them can only other new some could time "
    "these two may then do first any my now such like our over man me even most made after also "
    "did many before must through back years where much your way well down should because each "
    "just those people how too little state good very make world still own see men work long get "
    "here between both life being under never day same another know while last might us great old"
).split()
ZIPF_EXPONENT = 1.07
VOCABULARY = 50_000

ONSETS = "b c d f g h j k l m n p r s t v w z br cr dr fr gr pr tr bl cl fl gl pl sl st sp sk sh ch th qu".split()
VOWELS = "a e i o u a e i o ai ea ou ie".split()
CODAS = ["", "", "", "n", "r", "s", "l", "t", "m", "nd", "st", "rk", "ng"]

# Token variants: (capitalised?, suffix). Suffix codes index SUFFIXES.
SUFFIXES = ("", ",", ".", "\u2019s")
SUFFIX_P = (0.865, 0.07, 0.055, 0.01)
PLAIN, COMMA, STOP, POSSESSIVE = range(4)

PARAGRAPH_MEDIAN_WORDS = 20
PARAGRAPH_SIGMA = 0.95
PARAGRAPH_MAX_WORDS = 800
DOCUMENT_MEDIAN_PARAGRAPHS = 12
DOCUMENT_SIGMA = 0.8
DOCUMENT_MAX_PARAGRAPHS = 400


@dataclass
class Corpus:
    """Paragraph texts, their documents, and the planted copies.

    ``planted`` rows are ``(copy, source, edits)``: paragraph ``copy`` was made from paragraph
    ``source`` (an earlier document's) with ``edits`` word edits (0 for an exact copy)."""

    paragraphs: list[str]
    doc_starts: np.ndarray  # paragraph index where each document starts, plus len(paragraphs)
    planted: np.ndarray
    seed: int
    names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.names:
            width = max(6, len(str(len(self.doc_starts) - 1)))
            self.names = [f"doc{k:0{width}d}.txt" for k in range(len(self.doc_starts) - 1)]

    @property
    def documents(self) -> list[tuple[str, str]]:
        """``(name, text)`` of every document: its paragraphs separated by one blank line."""
        return list(self.iter_documents())

    def iter_documents(self) -> Iterator[tuple[str, str]]:
        for k, name in enumerate(self.names):
            lo, hi = self.doc_starts[k], self.doc_starts[k + 1]
            yield name, "\n\n".join(self.paragraphs[lo:hi]) + "\n"

    def __len__(self) -> int:
        return len(self.paragraphs)


def _vocabulary(rng: np.random.Generator, size: int) -> list[str]:
    """``size`` distinct pseudo-words of 1 to 4 syllables, shortest first (frequent words are
    short, as in natural language), function words excluded."""
    seen = set(FUNCTION_WORDS)
    words: list[str] = []
    while len(words) < size:
        batch = 2 * size
        counts = rng.choice([1, 2, 3, 4], size=batch, p=[0.2, 0.4, 0.3, 0.1])
        onsets = rng.integers(len(ONSETS), size=(batch, 4)).tolist()
        vowels = rng.integers(len(VOWELS), size=(batch, 4)).tolist()
        codas = rng.integers(len(CODAS), size=(batch, 4)).tolist()
        for k, count in enumerate(counts.tolist()):
            word = "".join(ONSETS[onsets[k][j]] + VOWELS[vowels[k][j]] + CODAS[codas[k][j]] for j in range(count))
            if word not in seen:
                seen.add(word)
                words.append(word)
                if len(words) == size:
                    break
    words.sort(key=len)
    return words


def _word_probabilities(nwords: int) -> np.ndarray:
    """One Zipf law over the whole vocabulary, function words taking the top ranks (they come
    out at about half of all tokens, as in English)."""
    p = np.arange(1, nwords + 1, dtype=np.float64) ** -ZIPF_EXPONENT
    return p / p.sum()


def make_corpus(paragraphs: int, seed: int = 0, dup_share: float = 0.1, vocabulary: int = VOCABULARY) -> Corpus:
    """A corpus of ``paragraphs`` paragraphs; see the module docstring for its shape."""
    if paragraphs < 1:
        raise ValueError(f"paragraphs must be at least 1, not {paragraphs!r}")
    if not 0.0 <= dup_share < 1.0:
        raise ValueError(f"dup_share must be in [0, 1), not {dup_share!r}")
    rng = np.random.default_rng(seed)
    words = list(FUNCTION_WORDS) + _vocabulary(rng, vocabulary)
    nwords = len(words)
    nsuffix = len(SUFFIXES)
    # Token id = (word * 2 + capitalised) * nsuffix + suffix; strings are built per id on demand.
    variants: dict[int, str] = {}

    def token(tid: int) -> str:
        s = variants.get(tid)
        if s is None:
            word, rest = divmod(tid, 2 * nsuffix)
            cap, suffix = divmod(rest, nsuffix)
            w = words[word]
            s = (w[0].upper() + w[1:] if cap else w) + SUFFIXES[suffix]
            variants[tid] = s
        return s

    # Documents and paragraph lengths.
    doc_sizes: list[int] = []
    total = 0
    while total < paragraphs:
        size = int(np.clip(round(rng.lognormal(np.log(DOCUMENT_MEDIAN_PARAGRAPHS), DOCUMENT_SIGMA)), 1, DOCUMENT_MAX_PARAGRAPHS))
        size = min(size, paragraphs - total)
        doc_sizes.append(size)
        total += size
    doc_starts = np.zeros(len(doc_sizes) + 1, dtype=np.int64)
    np.cumsum(doc_sizes, out=doc_starts[1:])
    lengths = np.clip(np.rint(rng.lognormal(np.log(PARAGRAPH_MEDIAN_WORDS), PARAGRAPH_SIGMA, paragraphs)), 1, PARAGRAPH_MAX_WORDS).astype(np.int64)
    offsets = np.zeros(paragraphs + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])

    # Words, suffixes and capitals for every token at once.
    word_ids = rng.choice(nwords, size=int(offsets[-1]), p=_word_probabilities(nwords))
    suffix = rng.choice(nsuffix, size=len(word_ids), p=SUFFIX_P)
    last = offsets[1:] - 1
    suffix[last] = STOP  # every paragraph ends a sentence
    cap = np.zeros(len(word_ids), dtype=np.int64)
    cap[1:] = suffix[:-1] == STOP
    cap[offsets[:-1]] = 1
    token_ids = (word_ids * 2 + cap) * nsuffix + suffix

    # Planted copies: a paragraph of an earlier document, exact or with a few word edits.
    doc_of = np.repeat(np.arange(len(doc_sizes)), doc_sizes)
    first_doc_end = int(doc_starts[1])
    candidates = np.arange(first_doc_end, paragraphs)
    ncopies = int(round(dup_share * paragraphs))
    ncopies = min(ncopies, len(candidates))
    copies = np.sort(rng.choice(candidates, size=ncopies, replace=False)) if ncopies else np.empty(0, dtype=np.int64)
    sources = (rng.random(ncopies) * doc_starts[doc_of[copies]]).astype(np.int64)
    edits = np.where(rng.random(ncopies) < 0.5, 0, rng.integers(1, 4, ncopies))
    overrides: dict[int, np.ndarray] = {}

    def content(i: int) -> np.ndarray:
        got = overrides.get(i)
        return got if got is not None else token_ids[offsets[i] : offsets[i + 1]]

    for copy, source, count in zip(copies.tolist(), sources.tolist(), edits.tolist()):
        text = content(source).copy()
        for _ in range(count):
            kind = rng.integers(3)
            new = int(rng.integers(nwords)) * 2 * nsuffix  # a plain, lower-case word, uniform
            pos = int(rng.integers(len(text)))
            if kind == 0 or len(text) == 1 or (kind == 1 and len(text) >= PARAGRAPH_MAX_WORDS):
                text[pos] = new
            elif kind == 1:
                text = np.insert(text, pos, new)
            else:
                text = np.delete(text, pos)
        overrides[copy] = text
    planted = np.stack([copies, sources, edits], axis=1).astype(np.int64) if ncopies else np.empty((0, 3), dtype=np.int64)

    # Paragraph strings, in chunks so the token list never holds the whole corpus.
    texts: list[str] = []
    chunk = 20_000
    for lo in range(0, paragraphs, chunk):
        hi = min(paragraphs, lo + chunk)
        ids = token_ids[offsets[lo] : offsets[hi]].tolist()
        strings = [token(t) for t in ids]
        base = int(offsets[lo])
        for i in range(lo, hi):
            got = overrides.get(i)
            if got is None:
                texts.append(" ".join(strings[offsets[i] - base : offsets[i + 1] - base]))
            else:
                texts.append(" ".join(token(t) for t in got.tolist()))
    return Corpus(texts, doc_starts, planted, seed)


def write_corpus(corpus: Corpus, path: str | os.PathLike[str], fmt: str = "txt") -> Path:
    """Write ``corpus`` for a whole-process run: ``fmt="txt"`` makes ``path`` a directory of one
    ``.txt`` file per document; ``fmt="jsonl"`` makes ``path`` one JSON Lines file of
    ``{"id": name, "text": text}``. Returns ``path``."""
    path = Path(path)
    if fmt == "txt":
        path.mkdir(parents=True, exist_ok=True)
        for name, text in corpus.iter_documents():
            (path / name).write_text(text, encoding="utf-8")
    elif fmt == "jsonl":
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as out:
            for name, text in corpus.iter_documents():
                out.write(json.dumps({"id": name, "text": text}, ensure_ascii=False))
                out.write("\n")
    else:
        raise ValueError(f"fmt must be 'txt' or 'jsonl', not {fmt!r}")
    return path


def read_documents(jsonl: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """``(name, text)`` pairs back from a file written by ``write_corpus(..., fmt="jsonl")``."""
    with open(jsonl, encoding="utf-8") as f:
        return [(row["id"], row["text"]) for row in map(json.loads, f)]


def read_paragraphs(jsonl: str | os.PathLike[str]) -> list[str]:
    """The paragraph texts, in order, from a file written by ``write_corpus(..., fmt="jsonl")``:
    documents are split at blank lines, which is exact for generated corpora (one paragraph per
    line, one blank line between)."""
    out: list[str] = []
    for _, text in read_documents(jsonl):
        out.extend(text.rstrip("\n").split("\n\n"))
    return out
