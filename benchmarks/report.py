"""Report: documents in, clusters of near-duplicate paragraphs out, at dedup's default threshold (0.4).

Peers, each in a fresh process on the same generated documents:

- ``reference datasketch``: the pipeline as people usually write it with datasketch. Paragraphs
  split at blank lines, ``dedup.shingles`` word 3-grams, ``MinHash.bulk`` (xxh32), a
  ``MinHashLSH`` filled in an insertion session and queried once per paragraph, every candidate
  checked on exact Jaccard of the shingle sets (Python ``set``), clusters by union-find. It uses
  dedup's band layout (31 bands of 3 rows at 0.4), so both do the same LSH work.
- ``reference rensa``: the same on rensa: ``str.lower().split()`` word 3-grams,
  ``RMinHash.from_token_sets``, ``RMinHashLSH`` (32 bands: rensa needs a divisor of 128, the
  nearest to 31), ``insert_pairs`` and ``query_all``, exact Jaccard on Python sets, union-find.
- ``dedup find_duplicates``: the library call, ``dedup.find_duplicates(docs, Config(threshold=0.4))``,
  kernels warmed up first.
- ``dedup report (CLI)``: the whole process, ``dedup report DIR --threshold 0.4 --format json``
  with the report written to standard output and discarded: start-up, imports, loading the
  kernels, reading ``.txt`` files and writing the JSON report included.

dedup runs twice each way: on every usable core (``DEDUP_THREADS`` unset, its default) and on
one (``DEDUP_THREADS=1``). The references run on one thread (Python), rensa's Rust calls on what
its pool starts; the table says how many threads each side used.

The first three are timed from documents in memory to clusters. ``process s`` is the wall time
of each peer's whole process, start-up and reading the corpus included.

Accuracy is reported beside speed: clusters, duplicate paragraphs (cluster members other than
one per cluster) and recall of the planted copies, counting the copies whose exact word-3-gram
Jaccard with their source (under dedup's normalization) is at or above the threshold, and
calling one found when it is in any cluster.
"""

from __future__ import annotations

import importlib.util
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._harness import DEFAULT_THRESHOLD, NUM_PERM, ONE_THREAD, SEED, Row, WorkerFailed, current_rss_mb, machine, print_machine, print_table, run_worker, time_best_cpu, write_json
from benchmarks.corpus import make_corpus, read_documents, write_corpus

__all__ = ["PEERS", "run", "run_peer", "UnionFind", "TARGET_VS_DATASKETCH", "TARGET_VS_RENSA"]

RENSA_BANDS = 32
TARGET_VS_DATASKETCH = 20.0
TARGET_VS_RENSA = 5.0

PEERS = (
    ("reference_datasketch", "reference datasketch"),
    ("reference_rensa", "reference rensa"),
    ("dedup_library", "dedup find_duplicates"),
    ("dedup_cli", "dedup report (CLI)"),
    ("dedup_library_one_thread", "dedup find_duplicates, 1 thread"),
    ("dedup_cli_one_thread", "dedup report (CLI), 1 thread"),
)
BASELINE = "reference_datasketch"
# The peers that are dedup under an environment of their own: (peer the worker runs, environment).
VARIANTS = {"dedup_library_one_thread": ("dedup_library", ONE_THREAD), "dedup_cli_one_thread": ("dedup_cli", ONE_THREAD)}
CLI_PEERS = ("dedup_cli", "dedup_cli_one_thread")


class UnionFind:
    """Disjoint sets over ``0..n-1`` with path halving and union by size.

    >>> uf = UnionFind(5); uf.union(0, 3); uf.union(3, 4)
    >>> uf.labels().tolist()
    [0, -1, -1, 0, 0]
    """

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.size = [1] * n

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]

    def labels(self) -> np.ndarray:
        """Cluster number of each element (numbered by first member), -1 for singletons."""
        roots = [self.find(x) for x in range(len(self.parent))]
        out = np.full(len(roots), -1, dtype=np.int64)
        numbers: dict[int, int] = {}
        for x, root in enumerate(roots):
            if self.size[root] > 1:
                out[x] = numbers.setdefault(root, len(numbers))
        return out


def _paragraphs(documents: list[tuple[str, str]]) -> list[str]:
    """The reference pipelines' segmentation: split at blank lines (exact for generated text)."""
    return [p for _, text in documents for p in text.strip("\n").split("\n\n")]


def _jaccard(a: set[Any], b: set[Any]) -> float:
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def reference_datasketch(documents: list[tuple[str, str]], threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    import xxhash
    from datasketch import MinHash, MinHashLSH

    from dedup.shingling import shingles
    from dedup.lsh import lsh_params

    texts = _paragraphs(documents)
    shingle_lists = [shingles(t) for t in texts]
    minhashes = MinHash.bulk(shingle_lists, num_perm=NUM_PERM, seed=SEED, hashfunc=xxhash.xxh32_intdigest)
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM, params=lsh_params(threshold, NUM_PERM))
    with lsh.insertion_session() as session:
        for i, (m, s) in enumerate(zip(minhashes, shingle_lists)):
            if s:
                session.insert(i, m, check_duplication=False)
    sets = [set(s) for s in shingle_lists]
    uf = UnionFind(len(texts))
    for i, m in enumerate(minhashes):
        if not sets[i]:
            continue
        for j in lsh.query(m):
            if j < i and _jaccard(sets[i], sets[j]) >= threshold:
                uf.union(i, j)
    return uf.labels()


def reference_rensa(documents: list[tuple[str, str]], threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    from rensa import RMinHash, RMinHashLSH

    from benchmarks.hashing import simple_word_shingles

    texts = _paragraphs(documents)
    tokens = [simple_word_shingles(t) for t in texts]
    minhashes = RMinHash.from_token_sets(tokens, NUM_PERM, SEED)
    lsh = RMinHashLSH(threshold, NUM_PERM, RENSA_BANDS)
    lsh.insert_pairs([(i, m) for i, m in enumerate(minhashes) if tokens[i]])
    candidates = lsh.query_all(minhashes)
    sets = [set(t) for t in tokens]
    uf = UnionFind(len(texts))
    for i, found in enumerate(candidates):
        if not sets[i]:
            continue
        for j in found:
            if j < i and _jaccard(sets[i], sets[j]) >= threshold:
                uf.union(i, j)
    return uf.labels()


def dedup_library(documents: list[tuple[str, str]], threshold: float = DEFAULT_THRESHOLD) -> tuple[np.ndarray, dict[str, float], dict[str, Any]]:
    from dedup.pipeline import Config, find_duplicates

    result = find_duplicates(documents, Config(threshold=threshold))
    labels = np.full(result.stats.paragraphs, -1, dtype=np.int64)
    for number, cluster in enumerate(result.clusters):
        for member in cluster.members:
            labels[member.index] = number
    stats = {"candidate_pairs": result.stats.candidate_pairs, "verified_pairs": result.stats.verified_pairs}
    return labels, dict(result.timings), stats


def run_peer(spec: dict[str, Any]) -> dict[str, Any]:
    """Worker side: time one peer on the corpus named by ``spec``."""
    peer = spec["peer"]
    threshold = spec.get("threshold", DEFAULT_THRESHOLD)
    documents = read_documents(spec["corpus"])
    result: dict[str, Any] = {"base_rss_mb": current_rss_mb()}
    if peer == "dedup_library":
        from dedup.pipeline import Config, find_duplicates

        start = time.perf_counter()
        # Two near-duplicates (not exact copies, which are grouped before hashing), so that every
        # stage's kernels are loaded before the clock starts.
        words = "warm up every kernel once before the clock starts so that the timed run measures work not loading".split()
        find_duplicates({"a": " ".join(words), "b": " ".join(words[:-1] + ["compiling"])}, Config(threshold=threshold))
        result["first_call_s"] = time.perf_counter() - start
        best, times, (labels, timings, stats), used = time_best_cpu(lambda: dedup_library(documents, threshold), spec.get("repeat", 1))
        result.update(timings=timings, **stats)
        from dedup._kernel._lib import threads

        used["threads"] = threads()  # its pool starts at the warm-up, before the clock: not seen by the count
    else:
        if peer == "reference_datasketch":
            import datasketch  # noqa: F401 - imported before the clock, as dedup's kernels are loaded: its import starts numerical libraries' thread pools
            from dedup.shingling import shingles

            shingles("Build dedup's normalization table before the clock starts.")
        fn = reference_datasketch if peer == "reference_datasketch" else reference_rensa
        best, times, labels, used = time_best_cpu(lambda: fn(documents, threshold), spec.get("repeat", 1))
    result["seconds"] = best
    result["cpu_s"] = used["cpu_s"]
    result["threads"] = max(1, used["threads"] or 1)
    result["times"] = times
    result["paragraphs"] = len(labels)
    if spec.get("save"):
        np.save(spec["save"], labels)
    return result


# ---------------------------------------------------------------------------------------------
# The suite (parent process).


def _detectable(corpus: Any, threshold: float) -> np.ndarray:
    """Planted copies whose exact Jaccard with their source is at or above ``threshold``."""
    from dedup.verify import similarity

    keep = [int(copy) for copy, source, _ in corpus.planted if similarity(corpus.paragraphs[copy], corpus.paragraphs[source]).jaccard >= threshold]
    return np.array(keep, dtype=np.int64)


def _accuracy(labels: np.ndarray, detectable: np.ndarray) -> dict[str, Any]:
    clustered = int((labels >= 0).sum())
    clusters = int(labels.max()) + 1 if clustered else 0
    recall = float((labels[detectable] >= 0).mean()) if len(detectable) else float("nan")
    return {"clusters": clusters, "duplicates": clustered - clusters, "recall": recall}


def _best_of(spec: dict[str, Any], repeat: int, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run the peer in ``repeat`` fresh processes (under ``env``), each timing its work once;
    keep the best time and the best whole-process time (a process that repeated its work inside
    would count every repeat in its process time, and that is what the CLI row is compared with)."""
    runs = [run_worker(spec, env=env) for _ in range(repeat)]
    if any("skipped" in r for r in runs):
        return runs[0]
    best = dict(min(runs, key=lambda r: r["seconds"]))
    best["process_s"] = min(r["process_s"] for r in runs)
    best["times"] = [r["seconds"] for r in runs]
    return best


def run(paragraphs: int = 60_000, json_path: str | None = None, repeat: int = 1, seed: int = 0, threshold: float = DEFAULT_THRESHOLD) -> int:
    """Run the report suite and print its table; returns the exit status."""
    info = machine()
    print_machine(info)
    start = time.perf_counter()
    corpus = make_corpus(paragraphs, seed=seed)
    detectable = _detectable(corpus, threshold)
    print(
        f"corpus   {paragraphs:,} paragraphs in {len(corpus.names):,} documents, {len(corpus.planted):,} planted copies, "
        f"{len(detectable):,} of them at Jaccard >= {threshold} with their source (seed {seed}, made in {time.perf_counter() - start:.1f} s)"
    )
    print(f"task     documents -> clusters of paragraphs at exact Jaccard >= {threshold}, word:3, {NUM_PERM} permutations\n")
    rows: list[Row] = []
    notes: list[str] = []
    failures: list[str] = []
    skipped: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="dedup-bench-") as tmp:
        corpus_path = write_corpus(corpus, Path(tmp) / "corpus.jsonl", "jsonl")
        directory = write_corpus(corpus, Path(tmp) / "docs", "txt")
        for key, label in PEERS:
            if key == "reference_rensa" and importlib.util.find_spec("rensa") is None:
                skipped[key] = "rensa not installed (pip install 'dedup[bench]')"
                print(f"skipping {label}: {skipped[key]}")
                continue
            save = str(Path(tmp) / f"{key}.npy")
            peer, env = VARIANTS.get(key, (key, None))
            spec = {"suite": "_cli" if peer == "dedup_cli" else "report", "peer": peer, "corpus": str(corpus_path), "directory": str(directory), "repeat": 1, "threshold": threshold, "save": save}
            try:
                result = _best_of(spec, repeat, env)
            except WorkerFailed as err:
                failures.append(str(err))
                print(f"FAILED {label}: {err}")
                continue
            if "skipped" in result:
                skipped[key] = result["skipped"]
                print(f"skipping {label}: {result['skipped']}")
                continue
            extra = {k: result[k] for k in ("base_rss_mb", "first_call_s", "timings", "times", "candidate_pairs", "verified_pairs", "process_s", "threads", "cpu_s") if k in result}
            if key in CLI_PEERS:
                extra["process_s"] = result["seconds"]
                extra["command"] = ("DEDUP_THREADS=1 " if env else "") + result["command"]
                extra["threads"] = 1 if env else info["usable_cores"]  # what dedup's kernels take by default
            else:
                labels = np.load(save)
                if len(labels) != paragraphs:
                    failures.append(f"{label}: found {len(labels):,} paragraphs, expected {paragraphs:,}")
                extra.update(_accuracy(labels, detectable))
            rows.append(Row.of(label, paragraphs, result["seconds"], result["peak_rss_mb"], key=key, **extra))
            if "timings" in result and result["timings"]:
                total = sum(result["timings"].values())
                parts = ", ".join(f"{stage} {seconds:.3f}" for stage, seconds in result["timings"].items() if seconds > 0)
                notes.append(f"{label} stages (s): {parts}; total {total:.3f}")
            if key.startswith("dedup_library"):
                notes.append(f"{label}: {result['candidate_pairs']:,} candidate pairs, {result['verified_pairs']:,} verified; warm-up call {result['first_call_s']:.2f} s, not timed")

    baseline = next((r for r in rows if r.extra.get("key") == BASELINE), None)
    for r in rows:
        if baseline is not None:
            # The CLI row is a whole process, so its ratio is against the reference's whole process.
            own = baseline.extra["process_s"] if r.extra.get("key") in CLI_PEERS else baseline.seconds
            r.ratio = own / r.seconds
            r.extra["process_ratio"] = baseline.extra["process_s"] / r.extra["process_s"]
    print_table(
        rows,
        "vs reference",
        [
            ("process s", "process_s", ".2f"),
            ("process ratio", "process_ratio", ".1f"),
            ("clusters", "clusters", ","),
            ("duplicates", "duplicates", ","),
            ("recall", "recall", ".3f"),
        ],
    )
    print()
    for note in notes:
        print(note)
    targets = _targets(rows)
    for line in targets["lines"]:
        print(line)
    if json_path:
        write_json(json_path, "report", info, rows, threshold=threshold, detectable_copies=len(detectable), skipped=skipped, targets=targets["values"], failures=failures)
    return 1 if failures else 0


def _targets(rows: list[Row]) -> dict[str, Any]:
    by_key = {r.extra.get("key"): r for r in rows}
    lines: list[str] = []
    values: dict[str, Any] = {}
    for ours_key in ("dedup_library", "dedup_cli", "dedup_library_one_thread", "dedup_cli_one_thread"):
        ours = by_key.get(ours_key)
        if ours is None:
            continue
        for peer_key, target in (("reference_datasketch", TARGET_VS_DATASKETCH), ("reference_rensa", TARGET_VS_RENSA)):
            peer = by_key.get(peer_key)
            if peer is None:
                continue
            if ours_key in CLI_PEERS:
                # whole process against whole process
                ratio = peer.extra["process_s"] / ours.seconds
                how = "whole process vs whole process"
            else:
                ratio = peer.seconds / ours.seconds
                how = "in-process, documents in memory"
            values[f"{ours_key}_vs_{peer_key}"] = ratio
            lines.append(f"target   {ours.name} vs {peer.name} ({how}): {ratio:,.1f}x (target >= {target:.0f}x): {'met' if ratio >= target else 'NOT met'}")
    return {"lines": lines, "values": values}
