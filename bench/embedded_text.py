"""What to embed for a paper, and how to query the vectors: description quality per variant.

Every variant is scored on the same sample (the query targets plus random papers, as
bench/quality.py draws it), against the same lexical candidates the engine hands to
`ranking.hybrid` (captured once, as bench/fusion.py does), with exact cosines:
- `dense`: the exact dense top 100 alone;
- `blend`: the engine's rule before this round (`ranking.hybrid`, lexical weight 0.5) over
  the lexical candidates and the dense top 100, a dense-only paper scoring 0 lexically;
- `blend-floor`: the same, a dense-only paper getting the last lexical candidate's score
  when the lexical list was cut at its cap (`hybrid(..., truncated=True)`, the engine now);
- `ann`: whether the usearch graph's top 100 holds the target as often as the exact top 100.
Paper-side variants (`--variant`, the query side is unchanged):
- `base`: `paper_text(title, abstract)` truncated to the token limit (the engine's);
- `contrib`: title, then the abstract's sentences saying what the paper did (we / our /
  this paper ...), then the others, in their order;
- `dropfirst`: title and abstract without its first sentence when that sentence has no such
  cue and the abstract has at least three sentences;
- `chunk2`: title and the part of the abstract past the token limit (papers whose text fits
  keep their `base` vector); scored as the better cosine of `base` and `chunk2` (`maxsim`);
- `tok256`: `base` at 256 tokens.
Query-side: `prf-a-k`: Rocchio feedback on descriptions, q' = q + a * mean of the top k
papers of the blend, then blended again.

    nice -n 5 .venv/bin/python bench/embedded_text.py --directory /tmp/descq --variant base contrib
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "bench" / "queries"))
import fusion  # noqa: E402
import quality  # noqa: E402

import bot.search.engine as engine_module  # noqa: E402
from bot.search.embedding import OnnxEncoder, paper_text  # noqa: E402
from bot.search.ranking import hybrid  # noqa: E402

SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[])")
CUE = re.compile(
    r"\b(we|our|us|this (paper|work|study|article|thesis)|here"
    r"|results? (show|indicate|demonstrate))\b",
    re.IGNORECASE,
)


def sentences(abstract: str) -> list[str]:
    return [s for s in SENTENCE.split(abstract.strip()) if s]


def contrib_text(title: str, abstract: str | None) -> str:
    if not abstract:
        return title
    parts = sentences(abstract)
    first = [s for s in parts if CUE.search(s)]
    rest = [s for s in parts if not CUE.search(s)]
    return paper_text(title, " ".join(first + rest))


def dropfirst_text(title: str, abstract: str | None) -> str:
    if not abstract:
        return title
    parts = sentences(abstract)
    if len(parts) >= 3 and not CUE.search(parts[0]):
        parts = parts[1:]
    return paper_text(title, " ".join(parts))


def chunk2_text(encoder: OnnxEncoder, title: str, abstract: str | None, tokens: int) -> str | None:
    """Title + the abstract from where the `tokens` window ends (None if it all fits)."""
    if not abstract:
        return None
    text = paper_text(title, abstract)
    tok = encoder._tokenizer  # a bench reaching in to find the cut
    tok.no_truncation()
    try:
        enc = tok.encode(text)
    finally:
        tok.enable_truncation(max_length=tokens)
    # [CLS] + tokens - 2 + [SEP]: the window ends at token tokens - 2 (1-based offsets).
    if len(enc.ids) <= tokens:
        return None
    cut = enc.offsets[tokens - 2][0]
    start = len(title) + 2
    return paper_text(title, text[max(cut, start) :])


def embed(
    name: str, texts: list[str | None], encoder: OnnxEncoder, directory: Path
) -> tuple[np.ndarray, float]:
    """Vectors of the given texts (rows of None get zeros), cached under `name`."""
    path = directory / f"variant-{name}-{len(texts)}.npy"
    if path.exists():
        return np.load(path), 0.0
    started = time.process_time()
    wall = time.perf_counter()
    todo = [i for i, t in enumerate(texts) if t]
    out = np.zeros((len(texts), 384), dtype=np.float32)
    out[todo] = encoder.encode([texts[i] for i in todo])
    cpu = time.process_time() - started
    np.save(path, out)
    print(
        f"{name}: {len(todo)} texts embedded, {time.perf_counter() - wall:.0f} s wall, "
        f"{1000 * cpu / max(1, len(todo)):.1f} CPU-ms per text",
        flush=True,
    )
    return out, cpu


def blend(
    lex: list[tuple[int, float]], cos: np.ndarray, top: np.ndarray, *, floor: bool = False
) -> list[int]:
    """The engine's `ranking.hybrid` over the lexical candidates and the dense top 100 plus
    the candidates' cosines; `floor`: a dense-only paper gets the last lexical score when
    the lexical list was cut at the engine's cap."""
    pool = list(dict.fromkeys([*top.tolist(), *(x for x, _ in lex)]))
    dense = [(x, float(cos[x])) for x in pool]
    truncated = floor and len(lex) >= engine_module.CANDIDATES
    return [x for x, _ in hybrid(lex, dense, truncated=truncated)]


def score_variant(
    cos_of: Callable[[str, int, np.ndarray], np.ndarray],
    qvecs: dict[str, np.ndarray],
    captured: dict[str, list],
    sets: dict[str, list[dict[str, Any]]],
    ctx: dict[str, Any],
    prf: list[tuple[float, int]],
    paper_vectors: np.ndarray,
) -> dict[str, dict[str, list[tuple[float, float]]]]:
    rules = ["lexical", "dense", "blend", "blend-floor", *(f"prf-{a}-{k}" for a, k in prf)]
    out: dict[str, dict[str, list[tuple[float, float]]]] = {r: {} for r in rules}
    for name, queries in sets.items():
        for r in rules:
            out[r][name] = []
        for i, row in enumerate(queries):
            lex, routed = captured[name][i]
            q = qvecs[name][i]
            cos = cos_of(name, i, q)
            top = np.argsort(-cos)[:100]
            lexical = [x for x, _ in lex]
            fused = blend(lex, cos, top) if routed else lexical
            out["lexical"][name].append(fusion.metric(name, lexical, row, ctx, i))
            out["dense"][name].append(fusion.metric(name, top.tolist(), row, ctx, i))
            out["blend"][name].append(fusion.metric(name, fused, row, ctx, i))
            floored = blend(lex, cos, top, floor=True) if routed else lexical
            out["blend-floor"][name].append(fusion.metric(name, floored, row, ctx, i))
            for a, k in prf:
                ranking = fused
                if routed:
                    q2 = q + a * paper_vectors[fused[:k]].mean(axis=0)
                    q2 /= np.linalg.norm(q2)
                    cos2 = cos_of(name, i, q2)
                    ranking = blend(lex, cos2, np.argsort(-cos2)[:100])
                out[f"prf-{a}-{k}"][name].append(fusion.metric(name, ranking, row, ctx, i))
    return out


def main() -> int:
    parser = fusion.sample_arguments((__doc__ or "").splitlines()[0])
    parser.add_argument("--variant", nargs="+", default=["base"])
    parser.add_argument("--prf", nargs="*", default=[], help="a:k pairs, e.g. 0.5:3")
    parser.add_argument("--ann", action="store_true")
    args = parser.parse_args()
    sets, rows, ctx, captured = fusion.prepare(args.corpus, args.size, args.directory)
    by_id = ctx["by_id"]
    workers = max(1, os.cpu_count() or 1)
    enc128 = OnnxEncoder(max_tokens=128, threads=1, workers=workers, quantized=True)
    qvecs = {name: enc128.encode([q["query"] for q in qs]) for name, qs in sets.items()}
    prf = [(float(a), int(k)) for a, k in (p.split(":") for p in args.prf)]
    titles = [(r["title"], r.get("abstract")) for r in rows]
    base, _ = embed("base-128", [paper_text(t, a) for t, a in titles], enc128, args.directory)
    for variant in args.variant:
        if variant == "base":
            vectors = base
        elif variant == "contrib":
            vectors, _ = embed(
                "contrib-128", [contrib_text(t, a) for t, a in titles], enc128, args.directory
            )
        elif variant == "dropfirst":
            vectors, _ = embed(
                "dropfirst-128", [dropfirst_text(t, a) for t, a in titles], enc128, args.directory
            )
        elif variant == "tok256":
            enc256 = OnnxEncoder(max_tokens=256, threads=1, workers=workers, quantized=True)
            vectors, _ = embed(
                "base-256", [paper_text(t, a) for t, a in titles], enc256, args.directory
            )
        elif variant == "chunk2":
            second, _ = embed(
                "chunk2-128",
                [chunk2_text(enc128, t, a, 128) for t, a in titles],
                enc128,
                args.directory,
            )
        else:
            raise SystemExit(f"unknown variant {variant}")
        if variant == "chunk2":
            has = np.abs(second).sum(axis=1) > 0

            def cos_of(
                name: str, i: int, q: np.ndarray, has: np.ndarray = has, two: np.ndarray = second
            ) -> np.ndarray:
                return np.where(has, np.maximum(base @ q, two @ q), base @ q)

            vectors = base
        else:

            def cos_of(name: str, i: int, q: np.ndarray, v: np.ndarray = vectors) -> np.ndarray:
                return v @ q

        scores = score_variant(cos_of, qvecs, captured, sets, ctx, prf, vectors)
        print(f"\n## {variant} ({len(rows)} papers)")
        print("| rule | descriptions MRR@5 / hit@5 | titles | authors | topics P@5 / nDCG@5 |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for rule, per in scores.items():
            cells = " | ".join(
                f"{statistics.fmean(x[0] for x in per[s]):.3f} / "
                f"{statistics.fmean(x[1] for x in per[s]):.3f}"
                for s in quality.SETS
            )
            print(f"| {rule} | {cells} |", flush=True)
        desc = [x[0] for x in scores["blend"]["descriptions"]]
        print("blend per description query (rr):", " ".join(f"{x:.2f}" for x in desc))
    if args.ann:
        from bot.search.vectors import VectorIndex

        graph = VectorIndex.build(
            zip(range(len(rows)), base, strict=True), model="x", dimensions=384
        )
        lost = 0
        found = 0
        for i, row in enumerate(sets["descriptions"]):
            target = by_id[str(row["target_id"])]
            exact = set(np.argsort(-(base @ qvecs["descriptions"][i]))[:100].tolist())
            approx = {k for k, _ in graph.search(qvecs["descriptions"][i], 100)}
            found += target in exact
            lost += target in exact and target not in approx
        print(f"ann: target in exact top 100 for {found}/64, lost by usearch in {lost}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
