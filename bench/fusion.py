"""How to fuse lexical and dense rankings: fusion rules tuned on one half of the queries,
scored on the other, for one or more sets of paper vectors (token limits, model recipes).

For every query of the four sets (bench/queries/) it records, once, what the engine hands to
`ranking.hybrid`: the lexical candidates with their scores (up to `engine.CANDIDATES`), and
whether the query is routed to the dense side at all (`ranking.wants_dense`: descriptions
without filters). Cosines are exact (numpy over every paper vector, not the usearch graph).
Each fusion rule then re-orders the routed queries' candidates offline; every other query
keeps the lexical ranking, as in the engine. Rules:
- `rrf-k`: reciprocal-rank fusion of the lexical list and the dense top 100 (the engine's);
- `rescore-rrf-k`: as above, the dense list being the dense top 100 plus every lexical
  candidate, ordered by exact cosine (so lexical candidates outside the dense top 100 get a
  dense rank too);
- `convex-a`: a * lexical score / best lexical score + (1 - a) * min-max-normalised cosine
  over the same candidates (a dense-only candidate has lexical score 0).
Parameters are chosen on one half of the description queries (alternate queries, `--split`)
and scored on the other, both ways; titles, authors and topics are scored with the same rule.

    python bench/fusion.py --size 20000 --directory /tmp/papers-quality-20k --max-tokens 128 96

Vectors are cached in `--directory` as bench/quality.py caches them (one .npy per model key).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "bench" / "queries"))
import quality  # noqa: E402
from relevance import TopicIndex, grade  # noqa: E402

import bot.search.engine as engine_module  # noqa: E402

DENSE_TOP = 100
Ranking = list[int]


def _lexical_and_routed(lexical: Sequence[Any], dense: Sequence[Any], _: dict[str, Any]) -> Any:
    return (list(lexical), bool(dense))


def capture(
    index: Any,
    sets: dict[str, list[dict[str, Any]]],
    probe: Any,
    record: Callable[[Sequence[Any], Sequence[Any], dict[str, Any]], Any] = _lexical_and_routed,
) -> dict[str, list]:
    """Per query, what `record(lexical, dense, keyword arguments)` makes of the engine's call
    to `ranking.hybrid` (by default: lexical [(key, score)], routed to dense?); a query that
    never reaches it gets `record((), (), {})`."""
    seen: list[Any] = []
    real = engine_module.hybrid

    def spy(lexical: Sequence[tuple[int, float]], dense: Sequence[Any] = (), **kw: Any) -> Any:
        seen.append(record(lexical, dense, kw))
        return list(lexical)

    engine_module.hybrid = spy  # type: ignore[assignment]
    index.use_dense(probe)
    try:
        out: dict[str, list] = {}
        for name, queries in sets.items():
            out[name] = []
            for row in queries:
                seen.clear()
                index.search(row["query"], limit=5)
                out[name].append(seen[0] if seen else record((), (), {}))
        return out
    finally:
        engine_module.hybrid = real
        index.use_dense(None)


def sample_arguments(description: str) -> argparse.ArgumentParser:
    """A parser with the sample's options: --corpus, --directory, --size."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--corpus", type=Path, default=ROOT.parent / "shared/corpus/papers.jsonl.gz"
    )
    parser.add_argument("--directory", type=Path, required=True)
    parser.add_argument("--size", type=int, default=20000)
    return parser


def prepare(
    corpus: Path, size: int, directory: Path
) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]], dict[str, Any], dict[str, list]]:
    """The query sets, the sample, the scoring context (`metric`) and the captured lexical
    candidates of every query, the engine's index kept in `directory`."""
    sets = quality.load_sets()
    rows = quality.sample(quality.load_rows(corpus), size, sets)
    by_id = {str(r["id"]): i for i, r in enumerate(rows)}
    directory.mkdir(parents=True, exist_ok=True)
    index, _ = quality.open_engine(rows, directory)
    topics = TopicIndex(rows)
    ctx = {
        "rows": rows,
        "by_id": by_id,
        "grades": [{by_id[k]: g for k, g in topics.grades(r).items()} for r in sets["topics"]],
    }
    return sets, rows, ctx, capture(index, sets, lambda text, k, among: [(0, 1.0)])


def rrf(lists: Sequence[Sequence[int]], k: float) -> Ranking:
    fused: dict[int, float] = {}
    for ranking in lists:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    order = {item: i for i, item in enumerate(fused)}
    return sorted(fused, key=lambda item: (-fused[item], order[item]))


def rules() -> dict[str, Callable[[list[tuple[int, float]], np.ndarray, np.ndarray], Ranking]]:
    """name -> f(lexical, cosines of every paper, dense top keys) -> ranking."""
    table: dict[str, Callable[..., Ranking]] = {}
    for k in (5, 10, 20, 30, 60):
        table[f"rrf-{k}"] = lambda lex, cos, top, k=k: rrf(([x for x, _ in lex], list(top)), k)
        table[f"rescore-rrf-{k}"] = lambda lex, cos, top, k=k: _rescore(lex, cos, top, k)
    for a in (0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8):
        table[f"convex-{a}"] = lambda lex, cos, top, a=a: _convex(lex, cos, top, a)
        table[f"convex-z-{a}"] = lambda lex, cos, top, a=a: _convex(lex, cos, top, a, z=True)
    return table


def _rescore(lex: list[tuple[int, float]], cos: np.ndarray, top: np.ndarray, k: float) -> Ranking:
    pool = list(dict.fromkeys([*top.tolist(), *(x for x, _ in lex)]))
    dense = sorted(pool, key=lambda x: -cos[x])
    return rrf(([x for x, _ in lex], dense), k)


def _convex(
    lex: list[tuple[int, float]], cos: np.ndarray, top: np.ndarray, a: float, z: bool = False
) -> Ranking:
    """`z`: both sides as z-scores over the pool (a dense-only paper gets the lexical
    minimum), instead of lexical / best and min-max cosine."""
    pool = list(dict.fromkeys([*(x for x, _ in lex), *top.tolist()]))
    c = cos[pool]
    if z:
        floor = min((s for _, s in lex), default=0.0)
        given = dict(lex)
        raw = np.array([given.get(x, floor) for x in pool])
        lexical = (raw - raw.mean()) / (raw.std() or 1.0)
        dense = (c - c.mean()) / (c.std() or 1.0)
    else:
        best = max((s for _, s in lex), default=1.0) or 1.0
        given = {x: s / best for x, s in lex}
        lexical = np.array([given.get(x, 0.0) for x in pool])
        low, high = float(c.min()), float(c.max())
        dense = (c - low) / ((high - low) or 1.0)
    scored = a * lexical + (1 - a) * dense
    order = np.argsort(-scored, kind="stable")
    return [pool[i] for i in order]


def metric(
    name: str, ranking: Ranking, row: dict[str, Any], ctx: dict[str, Any], i: int
) -> tuple[float, float]:
    """MRR@5 and hit@5 (known-item sets), or P@5 and nDCG@5 (topics), of one query."""
    if name == "topics":
        return quality.topical(ranking, ctx["grades"][i])
    if name == "authors":
        rows = ctx["rows"]
        return quality.known_item(ranking, lambda k: grade(row, rows[k]) > 0)
    target = ctx["by_id"][str(row["target_id"])]
    return quality.known_item(ranking, lambda k: k == target)


def evaluate(
    captured: dict[str, list],
    sets: dict[str, list[dict[str, Any]]],
    qvecs: dict[str, np.ndarray],
    vectors: np.ndarray,
    ctx: dict[str, Any],
) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """rule -> set -> per-query score; also the lexical and dense-only rankings."""
    table = rules()
    out: dict[str, dict[str, list[tuple[float, float]]]] = {
        r: {} for r in ["lexical", "dense", *table]
    }
    for name, queries in sets.items():
        for r in out:
            out[r][name] = []
        for i, row in enumerate(queries):
            lex, routed = captured[name][i]
            cos = vectors @ qvecs[name][i]
            top = np.argsort(-cos)[:DENSE_TOP]
            lexical = [x for x, _ in lex]
            out["lexical"][name].append(metric(name, lexical, row, ctx, i))
            out["dense"][name].append(metric(name, top.tolist(), row, ctx, i))
            for rule, fn in table.items():
                ranking = fn(lex, cos, top) if routed else lexical
                out[rule][name].append(metric(name, ranking, row, ctx, i))
    return out


def main() -> int:
    parser = sample_arguments((__doc__ or "").splitlines()[0])
    parser.add_argument("--max-tokens", type=int, nargs="*", default=[128])
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="LABEL=ONNX@TOKENS",
        help="another model file, its vectors cached under LABEL (e.g. an older recipe)",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sets, rows, ctx, captured = prepare(args.corpus, args.size, args.directory)
    configs: list[tuple[str, Any, np.ndarray]] = []
    for tokens in args.max_tokens:
        encoder, vectors, seconds = quality.embed_rows(rows, args.directory, max_tokens=tokens)
        configs.append((f"{encoder.model_version}", encoder, vectors))
        print(f"{encoder.model_version}: vectors ready ({seconds:.0f} s embedding)", flush=True)
    for spec in args.model:
        label, _, rest = spec.partition("=")
        path, _, tokens = rest.partition("@")
        encoder, vectors, seconds = quality.embed_rows(
            rows, args.directory, max_tokens=int(tokens or 128), model_path=Path(path), label=label
        )
        configs.append((label, encoder, vectors))
        print(f"{label}: vectors ready ({seconds:.0f} s embedding)", flush=True)
    halves = [
        list(range(0, len(sets["descriptions"]), 2)),
        list(range(1, len(sets["descriptions"]), 2)),
    ]
    payload: dict[str, Any] = {}
    for label, encoder, vectors in configs:
        qvecs = {name: encoder.encode([q["query"] for q in qs]) for name, qs in sets.items()}
        scores = evaluate(captured, sets, qvecs, vectors, ctx)
        mean = {
            r: {s: [statistics.fmean(x[j] for x in v) for j in (0, 1)] for s, v in per.items()}
            for r, per in scores.items()
        }
        first = {r: {s: [x[0] for x in v] for s, v in per.items()} for r, per in scores.items()}
        held_out = []
        for tune, test in (halves, halves[::-1]):
            fused = [r for r in scores if r not in ("lexical", "dense")]
            best = max(
                fused, key=lambda r: statistics.fmean(first[r]["descriptions"][i] for i in tune)
            )
            held_out.append(
                {
                    "rule": best,
                    "tuned": statistics.fmean(first[best]["descriptions"][i] for i in tune),
                    "held_out": statistics.fmean(first[best]["descriptions"][i] for i in test),
                    "rrf-10 held_out": statistics.fmean(
                        first["rrf-10"]["descriptions"][i] for i in test
                    ),
                    "lexical held_out": statistics.fmean(
                        first["lexical"]["descriptions"][i] for i in test
                    ),
                }
            )
        payload[label] = {"mean": mean, "held_out": held_out}
        print(f"\n## {label}")
        print("| rule | descriptions MRR@5 / hit@5 | titles | authors | topics P@5 / nDCG@5 |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for rule, m in mean.items():
            cells = " | ".join(f"{m[s][0]:.3f} / {m[s][1]:.3f}" for s in quality.SETS)
            print(f"| {rule} | {cells} |")
        for h in held_out:
            print(
                "tuned on one half, scored on the other: "
                + json.dumps(
                    {k: (round(v, 3) if isinstance(v, float) else v) for k, v in h.items()}
                )
            )
    if args.json:
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
