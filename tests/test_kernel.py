"""dedup._kernel: the compiled loops trust their indices, so their wrappers must refuse what
would make them read or write out of bounds, and a Ctrl-C must not free arrays that another
thread of the same call is still using."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from dedup import _kernel
from dedup._kernel import _lib
from dedup.normalization import code_point_table, normalize_spans
from dedup.signatures import permutations

DATA = np.frombuffer(b"one two three four", dtype=np.uint8)
OFFSETS = np.array([0, 7, 18], dtype=np.int64)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: _kernel.text_hashes(DATA, np.array([0, 7, 99])), id="text_hashes-offsets-past-data"),
        pytest.param(lambda: _kernel.text_hashes(DATA, np.array([7, 0, 18])), id="text_hashes-offsets-descending"),
        pytest.param(lambda: _kernel.group_texts(DATA, OFFSETS, np.array([0, 2]), np.zeros(2, np.uint64)), id="group_texts-row-out-of-range"),
        pytest.param(lambda: _kernel.group_texts(DATA, OFFSETS, np.array([0, 1]), np.zeros(1, np.uint64)), id="group_texts-too-few-hashes"),
        pytest.param(lambda: _kernel.minhash(DATA, OFFSETS, 0, 2**64 - 1, *permutations(8, 1)), id="minhash-shingle-size-wraps"),
        pytest.param(lambda: _kernel.minhash(DATA, OFFSETS, 0, 0, *permutations(8, 1)), id="minhash-shingle-size-0"),
        pytest.param(lambda: _kernel.minhash_band_keys(DATA, OFFSETS, np.array([2]), 0, 3, *permutations(8, 1), 2, 4), id="band-keys-row-out-of-range"),
        pytest.param(lambda: _kernel.minhash_band_keys(DATA, OFFSETS, np.array([0]), 0, 3, *permutations(8, 1), 3, 4), id="band-keys-more-rows-than-permutations"),
        pytest.param(lambda: _kernel.set_similarities(np.zeros(3, np.uint64), np.array([0, 5]), np.array([0]), np.array([0])), id="set-offsets-past-hashes"),
        pytest.param(lambda: _kernel.set_similarities(np.zeros(3, np.uint64), np.array([0, 3]), np.array([0]), np.array([1])), id="set-index-out-of-range"),
        pytest.param(lambda: _kernel.assign_representatives(-1, np.array([0]), np.array([1])), id="representatives-negative-n"),
        pytest.param(lambda: _kernel.assign_representatives(2, np.array([0]), np.array([5])), id="representatives-pair-out-of-range"),
        pytest.param(lambda: _kernel.select_sorted(np.zeros(1, np.uint64), np.zeros(1, np.int64), 0, np.zeros(1, np.int64)), id="select-sorted-n-0"),
        pytest.param(lambda: _kernel.select_sorted(np.zeros(1, np.uint64), np.zeros(1, np.int64), 2**64, np.zeros(1, np.int64)), id="select-sorted-n-wraps"),
        pytest.param(lambda: _kernel.fill_filter(np.zeros(4, np.uint64), np.array([9, 2], dtype=np.uint64)), id="fill-filter-unsorted-keys"),
        pytest.param(lambda: _kernel.fill_filter(np.zeros(4, np.int64), np.array([2, 9], dtype=np.uint64)), id="fill-filter-bloom-not-uint64"),
        pytest.param(lambda: _kernel.paragraph_spans(DATA, np.array([0, 99])), id="paragraphs-bounds-past-data"),
    ],
)
def test_arguments_that_would_reach_past_an_array_are_refused(call) -> None:
    with pytest.raises((ValueError, IndexError)):
        call()


def test_normalization_refuses_overlapping_spans_and_wider_expansions() -> None:
    with pytest.raises(ValueError, match="overlap"):
        normalize_spans("Hello World", np.array([0, 0]), np.array([11, 11]))
    table, expansions = code_point_table()
    src = np.frombuffer("ﬃ".encode(), dtype=np.uint8)
    wide = np.zeros((len(expansions), 4), dtype=np.int32)
    with pytest.raises(ValueError, match="three code points"):
        _kernel.normalize_utf8(src, np.array([0]), np.array([len(src)]), table, wide)


def test_misaligned_arrays_are_copied_not_read_misaligned() -> None:
    raw = np.zeros(8 * 5 + 1, dtype=np.uint8)
    keys = raw[1:].view(np.uint64)  # C-contiguous but not aligned
    keys[:] = [5, 3, 9, 3, 1]
    assert not keys.flags.aligned
    sorted_keys, order = _kernel.hash_sort(keys)
    assert sorted_keys.tolist() == [1, 3, 3, 5, 9]
    assert order.tolist() == [4, 1, 3, 0, 2]


class _Interrupted:
    """A future whose first wait is interrupted by Ctrl-C, as a user's can be."""

    def __init__(self) -> None:
        self.waits = 0

    def result(self) -> None:
        self.waits += 1
        if self.waits == 1:
            raise KeyboardInterrupt


def test_an_interrupted_call_waits_for_its_other_threads_then_raises() -> None:
    first, second = _Interrupted(), _Interrupted()
    with pytest.raises(KeyboardInterrupt):
        _lib._wait([first, second])  # type: ignore[list-item]
    assert (first.waits, second.waits) == (2, 2)  # both waited for to the end


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_dedup_threads_must_be_a_whole_number(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    from dedup._settings import SettingError

    monkeypatch.setenv("DEDUP_THREADS", value)
    with pytest.raises(SettingError, match="DEDUP_THREADS"):
        _lib._threads()


def test_a_bad_dedup_threads_is_a_usage_error_of_the_cli_not_a_crash() -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "DEDUP_THREADS": "lots"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, "-m", "dedup", "report", "seeds"], env=env, capture_output=True, text=True, timeout=120, cwd=root)
    assert done.returncode == 2
    assert "DEDUP_THREADS must be a whole number" in done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr


def test_one_thread_and_all_threads_give_the_same_results(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    words = np.array(["w%d" % k for k in range(300)])
    texts = [" ".join(rng.choice(words, size=rng.integers(1, 40))) for _ in range(3000)]
    data = np.frombuffer(" ".join(texts).encode(), dtype=np.uint8)  # one space between texts
    lengths = np.array([len(t) for t in texts])
    starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
    offsets = np.empty(len(texts) + 1, dtype=np.int64)
    offsets[:-1] = starts
    offsets[-1] = len(data)
    a, b = permutations(128, 1)
    results = []
    for threads in (1, 2, 4):
        before = _lib.set_threads(threads)
        try:
            results.append(_kernel.minhash(data, offsets, 0, 3, a, b))
        finally:
            _lib.set_threads(before)
    assert np.array_equal(results[0], results[1]) and np.array_equal(results[0], results[2])


def test_the_thread_cap_is_read_at_each_call() -> None:
    """Set at run time, not only from DEDUP_THREADS at import: a call runs on at most the cap's
    threads, and a raised cap gets the threads it asks for."""
    seen: list[set[str]] = []

    def kernel(cursor: object) -> None:  # takes no chunks: notes which threads ran it
        seen[-1].add(threading.current_thread().name)
        time.sleep(0.05)  # long enough that every thread of the call gets a turn at once

    before = _lib.threads()
    try:
        for cap in (1, 3, 2):
            seen.append(set())
            _lib.set_threads(cap)
            _lib.on_all_cores(kernel, chunks=8)
        assert [len(names) for names in seen] == [1, 3, 2]
        with pytest.raises(ValueError, match="1 or more"):
            _lib.set_threads(0)
    finally:
        _lib.set_threads(None)
    assert _lib.threads() == before
