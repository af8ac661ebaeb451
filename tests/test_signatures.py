"""dedup.signatures and the hashing kernel: bit-identical to datasketch with xxHash32."""

from __future__ import annotations

import datasketch
import numpy as np
import pytest
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import _kernel
from dedup.shingling import ShingleSpec, shingles
from dedup.signatures import minhash_signatures, permutations

# datasketch's value for "no shingle yet" in every column (datasketch.minhash._max_hash).
EMPTY_HASH = np.uint32(0xFFFFFFFF)

TRICKY = [
    "Soldiers",
    "are",
    "on",
    "standby",
    " ",
    "’s",
    "—",
    "\u00ad",
    "\u200b",
    "\u00a0",
    "\r\n",
    "\f",
    "e\u0301",
    "\u1100\u1161",
    "\uac00",
    "ß",
    "ﬁ",
    "Ａ",
    "“",
    "😀",
]
FULL_RANGE = st.characters(exclude_categories=()) | st.characters(categories=["Cs"])
TEXTS = st.lists(
    st.text()
    | st.text(FULL_RANGE)
    | st.lists(st.sampled_from(TRICKY) | st.characters(), max_size=40).map("".join)
    | st.just(""),
    max_size=6,
)

# (num_perm, seed, shingle): the defaults, the extremes of every argument, both shingle kinds.
COMBOS = [
    pytest.param(128, 1, "word:3", id="defaults"),
    pytest.param(1, 0, "word:1", id="one-perm-seed-0"),
    pytest.param(7, 2**32 - 1, "char:1", id="largest-seed-char-1"),
    pytest.param(64, 42, "char:5", id="char-5"),
    pytest.param(200, 12345, "word:2", id="word-2"),
    pytest.param(16, 3, "word:64", id="longest-shingle"),
]


def datasketch_row(text: str, num_perm: int, seed: int, spec: ShingleSpec) -> np.ndarray:
    m = datasketch.MinHash(num_perm=num_perm, seed=seed, hashfunc=xxhash.xxh32_intdigest)
    for s in shingles(text, spec.kind, spec.n):
        m.update(s)
    return m.hashvalues


@pytest.mark.parametrize(("num_perm", "seed", "shingle"), COMBOS)
@settings(max_examples=60, deadline=None)
@given(texts=TEXTS)
def test_rows_equal_datasketch(num_perm: int, seed: int, shingle: str, texts: list[str]) -> None:
    spec = ShingleSpec.parse(shingle)
    sig = minhash_signatures(texts, num_perm, seed, shingle)
    assert sig.dtype == np.uint32
    assert sig.shape == (len(texts), num_perm)
    for i, text in enumerate(texts):
        expected = datasketch_row(text, num_perm, seed, spec)
        assert expected.dtype == np.uint32
        assert np.array_equal(sig[i], expected), (i, text)


def test_spec_object_and_string_give_the_same_signatures() -> None:
    texts = ["Soldiers are on standby for armed police", "Ça été un « été » chaud"]
    assert np.array_equal(minhash_signatures(texts, 32, 5, "char:4"), minhash_signatures(texts, 32, 5, ShingleSpec("char", 4)))


@pytest.mark.parametrize(
    "texts",
    [
        pytest.param([""], id="empty-string"),
        pytest.param(["", "…", "  \r\n\f", "\u200b\u00ad"], id="nothing-left-after-normalization"),
    ],
)
def test_text_without_shingles_gets_the_empty_minhash_row(texts: list[str]) -> None:
    sig = minhash_signatures(texts, 16, 1)
    assert (sig == EMPTY_HASH).all()
    assert np.array_equal(sig[0], datasketch.MinHash(num_perm=16, seed=1).hashvalues)


def test_empty_rows_do_not_disturb_their_neighbours() -> None:
    texts = ["", "Soldiers are on standby", "", "armed police stood down", ""]
    sig = minhash_signatures(texts, 32, 1)
    assert (sig[[0, 2, 4]] == EMPTY_HASH).all()
    for i in (1, 3):
        assert np.array_equal(sig[i], datasketch_row(texts[i], 32, 1, ShingleSpec()))


def test_no_texts_gives_an_empty_matrix() -> None:
    sig = minhash_signatures([], 8, 1)
    assert sig.shape == (0, 8)
    assert sig.dtype == np.uint32


def test_same_normalized_text_same_signature() -> None:
    sig = minhash_signatures(["The force’s car — parked.", "THE FORCE'S CAR, PARKED", "the forces car parked"], 64, 1)
    assert np.array_equal(sig[0], sig[1])
    assert np.array_equal(sig[0], sig[2])


def test_seed_changes_the_signature() -> None:
    text = ["Soldiers are on standby for armed police"]
    assert not np.array_equal(minhash_signatures(text, 64, 1), minhash_signatures(text, 64, 2))


def test_many_paragraphs_across_kernel_chunks() -> None:
    # More paragraphs than one parallel work item (256), of very different lengths.
    texts = [" ".join(f"w{(i * 7 + k) % 50}" for k in range(i % 40)) for i in range(600)]
    sig = minhash_signatures(texts, 16, 9, "word:2")
    for i in (0, 1, 255, 256, 257, 511, 599):
        assert np.array_equal(sig[i], datasketch_row(texts[i], 16, 9, ShingleSpec("word", 2))), i


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        pytest.param({"num_perm": 0}, ValueError, id="num_perm-0"),
        pytest.param({"num_perm": 4097}, ValueError, id="num_perm-too-large"),
        pytest.param({"num_perm": 6.5}, ValueError, id="num_perm-fractional"),
        pytest.param({"num_perm": None}, ValueError, id="num_perm-none"),
        pytest.param({"seed": -1}, ValueError, id="seed-negative"),
        pytest.param({"seed": 2**32}, ValueError, id="seed-too-large"),
        pytest.param({"shingle": "word:0"}, ValueError, id="shingle-size-0"),
        pytest.param({"shingle": "line:3"}, ValueError, id="shingle-kind"),
        pytest.param({"texts": "one string, not a list"}, TypeError, id="single-string"),
    ],
)
def test_bad_arguments(kwargs: dict, error: type[Exception]) -> None:
    args = {"texts": ["some text"], "num_perm": 8, "seed": 1, "shingle": "word:3"} | kwargs
    with pytest.raises(error):
        minhash_signatures(**args)


@pytest.mark.parametrize(
    ("num_perm", "seed"),
    [
        pytest.param(8.0, 1, id="float-num_perm"),
        pytest.param(8, 1.0, id="float-seed"),
        pytest.param(True, 1, id="bool-num_perm"),
    ],
)
def test_non_integer_arguments_are_rejected_after_a_valid_call(num_perm: object, seed: object) -> None:
    minhash_signatures(["some text"], int(num_perm), int(seed))  # type: ignore[call-overload]
    with pytest.raises(ValueError):
        minhash_signatures(["some text"], num_perm, seed)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("num_perm", "seed"),
    [
        pytest.param(1, 0, id="1-perm-seed-0"),
        pytest.param(128, 1, id="defaults"),
        pytest.param(256, 2**32 - 1, id="largest-seed"),
        pytest.param(4096, 7, id="most-perms"),
    ],
)
def test_permutations_equal_datasketch(num_perm: int, seed: int) -> None:
    a, b = permutations(num_perm, seed)
    expected = datasketch.MinHash(num_perm=num_perm, seed=seed).permutations
    assert a.dtype == b.dtype == np.uint32
    assert np.array_equal(a, expected[0])
    assert np.array_equal(b, expected[1])
    assert (a % 2 == 1).all()


def test_cached_permutations_cannot_be_modified() -> None:
    a, _ = permutations(8, 1)
    with pytest.raises(ValueError):
        a[0] = 1
    assert np.array_equal(permutations(8, 1)[0], datasketch.MinHash(num_perm=8, seed=1).permutations[0])


def xxh32_of(data: bytes, seed: int, pad: int = 0) -> int:
    """The kernel's xxHash32 of ``data``, placed inside a larger buffer to check it reads only
    its own span."""
    buffer = np.frombuffer(b"\xaa" * pad + data + b"\x55" * pad, dtype=np.uint8)
    return int(_kernel.xxh32(buffer, pad, pad + len(data), seed))


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed-{s:#x}") for s in (0, 1, 0x9747B28C, 2**32 - 1)])
def test_xxh32_every_length_to_100(seed: int) -> None:
    # Lengths 0..100 cover the four-lane loop, the 4-byte tail and the 1-byte tail in every mix.
    data = bytes(range(256)) * 2
    for length in range(101):
        chunk = data[length : 2 * length]
        assert xxh32_of(chunk, seed) == xxhash.xxh32_intdigest(chunk, seed), length
        assert xxh32_of(chunk, seed, pad=3) == xxhash.xxh32_intdigest(chunk, seed), length


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=100), st.integers(0, 2**32 - 1), st.integers(0, 5))
def test_xxh32_equals_xxhash(data: bytes, seed: int, pad: int) -> None:
    assert xxh32_of(data, seed, pad) == xxhash.xxh32_intdigest(data, seed)
