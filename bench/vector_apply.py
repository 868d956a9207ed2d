"""What a catch-up batch costs the vector part at scale, and what a serving reader holds.

On a copy of a saved vector index (`--index`, a directory with `vectors.usearch` and
`vectors.json`, e.g. random unit vectors at 384 d built by a script; random vectors are
fine for cost and memory, not for quality), in the same run:
- old: what `VectorPart.apply` did before the delta: the mapped graph loaded into memory,
  `--batch` new vectors added, the whole graph saved;
- delta: `LayeredIndex.apply` of the same batches (new vectors, a few removed keys), each
  saving only the delta and the description; then a fold of what they added;
- search k = 100 over the main graph alone and over main + delta (p50 / p95);
- `--rss`: a fresh process opens the part as a serving bot does and answers 100
  description queries (the real encoder when the `semantic` extra is there, else random
  query vectors), printing its peak and current RSS.

    nice -n 10 .venv/bin/python bench/vector_apply.py --index /tmp/idx --work /tmp/w --rss
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.search.vector_delta import LayeredIndex
from bot.search.vectors import VectorIndex

RNG = np.random.default_rng(1)


def units(n: int, dimensions: int) -> NDArray[np.float32]:
    m = RNG.standard_normal((n, dimensions)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def copy(index: Path, work: Path) -> Path:
    target = work / "vectors"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(index, target)
    return target


def latency(search: object, queries: NDArray[np.float32]) -> str:
    times = []
    for query in queries:
        started = time.perf_counter()
        search(query, 100)  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return f"p50 {statistics.median(times):.2f} ms, p95 {times[int(len(times) * 0.95)]:.2f} ms"


def rss_child(directory: Path) -> None:
    """A reader as `serve` holds it: the part opened, then description queries."""
    from bot.search.vector_part import VectorPart, dense_search

    meta = json.loads((directory / "vectors.json").read_text(encoding="utf-8"))
    part = VectorPart(str(meta["model"]), int(meta["dimensions"]))
    part.open(directory)
    try:
        from bot.search.embedding import default_encoder

        encoder = default_encoder(threads=1)
        source = "real encoder"
    except Exception as exc:  # noqa: BLE001 - the bench falls back and says so
        print(f"no encoder ({exc}): random query vectors")
        encoder, source = None, "random query vectors"
    started = time.perf_counter()
    if encoder is not None:
        search = dense_search(part, lambda: encoder)
        for i in range(100):
            search(f"description query number {i} about neural speech separation", 100, ())
    else:
        index = part.index
        assert index is not None
        for query in units(100, int(meta["dimensions"])):
            index.search(query, 100)
    elapsed = time.perf_counter() - started
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec.
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    peak, current = status["VmHWM"].strip(), status["VmRSS"].strip()
    print(
        f"rss: {part.count:,} vectors, 100 queries ({source}) in {elapsed:.1f} s; "
        f"peak (VmHWM) {peak}, now {current}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument(
        "--prefill", type=int, default=0, help="vectors put in the delta before timing"
    )
    parser.add_argument("--old", type=int, default=2, help="old-style applies to time")
    parser.add_argument("--rss", action="store_true")
    parser.add_argument("--no-fold", action="store_true")
    parser.add_argument("--rss-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    directory = copy(args.index, args.work)
    meta = json.loads((directory / "vectors.json").read_text(encoding="utf-8"))
    dims, count = int(meta["dimensions"]), int(meta["count"])
    size = (directory / "vectors.usearch").stat().st_size / 1e6
    print(f"index: {count:,} vectors, {dims} d, graph file {size:.0f} MB")
    next_key = count + 10_000_000

    for run in range(args.old):
        started = time.perf_counter()
        old = VectorIndex.open(directory)
        keys = range(next_key, next_key + args.batch)
        next_key += args.batch
        old.extend(zip(keys, units(args.batch, dims), strict=True))
        loaded = time.perf_counter() - started
        saving = time.perf_counter()
        old.save(directory)
        done = time.perf_counter()
        print(
            f"old apply {run + 1}: {done - started:.2f} s "
            f"(load + add {loaded:.2f} s, save {done - saving:.2f} s)"
        )
        del old

    directory = copy(args.index, args.work)  # the delta starts from the same main graph
    layered = LayeredIndex.open(directory)
    queries = units(200, dims)
    print(f"search main only: {latency(layered.search, queries)}")
    if args.prefill:
        keys = range(next_key, next_key + args.prefill)
        next_key += args.prefill
        layered.apply(dict(zip(keys, units(args.prefill, dims), strict=True)), ())
    for run in range(args.batches):
        keys = range(next_key, next_key + args.batch)
        next_key += args.batch
        fresh = dict(zip(keys, units(args.batch, dims), strict=True))
        gone = [int(k) for k in RNG.integers(1, count, 5)]
        started = time.perf_counter()
        layered.apply(fresh, gone)
        print(
            f"delta apply {run + 1}: {(time.perf_counter() - started) * 1000:.1f} ms "
            f"(delta {len(layered.delta):,}, hidden {len(layered.hidden):,})"
        )
    print(f"search main + delta: {latency(layered.search, queries)}")
    if not args.no_fold:
        started = time.perf_counter()
        layered.fold()
        folded = args.prefill + args.batch * args.batches
        print(f"fold of {folded:,} vectors: {time.perf_counter() - started:.1f} s")
    if args.rss:
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--index",
                str(args.index),
                "--work",
                str(args.work),
                "--rss-child",
                str(directory),
            ],
            check=True,
        )


if __name__ == "__main__":
    main()
