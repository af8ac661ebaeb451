"""The Ray engine (``dedup.ray``): the same report as the local engine, byte for byte, on real
prose with planted copies, on one worker and on two, with the work cut in several ways; and the
filter as a Ray Data step, deciding what ``dedup filter`` decides, against a real redis-server.

Ray is started once per worker count (module-scoped fixture), on the loopback address."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ray
from benchmarks.reuse_corpus import make_reuse_corpus
from redis_server import RedisServer, redis_server  # noqa: F401 - the session fixture

from dedup import ray as dray
from dedup.cli import main
from dedup.config import Config
from dedup.documents import DocumentReader
from dedup.index import IndexError_
from dedup.pipeline import find_duplicates as local_find_duplicates
from dedup.report import write_report

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
JSONL = dray.ReadOptions(globs=("*.jsonl",))
# Ray Data warns of its own deprecated settings when it makes its context.
pytestmark = pytest.mark.filterwarnings("ignore:`use_push_based_shuffle` is deprecated:DeprecationWarning")


@pytest.fixture(scope="module", params=[1, 2], ids=["1-worker", "2-workers"])
def cluster(request: pytest.FixtureRequest) -> Iterator[int]:
    """A local Ray of ``param`` CPUs (so as many workers run at once), on loopback only."""
    os.environ.pop("RAY_ADDRESS", None)
    ray.init(num_cpus=request.param, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False, configure_logging=False)
    dray._data_context()  # made as dedup makes it (Ray warns of its own settings when it does)
    try:
        yield request.param
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def prose() -> list[tuple[str, str]]:
    """Real prose (the standard library's documentation) with planted copies: sources, then
    documents derived from them (copies, edits, splits, merges, fresh text), then unrelated
    documents; and paragraphs repeated verbatim far from their first occurrence, so that exact
    copies cross files."""
    corpus = make_reuse_corpus(12, seed=3, unrelated=8)
    documents = [*corpus.documents, *corpus.unrelated]
    first = documents[0][1].split("\n\n")
    documents.append(("late-copies", "\n\n".join([first[0], "A paragraph of its own, said once.", first[-1]])))
    return documents


def write_shards(documents: list[tuple[str, str]], directory: Path, cuts: list[int]) -> Path:
    """``documents`` in input order as JSON Lines files, cut before each position in ``cuts``."""
    directory.mkdir(parents=True, exist_ok=True)
    bounds = [0, *sorted(set(c for c in cuts if 0 < c < len(documents))), len(documents)]
    for k, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        with open(directory / f"part-{k:04d}.jsonl", "w", encoding="utf-8") as out:
            for name, text in documents[lo:hi]:
                out.write(json.dumps({"id": name, "text": text}) + "\n")
    return directory


def local_report(paths: list[str], options: dray.ReadOptions = dray.ReadOptions(), fmt: str = "json", **config: Any) -> str:
    reader = options.reader(paths)
    result = local_find_duplicates(reader, Config(**config), skipped=reader.skipped, keep_pairs=fmt in ("pairs", "html"))
    return _written(result, fmt)


def ray_report(paths: list[str], options: dray.ReadOptions = dray.ReadOptions(), fmt: str = "json", partitions: int | None = None, **config: Any) -> str:
    result = dray.find_duplicates(paths, Config(**config), options=options, partitions=partitions, keep_pairs=fmt in ("pairs", "html"))
    return _written(result, fmt)


def _written(result: Any, fmt: str) -> str:
    """The report as written, with the timings (the one thing that may differ) left out."""
    import io

    result.timings = {}
    out = io.StringIO()
    write_report(result, out, fmt)
    return out.getvalue()


@pytest.mark.parametrize("partitions", [pytest.param(1, id="1-partition"), pytest.param(3, id="3-partitions"), pytest.param(8, id="8-partitions")])
def test_the_report_on_ray_is_the_local_report(cluster: int, prose: list[tuple[str, str]], tmp_path: Path, partitions: int) -> None:
    shards = write_shards(prose, tmp_path / "shards", [5, 6, 19, 30])
    expected = local_report([str(shards)], JSONL)
    assert json.loads(expected)["stats"]["clusters"] > 20  # the planted copies are found
    assert ray_report([str(shards)], JSONL, partitions=partitions) == expected


def test_every_verified_pair_is_the_same(cluster: int, prose: list[tuple[str, str]], tmp_path: Path) -> None:
    shards = write_shards(prose, tmp_path / "shards", [10, 25])
    expected = local_report([str(shards)], JSONL, fmt="pairs", threshold=0.3, min_words=4)
    assert expected.count("\n") > 50
    assert ray_report([str(shards)], JSONL, fmt="pairs", partitions=4, threshold=0.3, min_words=4) == expected


def test_the_seeds_give_the_same_25_clusters(cluster: int) -> None:
    expected = local_report([str(SEEDS)], fmt="text")
    assert "clusters              25" in expected
    assert ray_report([str(SEEDS)], fmt="text") == expected


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(min_value=1, max_value=60), max_size=6))
def test_where_the_files_are_cut_changes_nothing(cluster: int, prose: list[tuple[str, str]], tmp_path_factory: pytest.TempPathFactory, cuts: list[int]) -> None:
    one_file = write_shards(prose, tmp_path_factory.mktemp("one"), [])
    cut = write_shards(prose, tmp_path_factory.mktemp("cut"), cuts)
    assert ray_report([str(cut)], JSONL) == local_report([str(one_file)], JSONL)


def test_text_parquet_and_urls_are_read_as_locally(cluster: int, prose: list[tuple[str, str]], tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts = tmp_path / "texts"
    texts.mkdir()
    for name, text in prose[:20]:
        (texts / f"{name.replace('/', '_')}.txt").write_text(text, encoding="utf-8")
    (texts / "binary.txt").write_bytes(b"\x00\x01 not text")
    assert ray_report([str(texts)]) == local_report([str(texts)])
    parquet = tmp_path / "parquet"
    parquet.mkdir()
    for k, lo in enumerate(range(0, len(prose), 25)):
        rows = prose[lo : lo + 25]
        pq.write_table(pa.table({"id": [n for n, _ in rows], "text": [t for _, t in rows]}), parquet / f"part-{k}.parquet")
    options = dray.ReadOptions(globs=("*.parquet",))
    expected = local_report([str(parquet)], options)
    assert ray_report([f"file://{parquet}"], options) == expected
    assert json.loads(expected)["stats"]["documents"] == len(prose)


def test_skipped_lines_are_reported_as_locally(cluster: int, prose: list[tuple[str, str]], tmp_path: Path) -> None:
    shards = write_shards(prose[:10], tmp_path / "shards", [4])
    with open(shards / "part-0001.jsonl", "a", encoding="utf-8") as out:
        out.write("{not json\n" + json.dumps({"id": True, "text": "an id of the wrong type"}) + "\n")
    reader = JSONL.reader([str(shards)])
    local = local_find_duplicates(reader, Config(), skipped=reader.skipped)
    on_ray = dray.find_duplicates([str(shards)], Config(), options=JSONL)
    assert [(s.source, s.reason) for s in on_ray.skipped] == [(s.source, s.reason) for s in local.skipped]
    assert len(on_ray.skipped) == 2 and on_ray.stats.skipped_inputs == 2


def test_the_cli_reports_on_ray_what_it_reports_locally(cluster: int) -> None:
    runner = CliRunner()
    local = runner.invoke(main, ["report", str(SEEDS), "--format", "csv"])
    on_ray = runner.invoke(main, ["report", str(SEEDS), "--format", "csv", "--engine", "ray"])
    assert local.exit_code == 0 and on_ray.exit_code == 0, on_ray.output
    assert on_ray.stdout == local.stdout


def test_the_filter_step_keeps_and_drops_what_dedup_filter_does(cluster: int, redis_server: RedisServer, prose: list[tuple[str, str]], tmp_path: Path) -> None:
    records = [{"id": name, "text": text, "source": "docs"} for name, text in prose[:40]]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    cli = CliRunner().invoke(main, ["filter", "--index", redis_server.url(1, prefix=f"cli{cluster}"), str(source)])
    assert cli.exit_code == 0, cli.output
    expected = [json.loads(line) for line in cli.stdout.splitlines()]
    assert 0 < len(expected) and sum(len(r["text"]) for r in expected) < sum(len(r["text"]) for r in records)  # something was dropped

    index = redis_server.url(1, prefix=f"ray{cluster}")
    kept = dray.filter_dataset(ray.data.from_items(records), index=index, batch_rows=7).take_all()
    assert kept == expected
    # The index now holds what was kept: the same rows again are dropped whole.
    assert dray.filter_dataset(ray.data.from_items(records), index=index).take_all() == []


def test_the_filter_step_refuses_an_index_of_other_settings(cluster: int, redis_server: RedisServer) -> None:
    records = [{"id": "a", "text": "One two three four five."}]
    index = redis_server.url(1, prefix=f"settings{cluster}")
    dray.filter_dataset(ray.data.from_items(records), index=index).take_all()
    with pytest.raises(IndexError_, match="threshold"):
        dray.filter_dataset(ray.data.from_items(records), index=index, threshold=0.8)


def test_rows_without_an_id_are_refused() -> None:
    with pytest.raises(ValueError, match="'id'"):
        dray._document({"text": "Some text."}, "text", "id")
    assert dray._document({"id": 7, "text": "Some text."}, "text", "id").name == "7"


def test_workers_refuse_settings_they_would_hash_differently() -> None:
    config = Config()
    dray._check_settings(config, dray.settings_hash(config))
    assert dray.settings_hash(Config(threshold=0.5)) != dray.settings_hash(config)
    with pytest.raises(dray.EngineError, match="settings hash"):
        dray._check_settings(Config(threshold=0.5), dray.settings_hash(config))


def test_standard_input_and_reuse_are_refused_clearly() -> None:
    with pytest.raises(dray.InputError, match="standard input"):
        dray.find_duplicates(["-"])
    with pytest.raises(ValueError, match="reuse"):
        dray.find_duplicates([str(SEEDS)], Config(reuse=True))
    result = CliRunner().invoke(main, ["report", str(SEEDS), "--engine", "ray", "--reuse"])
    assert result.exit_code == 2 and "--reuse" in result.output


def test_an_address_nobody_answers_is_one_line_and_exit_2() -> None:
    result = CliRunner().invoke(main, ["report", str(SEEDS), "--engine", "ray", "--address", "127.0.0.1:1"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == ["dedup: error: cannot connect to Ray at 127.0.0.1:1: Connection refused (is `ray start --head` running there?)"]
    assert "Traceback" not in result.output
    result = CliRunner().invoke(main, ["report", str(SEEDS), "--address", "127.0.0.1:1"])
    assert result.exit_code == 2 and "--address needs --engine ray" in result.output


def test_a_bad_address_in_a_real_process() -> None:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    done = subprocess.run(
        [sys.executable, "-m", "dedup", "report", str(SEEDS), "--engine", "ray", "--address", "localhost:notaport"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, env=env,
    )
    assert done.returncode == 2
    assert done.stderr == "dedup: error: cannot connect to Ray at localhost:notaport: the port 'notaport' is not a number\n"
    assert done.stdout == ""


def test_url_directories_are_listed_in_the_local_order(tmp_path: Path) -> None:
    for name in ["b/2.txt", "a.txt", "b/10.txt", ".hidden/x.txt", "c.md", "skip.bin"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("Some words here.\n")
    local, _ = dray.list_inputs([str(tmp_path)], dray.ReadOptions())
    remote, _ = dray.list_inputs([f"file://{tmp_path}"], dray.ReadOptions())
    assert [f"file://{name}" for name in local] == remote
    assert [Path(name).relative_to(tmp_path).as_posix() for name in local] == ["a.txt", "b/10.txt", "b/2.txt", "c.md"]
    with pytest.raises(dray.InputError, match="no such file"):
        dray.list_inputs([f"file://{tmp_path}/missing"], dray.ReadOptions())


def test_reader_options_round_trip() -> None:
    reader = DocumentReader(["x"], jsonl=True, text_field="body", id_field="key", globs=("*.j",), encoding="latin-1")
    options = dray.ReadOptions.of(reader)
    again = options.reader(["x"])
    assert (again.jsonl, again.text_field, again.id_field, again.globs, again.encoding) == (True, "body", "key", ("*.j",), "latin-1")
