"""The compiled core: every loop that runs per code point, per shingle or per pair lives here.

Inputs and outputs are plain numpy arrays. The Python modules around it (``normalization``,
``signatures``, ``lsh``, ``verify``, ``cluster``, ``filter``, ``index``) own the meaning;
this package owns the speed. The loops are C (``_*.c``), compiled once when dedup is installed,
so a run starts at once and never compiles. Each C function is declared once, in ``kernels.h``,
and Python calls it through cffi wrappers made from that declaration (``_build.py``), which
check every argument's type at the call and release the GIL, so the loops run on every core
where the work is large enough (``_lib.py``). Each wrapper module checks and converts its
arrays, so a bad argument is an exception, never a read out of bounds.

=============  ==============================================================================
module         kernels
=============  ==============================================================================
hashing        xxHash32, XXH64, whole-text hashes, grouping exact copies, character to byte offsets
normalize      normalization through the code point table, UTF-8 in and out
paragraphs     paragraph boundaries, line numbers and character spans in UTF-8 documents
sets           MinHash signatures, LSH band keys, exact shingle sets and their similarities
lsh            candidate pairs from band keys, first-seen representatives
index          the embedded index's sorting, searching, merging and key filters
=============  ==============================================================================
"""

from dedup._kernel.hashing import char_to_byte_offsets, group_texts, text_hashes, xxh32, xxh64
from dedup._kernel.index import fill_filter, hash_sort, merge_runs, probe_filter, search_at, select_sorted, sorted_ranges
from dedup._kernel.lsh import assign_representatives, lsh_pairs
from dedup._kernel.normalize import normalize_utf8
from dedup._kernel.paragraphs import paragraph_spans, paragraphs_of
from dedup._kernel.sets import band_keys, hash_rows, minhash, minhash_band_keys, set_similarities, shingle_sets

__all__ = [
    "assign_representatives",
    "band_keys",
    "char_to_byte_offsets",
    "fill_filter",
    "group_texts",
    "hash_rows",
    "hash_sort",
    "lsh_pairs",
    "merge_runs",
    "minhash",
    "minhash_band_keys",
    "normalize_utf8",
    "paragraph_spans",
    "paragraphs_of",
    "probe_filter",
    "search_at",
    "select_sorted",
    "set_similarities",
    "shingle_sets",
    "sorted_ranges",
    "text_hashes",
    "xxh32",
    "xxh64",
]
