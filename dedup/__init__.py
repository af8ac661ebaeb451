"""dedup: find paragraphs repeated, exactly or nearly, across a collection of documents.

The public API is imported lazily, so that ``dedup --help`` does not pay for numpy and the
compiled kernels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "Cluster",
    "Config",
    "Document",
    "DocumentReader",
    "Drop",
    "Filter",
    "FilterStats",
    "IndexError_",
    "IndexParams",
    "Match",
    "Outcome",
    "Member",
    "Paragraph",
    "Result",
    "ShingleSpec",
    "Similarity",
    "find_duplicates",
    "index_params",
    "minhash_signatures",
    "normalize",
    "open_index",
    "segment",
    "set_threads",
    "shingles",
    "similarity",
    "threads",
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
    "Filter": "dedup.filter",
    "FilterStats": "dedup.filter",
    "Outcome": "dedup.filter",
    "Drop": "dedup.filter",
    "Match": "dedup.filter",
    "index_params": "dedup.filter",
    "open_index": "dedup.index",
    "IndexParams": "dedup.index",
    "IndexError_": "dedup.index",
    "threads": "dedup._kernel._lib",
    "set_threads": "dedup._kernel._lib",
}

if TYPE_CHECKING:
    from dedup._kernel._lib import set_threads, threads
    from dedup.documents import Document, DocumentReader
    from dedup.filter import Drop, Filter, FilterStats, Match, Outcome, index_params
    from dedup.index import IndexError_, IndexParams, open_index
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
