"""Hashing: paragraph text in, signature matrix out (word 3-grams, 128 permutations).

Peers, each in a fresh process on the same generated paragraphs:

- ``datasketch update loop``: the way the datasketch docs teach it, one ``MinHash`` per paragraph
  and ``update`` per shingle. The 1x baseline; it runs on the first ``--sample`` paragraphs and is
  compared by rate (paragraphs per second).
- ``datasketch update_batch``: one ``MinHash`` per paragraph, all its shingles at once.
- ``datasketch bulk``: ``MinHash.bulk``, which also reuses the permutation set-up.
- ``rensa digest_matrix``: ``RMinHash.digest_matrix_from_token_sets``, rensa's fastest full
  MinHash path (one Rust call for the whole batch, no object per paragraph, a compact matrix out;
  see ``RENSA_PATHS`` for the paths measured against it). Its word 3-grams are built in Python
  from ``str.lower().split()``, which is cheaper than dedup's normalization; that cost is part of
  its time.
- ``dedup.minhash_signatures``: the compiled kernel, normalization included, warmed up first,
  on every usable core (``DEDUP_THREADS`` unset), and again on one (``DEDUP_THREADS=1``): the
  datasketch peers run on one thread, rensa on as many as its pool starts (the table says).

Ratios are given against datasketch's slowest path (the update loop) and its fastest
(``bulk``), which is the fair one to quote.

The datasketch peers use ``hashfunc=xxhash.xxh32_intdigest`` and ``dedup.shingles``, so they
compute exactly what dedup computes; the run checks that dedup's rows equal theirs bit for bit.
rensa hashes differently, so its signatures are not compared.
"""

from __future__ import annotations

import importlib.util
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._harness import NUM_PERM, ONE_THREAD, SEED, Row, WorkerFailed, current_rss_mb, machine, print_machine, print_table, run_worker, time_best, time_best_cpu, write_json
from benchmarks.corpus import make_corpus, read_paragraphs, write_corpus

__all__ = ["PEERS", "run", "run_peer", "simple_word_shingles", "TARGET_VS_LOOP", "TARGET_VS_RENSA"]

TARGET_VS_LOOP = 200.0
TARGET_VS_RENSA = 5.0

# (key, label). Order is the order of the table.
PEERS = (
    ("datasketch_update", "datasketch update loop"),
    ("datasketch_update_batch", "datasketch update_batch"),
    ("datasketch_bulk", "datasketch bulk"),
    ("rensa", "rensa digest_matrix"),
    ("dedup", "dedup.minhash_signatures"),
    ("dedup_one_thread", "dedup.minhash_signatures, 1 thread"),
)
BASELINE = "datasketch_update"
FASTEST_DATASKETCH = "datasketch_bulk"
# The peers that are dedup under an environment of their own: (peer the worker runs, environment).
DEDUP_VARIANTS = {"dedup": ("dedup", None), "dedup_one_thread": ("dedup", ONE_THREAD)}
DATASKETCH_PEERS = ("datasketch_update", "datasketch_update_batch", "datasketch_bulk")
# rensa 0.5's batch entry points that return full MinHash signatures; measured once on this
# corpus shape, digest_matrix_from_token_sets was the fastest end to end (from_token_sets builds
# one object per paragraph, digests_from_token_sets one list, token_byte_sets needs bytes, which
# cost more to build in Python than the Rust side saves).
RENSA_PATHS = ("digest_matrix_from_token_sets", "digest_matrix_from_token_byte_sets", "from_token_sets", "digests_from_token_sets")


def rensa_available() -> bool:
    return importlib.util.find_spec("rensa") is not None


def simple_word_shingles(text: str) -> list[str]:
    """Word 3-grams as strings, the cheap way: lower-case, split on whitespace. Like
    :func:`dedup.shingles`, a text of at most three words is one shingle, and no words, none.

    >>> simple_word_shingles("Soldiers are on standby")
    ['soldiers are on', 'are on standby']
    >>> simple_word_shingles("Hi there"), simple_word_shingles("  ")
    (['hi there'], [])
    """
    words = text.lower().split()
    if len(words) <= 3:
        return [" ".join(words)] if words else []
    return [" ".join(words[i : i + 3]) for i in range(len(words) - 2)]


# ---------------------------------------------------------------------------------------------
# The peers (they run inside the worker process).


def _datasketch_update(texts: list[str]) -> np.ndarray:
    import xxhash
    from datasketch import MinHash

    from dedup.shingling import shingles

    out = np.empty((len(texts), NUM_PERM), dtype=np.uint32)
    for i, text in enumerate(texts):
        m = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=xxhash.xxh32_intdigest)
        for s in shingles(text):
            m.update(s)
        out[i] = m.hashvalues
    return out


def _datasketch_update_batch(texts: list[str]) -> np.ndarray:
    import xxhash
    from datasketch import MinHash

    from dedup.shingling import shingles

    out = np.empty((len(texts), NUM_PERM), dtype=np.uint32)
    for i, text in enumerate(texts):
        m = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=xxhash.xxh32_intdigest)
        m.update_batch(shingles(text))
        out[i] = m.hashvalues
    return out


def _datasketch_bulk(texts: list[str]) -> np.ndarray:
    import xxhash
    from datasketch import MinHash

    from dedup.shingling import shingles

    minhashes = MinHash.bulk((shingles(t) for t in texts), num_perm=NUM_PERM, seed=SEED, hashfunc=xxhash.xxh32_intdigest)
    return np.array([m.hashvalues for m in minhashes], dtype=np.uint32).reshape(len(texts), NUM_PERM)


def _rensa(texts: list[str], path: str = "digest_matrix_from_token_sets") -> Any:
    from rensa import RMinHash

    if path == "digest_matrix_from_token_byte_sets":
        tokens: Any = [[s.encode() for s in simple_word_shingles(t)] for t in texts]
    else:
        tokens = [simple_word_shingles(t) for t in texts]
    # The digest matrix is rensa's signature matrix (what RMinHashLSH.insert_matrix takes);
    # copying it out to Python lists would cost more than computing it, so it is not.
    return getattr(RMinHash, path)(tokens, NUM_PERM, SEED)


def _dedup(texts: list[str]) -> np.ndarray:
    from dedup.signatures import minhash_signatures

    return minhash_signatures(texts, num_perm=NUM_PERM, seed=SEED)


_FUNCTIONS = {
    "datasketch_update": _datasketch_update,
    "datasketch_update_batch": _datasketch_update_batch,
    "datasketch_bulk": _datasketch_bulk,
    "rensa": _rensa,
    "dedup": _dedup,
}


def run_peer(spec: dict[str, Any]) -> dict[str, Any]:
    """Worker side: time one peer on the corpus named by ``spec``."""
    texts = read_paragraphs(spec["corpus"])
    if spec.get("limit"):
        texts = texts[: spec["limit"]]
    peer = spec["peer"]
    result: dict[str, Any] = {"paragraphs": len(texts), "base_rss_mb": current_rss_mb()}
    if peer == "dedup":
        # Import and first call apart: the first call loads the compiled kernels and the
        # normalization table (or builds the table, with a cold cache).
        start = time.perf_counter()
        import dedup.signatures

        result["import_s"] = time.perf_counter() - start
        start = time.perf_counter()
        dedup.signatures.minhash_signatures(["warm up the kernels, once"], num_perm=NUM_PERM, seed=SEED)
        result["first_call_s"] = time.perf_counter() - start
        from dedup._kernel._lib import threads

        result["kernel_threads"] = threads()
    elif peer == "rensa_paths":
        # Every rensa batch path once, on the same texts, to justify the choice of path.
        seconds = {}
        for path in RENSA_PATHS:
            seconds[path] = time_best(lambda p=path: _rensa(texts, p), spec.get("repeat", 1), spec.get("budget", 30.0))[0]
        result["seconds"] = min(seconds.values())
        result["paths"] = seconds
        return result
    elif peer.startswith("datasketch"):
        # Not timed: the share of the time that goes into dedup.shingles (normalize + split),
        # which every datasketch peer pays.
        from dedup.shingling import shingles

        shingles("Build the normalization table before any clock starts.")
        start = time.perf_counter()
        for t in texts:
            shingles(t)
        result["shingling_s"] = time.perf_counter() - start
    fn = _FUNCTIONS[peer]
    best, times, output, used = time_best_cpu(lambda: fn(texts), spec.get("repeat", 1), spec.get("budget", 30.0))
    result["seconds"] = best
    result["times"] = times
    result["cpu_s"] = used["cpu_s"]
    # dedup: the kernel threads it was allowed (its pool is started before the clock, and a
    # short call can finish inside one clock tick); the others: the threads seen doing work.
    result["threads"] = result.get("kernel_threads") or max(1, used["threads"] or 1)
    if spec.get("save") and isinstance(output, np.ndarray):
        np.save(spec["save"], output)
    return result


# ---------------------------------------------------------------------------------------------
# The suite (parent process).


def shingle_counts(texts: list[str]) -> np.ndarray:
    """How many word 3-grams (repeats included) each paragraph has under dedup's rules."""
    from dedup.normalization import normalize_batch

    words = normalize_batch(texts).word_counts()
    return np.where(words == 0, 0, np.maximum(words - 2, 1))


def run(paragraphs: int = 60_000, json_path: str | None = None, repeat: int = 3, sample: int = 5_000, seed: int = 0, cold: bool = False, budget: float = 30.0, rensa_paths: bool = False) -> int:
    """Run the hashing suite and print its table; returns the exit status (1 when dedup's
    signatures differ from datasketch's)."""
    info = machine()
    print_machine(info)
    start = time.perf_counter()
    corpus = make_corpus(paragraphs, seed=seed)
    counts = shingle_counts(corpus.paragraphs)
    print(
        f"corpus   {paragraphs:,} paragraphs in {len(corpus.names):,} documents, {int(counts.sum()):,} word 3-grams, "
        f"{len(corpus.planted):,} planted copies (seed {seed}, made in {time.perf_counter() - start:.1f} s)"
    )
    print(f"task     text -> MinHash signatures, word:3, {NUM_PERM} permutations; best of {repeat} (fewer past {budget:.0f} s per peer)\n")
    rows: list[Row] = []
    outputs: dict[str, Path] = {}
    notes: list[str] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="dedup-bench-") as tmp:
        corpus_path = write_corpus(corpus, Path(tmp) / "corpus.jsonl", "jsonl")
        for key, label in PEERS:
            if key == "rensa" and not rensa_available():
                print("skipping rensa: not installed (pip install 'dedup[bench]')")
                continue
            limit = min(sample, paragraphs) if key == BASELINE else None
            save = str(Path(tmp) / f"{key}.npy") if key in DATASKETCH_PEERS or key in DEDUP_VARIANTS else None
            peer, env = DEDUP_VARIANTS.get(key, (key, None))
            spec = {"suite": "hashing", "peer": peer, "corpus": str(corpus_path), "limit": limit, "repeat": repeat, "budget": budget, "save": save}
            try:
                result = run_worker(spec, env=env)
            except WorkerFailed as err:
                failures.append(str(err))
                print(f"FAILED {label}: {err}")
                continue
            n = result["paragraphs"]
            extra = {k: result[k] for k in ("base_rss_mb", "import_s", "first_call_s", "shingling_s", "threads", "cpu_s", "times", "process_s") if k in result}
            if key == BASELINE and n < paragraphs:
                extra["note"] = f"first {n:,} paragraphs"
            rows.append(Row.of(label, n, result["seconds"], result["peak_rss_mb"], int(counts[:n].sum()), key=key, **extra))
            if save:
                outputs[key] = Path(save)
            if key == "dedup":
                notes.append(
                    f"dedup warm-up, not timed above: import {result['import_s']:.3f} s, first call {result['first_call_s']:.3f} s "
                    f"(kernels and normalization table loaded); {result['kernel_threads']} kernel threads (DEDUP_THREADS unset: every usable core)"
                )
            if key.startswith("datasketch"):
                notes.append(f"{label}: dedup.shingles alone takes {result['shingling_s']:.3f} s of it ({100 * result['shingling_s'] / result['seconds']:.0f}%)")
        if cold:
            with tempfile.TemporaryDirectory(prefix="dedup-cold-") as cache:
                env = {"DEDUP_CACHE_DIR": cache}
                spec = {"suite": "hashing", "peer": "dedup", "corpus": str(corpus_path), "limit": 100, "repeat": 1}
                result = run_worker(spec, env=env)
                notes.append(f"dedup with a cold cache: first call {result['first_call_s']:.1f} s (normalization table build)")

        if rensa_paths and rensa_available():
            spec = {"suite": "hashing", "peer": "rensa_paths", "corpus": str(corpus_path), "repeat": repeat, "budget": budget}
            result = run_worker(spec)
            notes.append("rensa batch paths, best seconds each: " + ", ".join(f"{k} {v:.3f}" for k, v in sorted(result["paths"].items(), key=lambda kv: kv[1])))
        checks = _check_identity(outputs, rows)

    baseline = next((r for r in rows if r.extra.get("key") == BASELINE), None)
    fastest = next((r for r in rows if r.extra.get("key") == FASTEST_DATASKETCH), None)
    for r in rows:
        r.ratio = r.paragraphs_per_s / baseline.paragraphs_per_s if baseline else None
        if fastest is not None:
            r.extra["vs_bulk"] = f"{r.paragraphs_per_s / fastest.paragraphs_per_s:,.1f}x"
    print_table(rows, "vs loop", [("vs bulk", "vs_bulk", "s"), ("process s", "process_s", ".2f"), ("note", "note", "s")])
    print()
    print("vs loop / vs bulk: rate against datasketch's slowest path (update loop) and its fastest (bulk); threads: the threads")
    print("each side ran on (dedup: DEDUP_THREADS unset, every usable core, and DEDUP_THREADS=1); CPU/wall: CPU seconds of the")
    print("process per wall second of the timed call (near 1: one core busy)")
    for note in notes:
        print(note)
    print(checks["message"])
    targets = _targets(rows)
    for line in targets["lines"]:
        print(line)
    if json_path:
        write_json(json_path, "hashing", info, rows, checks=checks, targets=targets["values"], failures=failures)
    return 0 if checks["bit_identical"] and not failures else 1


def _check_identity(outputs: dict[str, Path], rows: list[Row]) -> dict[str, Any]:
    """dedup's rows against every datasketch peer's, on the paragraphs each peer hashed."""
    if "dedup" not in outputs:
        return {"bit_identical": False, "compared": {}, "message": "bit-identity: NOT CHECKED (dedup did not run)"}
    ours = np.load(outputs["dedup"])
    compared: dict[str, int] = {}
    identical = True
    mismatches = []
    for key in DATASKETCH_PEERS:
        if key not in outputs:
            continue
        theirs = np.load(outputs[key])
        same = theirs.shape[1] == ours.shape[1] and bool(np.array_equal(ours[: len(theirs)], theirs))
        compared[key] = len(theirs)
        if not same:
            identical = False
            bad = np.flatnonzero((ours[: len(theirs)] != theirs).any(axis=1)) if theirs.shape[1] == ours.shape[1] else []
            mismatches.append(f"{key}: {len(bad)} rows differ, first {list(bad[:5])}")
    if "dedup_one_thread" in outputs:
        # one thread or several, the same signatures
        same = bool(np.array_equal(np.load(outputs["dedup_one_thread"]), ours))
        compared["dedup_one_thread"] = len(ours)
        if not same:
            identical = False
            mismatches.append("dedup on one thread differs from dedup on every core")
    if not compared:
        return {"bit_identical": False, "compared": {}, "message": "bit-identity: NOT CHECKED (no datasketch peer ran)"}
    listed = ", ".join(f"{k.replace('datasketch_', '').replace('dedup_one_thread', 'dedup on 1 thread')} ({n:,} paragraphs)" for k, n in compared.items())
    if identical:
        message = f"bit-identity: dedup.minhash_signatures == datasketch (xxh32, affine32) on every row: {listed}: PASSED"
    else:
        message = f"bit-identity: FAILED against datasketch: {'; '.join(mismatches)}"
    return {"bit_identical": identical, "compared": compared, "message": message}


def _targets(rows: list[Row]) -> dict[str, Any]:
    by_key = {r.extra.get("key"): r for r in rows}
    lines = []
    values: dict[str, Any] = {}
    ours = by_key.get("dedup")
    if ours is None:
        return {"lines": [], "values": {}}
    loop = by_key.get(BASELINE)
    if loop is not None:
        ratio = ours.paragraphs_per_s / loop.paragraphs_per_s
        values["vs_datasketch_update_loop"] = ratio
        lines.append(f"target   dedup vs datasketch update loop: {ratio:,.0f}x (target >= {TARGET_VS_LOOP:.0f}x): {'met' if ratio >= TARGET_VS_LOOP else 'NOT met'}")
    rensa = by_key.get("rensa")
    if rensa is not None:
        ratio = ours.paragraphs_per_s / rensa.paragraphs_per_s
        values["vs_rensa"] = ratio
        lines.append(f"target   dedup vs rensa digest_matrix: {ratio:,.1f}x (target >= {TARGET_VS_RENSA:.0f}x): {'met' if ratio >= TARGET_VS_RENSA else 'NOT met'}")
    # Not targets: the same ratios against datasketch's fastest path, and for dedup on one thread.
    for key in ("dedup", "dedup_one_thread"):
        mine = by_key.get(key)
        if mine is None:
            continue
        for peer_key in (BASELINE, FASTEST_DATASKETCH, "rensa"):
            peer = by_key.get(peer_key)
            if peer is None or (key, peer_key) in (("dedup", BASELINE), ("dedup", "rensa")):
                continue
            ratio = mine.paragraphs_per_s / peer.paragraphs_per_s
            values[f"{key}_vs_{peer_key}"] = ratio
            lines.append(f"ratio    {mine.name} vs {peer.name}: {ratio:,.1f}x")
    return {"lines": lines, "values": values}
