"""Exact Jaccard similarity of the reused seed paragraphs under several shingle settings.

This is the measurement behind the default ``--shingle word:3`` and ``--threshold 0.4``
(README, "Why these defaults"). Run from the project root:

    python tools/seed_similarities.py
"""

from __future__ import annotations

from pathlib import Path

from dedup.paragraphs import segment
from dedup.shingling import ShingleSpec
from dedup.verify import similarity

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
PAIRS = {
    "soldiers 003~004": (("003", 5), ("004", 5)),
    "crisis (reworded)": (("003", 11), ("004", 35)),
    "Rowley (prefix)": (("003", 15), ("004", 7)),
    "soldiers 001~003": (("001", 53), ("003", 5)),
}
SPECS = ["word:1", "word:2", "word:3", "word:4", "word:5", "char:3", "char:5", "char:7"]


def main() -> None:
    paragraphs = {}
    for path in sorted(SEEDS.glob("*.txt")):
        for p in segment(path.read_text(encoding="utf-8"), path.name[:3]):
            paragraphs[(p.doc, p.line)] = p
    texts = list(paragraphs.values())
    print(f"{'shingle':8} " + " ".join(f"{name:>18}" for name in PAIRS) + f" {'000 vs 003/004 max':>19}")
    for spec_text in SPECS:
        spec = ShingleSpec.parse(spec_text)
        row = [similarity(paragraphs[a].text, paragraphs[b].text, spec).jaccard for a, b in PAIRS.values()]
        # The background a threshold must clear: the most similar pair between 000, an article
        # from another year, and the two Sky articles.
        unrelated = max(
            similarity(x.text, y.text, spec).jaccard for x in texts if x.doc == "000" for y in texts if y.doc in ("003", "004")
        )
        print(f"{spec_text:8} " + " ".join(f"{v:18.2f}" for v in row) + f" {unrelated:19.2f}")


if __name__ == "__main__":
    main()
