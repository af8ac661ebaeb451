"""dedup: find paragraphs repeated, exactly or nearly, across a collection of documents.

The public API is imported lazily, so that ``dedup --help`` does not pay for numpy and numba.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "Cluster",
    "Config",
    "Document",
    "DocumentReader",
    "Member",
    "Paragraph",
    "Result",
    "ShingleSpec",
    "Similarity",
    "find_duplicates",
    "minhash_signatures",
    "normalize",
    "segment",
    "shingles",
    "similarity",
]
__version__ = "0.1.0"

_HOMES = {
    "Cluster": "dedup.pipeline",
    "Config": "dedup.pipeline",
    "Member": "dedup.pipeline",
    "Result": "dedup.pipeline",
    "find_duplicates": "dedup.pipeline",
    "Document": "dedup.documents",
    "DocumentReader": "dedup.documents",
    "Paragraph": "dedup.paragraphs",
    "segment": "dedup.paragraphs",
    "ShingleSpec": "dedup.shingling",
    "shingles": "dedup.shingling",
    "normalize": "dedup.normalization",
    "minhash_signatures": "dedup.signatures",
    "Similarity": "dedup.verify",
    "similarity": "dedup.verify",
}

if TYPE_CHECKING:
    from dedup.documents import Document, DocumentReader
    from dedup.normalization import normalize
    from dedup.paragraphs import Paragraph, segment
    from dedup.pipeline import Cluster, Config, Member, Result, find_duplicates
    from dedup.shingling import ShingleSpec, shingles
    from dedup.signatures import minhash_signatures
    from dedup.verify import Similarity, similarity


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'dedup' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
