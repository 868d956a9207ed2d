"""`papers-bot embed` end to end, this checkout beside a baseline, in the same run.

Each run embeds a fresh copy of `--database` (and of its search index, so the index update
at the end is the one a user gets after `ingest --no-embed`) with the `papers-bot` of a
virtualenv: this checkout's `.venv` and `--baseline-venv` (main's, by default), alternating,
`--repeat` times each. Per run: wall seconds, CPU seconds (the child's user + system time,
meaningful when other jobs share the cores), cores busy (CPU / wall), papers/s, CPU-ms per
paper, and the embedding alone (`seconds` of `--json`) apart from the index update after
it. The load average is printed before each run: compare ratios within one run.

`--free-encoder` swaps the model for one that costs nothing (random unit vectors under the
same model key): what is left is the work outside the encoder (finding the papers to
embed, reading their texts, storing and committing, the index update), at full scale in
minutes instead of an hour.

    nice -n 10 .venv/bin/python bench/embed_run.py --database /tmp/es20k.db --repeat 2
    nice -n 10 .venv/bin/python bench/embed_run.py --database /tmp/es138.db --free-encoder
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Run as `python -c FREE embed --json` in either virtualenv: `papers-bot` with a free encoder.
FREE = """
import sys
import numpy as np
import bot.search.embedding as embedding
from bot.search.encoder_id import DIMENSIONS, MODEL_NAME, model_version

class Free:
    model_id = MODEL_NAME
    model_version = model_version(quantized=True, max_tokens=128)
    dimensions = DIMENSIONS
    def encode(self, texts):
        v = np.random.default_rng(len(texts)).standard_normal((len(texts), DIMENSIONS))
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

embedding.default_encoder = lambda **_: Free()
from runtime.cli.main import main
sys.argv = ["papers-bot", *sys.argv[1:]]
main()
"""


def fresh_copy(database: Path, work: Path) -> Path:
    copy = work / "embed-run.db"
    for end in ("", "-wal", "-shm", ".migrate-lock"):
        copy.with_name(copy.name + end).unlink(missing_ok=True)
    shutil.rmtree(work / "embed-run.index", ignore_errors=True)
    shutil.copyfile(database, copy)
    index = database.with_name(database.stem + ".index")
    if index.is_dir():
        shutil.copytree(index, work / "embed-run.index")
    return copy


def run(venv: Path, database: Path, work: Path, *, free: bool) -> dict[str, float]:
    copy = fresh_copy(database, work)
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{copy}"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [
            *(
                [str(venv / "bin" / "python"), "-c", FREE]
                if free
                else [str(venv / "bin" / "papers-bot")]
            ),
            "embed",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    papers = int(result["embedded"])
    return {
        "papers": papers,
        "wall": wall,
        "cpu": cpu,
        "embed_s": float(result["seconds"]),
        "cores": cpu / wall,
        "rate": papers / wall,
        "cpu_ms": 1000 * cpu / max(papers, 1),
    }


def line(label: str, row: dict[str, float]) -> str:
    return (
        f"{label:9} {row['wall']:8.1f} s wall {row['cpu']:8.1f} CPU-s {row['cores']:5.2f} cores "
        f"{row['rate']:7.1f} papers/s {row['cpu_ms']:6.1f} CPU-ms/paper "
        f"(embedding {row['embed_s']:.1f} s, index update {row['wall'] - row['embed_s']:.1f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", type=Path, required=True, help="never modified")
    parser.add_argument("--baseline-venv", type=Path, default=ROOT.parent / "main" / ".venv")
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--json", type=Path, help="also write every run here")
    parser.add_argument("--free-encoder", action="store_true", help="time all but the model")
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {"branch": [], "baseline": []}
    for i in range(args.repeat):
        # Alternate which goes first, so a load change favours neither.
        order = ["branch", "baseline"] if i % 2 == 0 else ["baseline", "branch"]
        for label in order:
            venv = args.venv if label == "branch" else args.baseline_venv
            load = os.getloadavg()[0]
            row = run(venv, args.database, args.work, free=args.free_encoder)
            runs[label].append(row)
            print(f"[load {load:4.1f}] {line(label, row)}", flush=True)
    print("median of each:")
    for label, rows in runs.items():
        median = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        print(f"  {line(label, median)}")
    ratio = statistics.median(r["wall"] for r in runs["baseline"]) / statistics.median(
        r["wall"] for r in runs["branch"]
    )
    print(f"baseline wall / branch wall: {ratio:.3f}")
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))


if __name__ == "__main__":
    main()
