"""dedup._cache: derived tables kept on disk, and never trusted.

A damaged cache file (from a crash of an older version mid-write, a full disk, another
program) must cost one rebuild, never an error on every run until someone deletes it by hand.
"""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from dedup import lsh, normalization, signatures
from dedup._cache import cache_dir, cached_arrays
from dedup.cli import main

ROOT = Path(__file__).resolve().parents[1]

ARRAYS = {"a": np.arange(1, 17, 2, dtype=np.uint32), "b": np.arange(8, dtype=np.uint32)}


def build() -> dict[str, np.ndarray]:
    return {key: array.copy() for key, array in ARRAYS.items()}


def valid(arrays: dict[str, np.ndarray]) -> bool:
    a, b = arrays.get("a"), arrays.get("b")
    return a is not None and b is not None and a.dtype == b.dtype == np.uint32 and a.shape == b.shape == (8,) and bool((a & 1).all())


def npz_bytes(**arrays: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


def zip_bytes(**members: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def garbage(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


class Unpickled:
    """Pickled, this makes a directory when it is loaded: proof that a loader unpickled it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Callable[[str], None], tuple[str]]:
        return os.mkdir, (str(self.path),)


def flip_a_byte_of_data(data: bytes) -> bytes:
    # The last array's bytes end just before the zip's central directory; a flipped byte there
    # keeps every header intact and leaves only the member's CRC to notice.
    end = data.rindex(b"PK\x01\x02") - 1
    return data[:end] + bytes([data[end] ^ 0xFF]) + data[end + 1 :]


# What a damaged cache file can hold, as a function of a good file's bytes and a path nearby.
DAMAGE: list = [
    pytest.param(lambda good, near: garbage(4096), id="random-bytes"),
    pytest.param(lambda good, near: b"PK\x03\x04" + garbage(4096), id="zip-signature-then-garbage"),
    pytest.param(lambda good, near: zip_bytes(**{"notes.txt": b"not arrays\n"}), id="zip-of-a-text-file"),
    pytest.param(lambda good, near: zip_bytes(**{"a.npy": garbage(200), "b.npy": garbage(200, 1)}), id="zip-of-garbage-npy"),
    pytest.param(lambda good, near: b"\x93NUMPY" + garbage(4096), id="npy-signature-then-garbage"),
    pytest.param(lambda good, near: good[: len(good) // 2], id="truncated"),
    pytest.param(lambda good, near: good[:-1], id="last-byte-missing"),
    pytest.param(lambda good, near: b"", id="empty"),
    pytest.param(lambda good, near: flip_a_byte_of_data(good), id="flipped-byte"),
    pytest.param(lambda good, near: npz_bytes(a=ARRAYS["a"].astype(np.float64), b=ARRAYS["b"]), id="wrong-dtype"),
    pytest.param(lambda good, near: npz_bytes(a=ARRAYS["a"][:4], b=ARRAYS["b"][:4]), id="wrong-shape"),
    pytest.param(lambda good, near: npz_bytes(a=np.uint32(1), b=np.uint32(2)), id="zero-dimensional"),
    pytest.param(lambda good, near: npz_bytes(a=ARRAYS["a"]), id="array-missing"),
    pytest.param(lambda good, near: npz_bytes(a=np.array([Unpickled(near)], dtype=object), b=ARRAYS["b"]), id="pickled-object"),
]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("DEDUP_CACHE_DIR", str(directory))
    return directory


def counting(builder: Callable[[], dict[str, np.ndarray]]) -> tuple[Callable[[], dict[str, np.ndarray]], list[int]]:
    calls = [0]

    def counted() -> dict[str, np.ndarray]:
        calls[0] += 1
        return builder()

    return counted, calls


def assert_holds(arrays: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert sorted(arrays) == sorted(expected)
    for key, array in expected.items():
        assert arrays[key].dtype == array.dtype and np.array_equal(arrays[key], array), key


def test_arrays_are_built_once_then_read_back(cache: Path) -> None:
    counted, calls = counting(build)
    assert_holds(cached_arrays("t.npz", counted, valid), ARRAYS)
    assert_holds(cached_arrays("t.npz", counted, valid), ARRAYS)
    assert calls == [1]
    assert [p.name for p in cache.iterdir()] == ["t.npz"]  # no temporary file left behind


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_file_is_rebuilt_and_replaced(damage: Callable[[bytes, Path], bytes], cache: Path, tmp_path: Path) -> None:
    cached_arrays("t.npz", build, valid)
    path = cache / "t.npz"
    marker = tmp_path / "unpickled"
    path.write_bytes(damage(path.read_bytes(), marker))

    counted, calls = counting(build)
    assert_holds(cached_arrays("t.npz", counted, valid), ARRAYS)
    assert calls == [1]
    assert not marker.exists(), "the cache file was unpickled"
    # Rewritten whole: a later run reads it back without building.
    with np.load(path, allow_pickle=False) as stored:
        assert_holds({key: stored[key] for key in stored.files}, ARRAYS)
    assert_holds(cached_arrays("t.npz", counted, valid), ARRAYS)
    assert calls == [1]


def test_a_check_that_raises_means_rebuild(cache: Path) -> None:
    cached_arrays("t.npz", build, valid)

    def trips(arrays: dict[str, np.ndarray]) -> bool:
        raise TypeError("unsupported operand")

    counted, calls = counting(build)
    assert_holds(cached_arrays("t.npz", counted, trips), ARRAYS)
    assert calls == [1]


def test_an_unwritable_cache_still_gives_the_arrays(cache: Path) -> None:
    cache.mkdir()
    (cache / "t.npz").mkdir()  # neither readable as a file nor replaceable by one
    counted, calls = counting(build)
    assert_holds(cached_arrays("t.npz", counted, valid), ARRAYS)
    assert_holds(cached_arrays("t.npz", counted, valid), ARRAYS)
    assert calls == [2]
    assert sorted(p.name for p in cache.iterdir()) == ["t.npz"]


def test_no_cache_directory_still_gives_the_arrays(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    monkeypatch.setenv("DEDUP_CACHE_DIR", str(blocker / "cache"))
    assert cache_dir() is None
    assert_holds(cached_arrays("t.npz", build, valid), ARRAYS)


def forget_cached_tables() -> None:
    """Forget what this process has read from the cache directory, so that the next run of
    the CLI reads it as a new process would."""
    normalization.code_point_table.cache_clear()
    signatures._permutations.cache_clear()
    lsh.lsh_params.cache_clear()
    lsh._known_params.cache_clear()


@pytest.fixture
def fresh_process() -> Iterator[None]:
    forget_cached_tables()
    yield
    forget_cached_tables()  # what later tests read comes from the session's cache again


def read_cache(directory: Path) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, object]]:
    """The arrays of each .npz file in ``directory``, and the contents of each JSON file."""
    arrays: dict[str, dict[str, np.ndarray]] = {}
    documents: dict[str, object] = {}
    for path in sorted(directory.iterdir()):
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as stored:
                arrays[path.name] = {key: stored[key] for key in stored.files}
        else:
            documents[path.name] = json.loads(path.read_text())
    return arrays, documents


def npz_with_wrong_dtypes_and_shapes(good: bytes) -> bytes:
    with np.load(io.BytesIO(good), allow_pickle=False) as stored:
        return npz_bytes(**{key: stored[key][:-1].astype(np.float32) for key in stored.files})


# Each cache file the report uses (the normalization table, the permutations, the banding
# parameters) gets the same damage; the JSON file gets the byte-level kinds.
REPORT_DAMAGE = [
    pytest.param(lambda good: garbage(4096), True, id="random-bytes"),
    pytest.param(lambda good: zip_bytes(**{"notes.txt": b"not arrays\n"}), True, id="zip-of-a-text-file"),
    pytest.param(lambda good: good[: len(good) // 2], True, id="truncated"),
    pytest.param(npz_with_wrong_dtypes_and_shapes, False, id="wrong-dtypes-and-shapes"),
]


@pytest.fixture(scope="module")
def clean_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """The report on the seeds, and the cache directory that run filled, from an empty one."""
    directory = tmp_path_factory.mktemp("clean-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DEDUP_CACHE_DIR", str(directory))
        patch.chdir(ROOT)
        forget_cached_tables()
        try:
            result = CliRunner().invoke(main, ["report", "seeds/"])
        finally:
            forget_cached_tables()
    assert result.exit_code == 0, result.output
    return result.stdout, directory


@pytest.mark.parametrize(("damage", "to_json_too"), REPORT_DAMAGE)
@pytest.mark.usefixtures("fresh_process")
def test_report_rebuilds_damaged_cache_files(
    damage: Callable[[bytes], bytes], to_json_too: bool, clean_report: tuple[str, Path], cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report, filled = clean_report
    arrays, documents = read_cache(filled)
    assert any(name.startswith("normalize-table-") for name in arrays)
    assert any(name.startswith("permutations-") for name in arrays)
    assert any(name.startswith("lsh-params-") for name in documents)
    cache.mkdir()
    for name in [*arrays, *documents]:
        good = (filled / name).read_bytes()
        (cache / name).write_bytes(damage(good) if name in arrays or to_json_too else good)

    monkeypatch.chdir(ROOT)
    again = CliRunner().invoke(main, ["report", "seeds/"])
    assert again.exit_code == 0, again.output
    assert again.stdout == report
    rebuilt_arrays, rebuilt_documents = read_cache(cache)
    assert sorted(rebuilt_arrays) == sorted(arrays)
    for name, expected in arrays.items():
        assert_holds(rebuilt_arrays[name], expected)
    assert rebuilt_documents == documents


def test_the_suite_caches_in_a_directory_of_its_own() -> None:
    # tests/conftest.py points the cache at a temporary directory for the whole session, and
    # subprocesses started by tests inherit it: the suite never writes into the user's cache.
    user_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dedup"
    ours = cache_dir()
    assert ours is not None and ours != user_cache
    code = "from dedup._cache import cache_dir; print(cache_dir())"
    child = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    assert Path(child.stdout.strip()) == ours


@pytest.mark.usefixtures("fresh_process")
def test_the_normalization_table_is_built_again_when_its_code_changes(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A table built by an older builder must not be read back as current: its file is named
    # after the code that builds it, so an edit to that code makes a new file.
    first = normalization.code_point_table()
    (before,) = [p.name for p in cache.iterdir() if p.name.startswith("normalize-table-")]
    edited = tmp_path / "normalization.py"
    edited.write_text(Path(normalization.__file__).read_text() + "\n# an edit to the builder\n")
    monkeypatch.setattr(normalization, "__file__", str(edited))
    calls = []
    monkeypatch.setattr(normalization, "build_code_point_table", lambda: calls.append(1) or tuple(a.copy() for a in first))
    normalization.code_point_table.cache_clear()
    normalization.code_point_table()
    after = {p.name for p in cache.iterdir() if p.name.startswith("normalize-table-")}
    assert calls == [1]
    assert len(after) == 2 and before in after
