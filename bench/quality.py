"""Search quality on the four hand-written query sets (bench/queries/), beside FTS5 BM25.

Engines, over the same collection and the same queries in one run:
- `papers-bot`: `bot.search.engine.PaperIndex`, as served;
- `fts5-bm25`: SQLite FTS5 over title + abstract (`porter unicode61`), OR of the query words,
  ordered by `bm25()` (the issue-12 baseline).

Metrics: descriptions and titles MRR@5 / hit@5 on the one target; authors MRR@5 / hit@5 where
any paper by that author (and topic) counts (`relevance.grade`); topics P@5 / nDCG@5
(`relevance.TopicIndex`).  Latency is warm and per engine: every query of the four sets goes
through every engine once to warm them up, then again, timed (top 5, as scored), each query
through the engines in turn so that a change of load on a shared machine falls on all of them;
p50 / p95 over all four sets. The dense engine's and the hybrid's include the query embedding.

With `--dense`, two more engines (issue 12): `dense`, cosine over the paper vectors of the
default encoder (`bot.search.embedding.default_encoder`, usearch index), and
`papers-bot+dense`, the engine with those dense candidates fused into description queries
(`PaperIndex.use_dense`). `--size N` searches the query targets plus random papers up to N
instead of the corpus. `--plot PNG` draws quality against warm p95 latency, one panel per
query set; `--replot` redraws it from `--json` without searching.

Building the 138k index takes minutes on a loaded machine, so `--directory` keeps it (and
the FTS5 database, and the vectors) and later runs reopen it:
    python bench/quality.py --directory /tmp/papers-quality-138k [--json out.json]
    python bench/quality.py --size 20000 --dense --directory /tmp/papers-quality-20k \
        --json bench/results/quality-hybrid-20k.json --plot docs/quality-latency.png
Delete the directory after changing what the index stores.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import random
import re
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench" / "queries"))
from relevance import TopicIndex, grade  # noqa: E402

from bot.models import Paper  # noqa: E402
from bot.search.engine import PaperIndex  # noqa: E402

QUERIES = ROOT / "bench" / "queries"
SETS = ("descriptions", "titles", "authors", "topics")
METRICS = {"topics": ("P@5", "nDCG@5")}
DEPTH = 5


def load_sets() -> dict[str, list[dict[str, Any]]]:
    return {
        name: [json.loads(x) for x in (QUERIES / f"{name}.jsonl").read_text().splitlines() if x]
        for name in SETS
    }


def load_rows(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def to_paper(key: int, row: dict[str, Any]) -> Paper:
    published = row.get("published")
    return Paper(
        key=key,
        title=row["title"],
        paper_id=row.get("id"),
        abstract=row.get("abstract"),
        authors=tuple(row.get("authors") or ()),
        keywords=tuple(row.get("keywords") or ()),
        published=date.fromisoformat(published) if published else None,
        upvotes=row.get("upvotes"),
    )


def open_engine(rows: list[dict[str, Any]], directory: Path | None) -> tuple[PaperIndex, float]:
    started = time.perf_counter()
    if directory is not None and (directory / "engine").is_dir():
        try:
            return PaperIndex.open(directory / "engine"), time.perf_counter() - started
        except FileNotFoundError:
            pass
    target = directory / "engine" if directory is not None else None
    papers = (to_paper(i, r) for i, r in enumerate(rows))
    return PaperIndex.build(papers, directory=target), time.perf_counter() - started


def sample(
    rows: list[dict[str, Any]], size: int, sets: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The query targets plus random papers, `size` in all (the corpus when size is 0)."""
    if not size or size >= len(rows):
        return rows
    wanted = {str(r["target_id"]) for qs in sets.values() for r in qs if r.get("target_id")}
    chosen = [r for r in rows if str(r["id"]) in wanted]
    rest = [r for r in rows if str(r["id"]) not in wanted]
    return chosen + random.Random(0).sample(rest, size - len(chosen))


def embed_rows(
    rows: list[dict[str, Any]],
    directory: Path | None,
    *,
    max_tokens: int | None = None,
    model_path: Path | None = None,
    label: str | None = None,
) -> tuple[Any, Any, float]:
    """The encoder (default one, or `model_path` cached under `label`) and the vectors of
    every row, cached in `directory` by model key; seconds spent embedding (0 if cached)."""
    import numpy as np

    from bot.search.embedder import model_key
    from bot.search.embedding import DEFAULT_MAX_TOKENS, OnnxEncoder, paper_text

    workers = max(1, os.cpu_count() or 1)
    tokens = max_tokens or DEFAULT_MAX_TOKENS
    encoder = OnnxEncoder(
        model_path, max_tokens=tokens, threads=1, workers=workers, quantized=model_path is None
    )
    key = label or model_key(encoder)
    name = key.replace("/", "_") + f"-{len(rows)}.npy"
    cached = directory / name if directory is not None else None
    if cached is not None and cached.exists():
        return encoder, np.load(cached), 0.0
    started = time.perf_counter()
    vectors = encoder.encode([paper_text(r["title"], r.get("abstract")) for r in rows])
    seconds = time.perf_counter() - started
    if cached is not None:
        np.save(cached, vectors)
    return encoder, vectors, seconds


def open_vectors(rows: list[dict[str, Any]], directory: Path | None) -> tuple[Any, Any, float]:
    """The default encoder and a vector index over every row (key = row number)."""
    from bot.search.embedder import model_key
    from bot.search.vectors import VectorIndex

    encoder, vectors, seconds = embed_rows(rows, directory)
    index = VectorIndex.build(
        zip(range(len(rows)), vectors, strict=True), model=model_key(encoder), dimensions=384
    )
    return encoder, index, seconds


def dense_search(encoder: Any, index: Any) -> Callable[[str], list[int]]:
    def search(query: str) -> list[int]:
        return [key for key, _ in index.search(encoder.encode([query])[0], DEPTH)]

    return search


def hybrid_dense(encoder: Any, index: Any) -> Callable[[str, int, Sequence[int]], list]:
    """What `vector_part.dense_search` gives the engine: the k nearest, then the cosines of
    the lexical candidates."""

    def search(text: str, k: int, among: Sequence[int] = ()) -> list[tuple[int, float]]:
        vector = encoder.encode([text])[0]
        nearest = index.search(vector, k)
        found = {key for key, _ in nearest}
        return nearest + index.cosines(vector, [key for key in among if key not in found])

    return search


def open_fts5(rows: list[dict[str, Any]], directory: Path | None) -> sqlite3.Connection:
    path = directory / "fts5.sqlite" if directory is not None else None
    if path is not None and path.exists():
        return sqlite3.connect(path)
    db = sqlite3.connect(":memory:" if path is None else str(path) + ".tmp")
    db.execute("CREATE VIRTUAL TABLE p USING fts5(title, abstract, tokenize='porter unicode61')")
    db.executemany(
        "INSERT INTO p(rowid, title, abstract) VALUES (?, ?, ?)",
        ((i, r["title"], r.get("abstract") or "") for i, r in enumerate(rows)),
    )
    db.commit()
    if path is None:
        return db
    db.close()
    os.replace(str(path) + ".tmp", path)
    return sqlite3.connect(path)


def fts5_search(db: sqlite3.Connection) -> Callable[[str], list[int]]:
    def search(query: str) -> list[int]:
        words = re.findall(r"\w+", query.lower())
        if not words:
            return []
        match = " OR ".join(f'"{w}"' for w in words)
        sql = "SELECT rowid FROM p WHERE p MATCH ? ORDER BY bm25(p) LIMIT ?"
        return [int(r[0]) for r in db.execute(sql, (match, DEPTH))]

    return search


def engine_search(index: PaperIndex, dense: Any = None) -> Callable[[str], list[int]]:
    """The engine as served, with these dense candidates (None: lexical only); the lexical
    engine and the hybrid share one index, so each call sets its own (an assignment)."""

    def search(query: str) -> list[int]:
        index.use_dense(dense)
        return [card.paper.key for card in index.search(query, limit=DEPTH).cards]

    return search


def known_item(ranking: Sequence[int], relevant: Callable[[int], bool]) -> tuple[float, float]:
    for rank, key in enumerate(ranking[:DEPTH]):
        if relevant(key):
            return 1.0 / (rank + 1), 1.0
    return 0.0, 0.0


def topical(ranking: Sequence[int], grades: dict[int, int]) -> tuple[float, float]:
    top = ranking[:DEPTH]
    precision = sum(1 for k in top if grades.get(k, 0) > 0) / DEPTH
    dcg = sum(grades.get(k, 0) / math.log2(i + 2) for i, k in enumerate(top))
    ideal = sorted(grades.values(), reverse=True)[:DEPTH]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return precision, (dcg / idcg if idcg else 0.0)


def score(
    search: Callable[[str], list[int]],
    sets: dict[str, list[dict[str, Any]]],
    rows: list[dict[str, Any]],
    by_id: dict[str, int],
    topic_grades: list[dict[int, int]],
) -> dict[str, tuple[float, float]]:
    results: dict[str, tuple[float, float]] = {}
    for name, queries in sets.items():
        pairs = []
        for i, row in enumerate(queries):
            ranking = search(row["query"])
            if name == "topics":
                pairs.append(topical(ranking, topic_grades[i]))
            elif name == "authors":
                pairs.append(known_item(ranking, lambda k, row=row: grade(row, rows[k]) > 0))
            else:
                target = by_id[str(row["target_id"])]
                pairs.append(known_item(ranking, lambda k, target=target: k == target))
        results[name] = (
            statistics.fmean(p[0] for p in pairs),
            statistics.fmean(p[1] for p in pairs),
        )
    return results


def latency(
    engines: dict[str, Callable[[str], list[int]]], queries: Sequence[str]
) -> dict[str, dict[str, float]]:
    """Warm p50 / p95 ms per engine. Every query goes through every engine in turn, so a
    change of load on this shared machine falls on all of them alike."""
    for query in queries:
        for search in engines.values():
            search(query)
    times: dict[str, list[float]] = {name: [] for name in engines}
    for query in queries:
        for name, search in engines.items():
            started = time.perf_counter()
            search(query)
            times[name].append((time.perf_counter() - started) * 1000)
    timing = {}
    for name, values in times.items():
        values.sort()
        timing[name] = {
            "p50_ms": statistics.median(values),
            "p95_ms": values[min(len(values) - 1, math.ceil(0.95 * len(values)) - 1)],
        }
    return timing


LABELS = {
    "papers-bot": "papers-bot (lexical)",
    "fts5-bm25": "SQLite FTS5 BM25",
    "dense": "dense only (MiniLM)",
    "papers-bot+dense": "hybrid (papers-bot + dense)",
}


def plot(payload: dict[str, Any], path: Path) -> None:
    """Quality against warm p95 latency, one panel per query set, one point per engine."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results, timing = payload["results"], payload["latency"]
    p95 = [timing[e]["p95_ms"] for e in results]
    low, high = min(p95) / 1.6, max(max(p95), 25.0) * 1.6
    ticks = [t for t in (0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000) if low <= t <= high]
    targets = {"descriptions": (0.85, "target at 138k"), "titles": (0.95, "target at 138k")}
    fig, axes = plt.subplots(1, len(SETS), figsize=(13, 4.2), sharex=True)
    for ax, name in zip(axes, SETS, strict=True):
        for i, engine in enumerate(results):
            ax.scatter(
                timing[engine]["p95_ms"],
                results[engine][name][0],
                s=60,
                color=f"C{i}",
                label=LABELS.get(engine, engine),
                zorder=3,
            )
        if name in targets:
            value, label = targets[name]
            ax.axhline(value, color="black", linestyle=":", linewidth=1, label=label)
        ax.axvline(25, color="grey", linestyle="--", linewidth=1, label="p95 target, 25 ms")
        ax.set_title(f"{name}: {METRICS.get(name, ('MRR@5',))[0]}")
        ax.set_ylim(0, 1.05)
        ax.set_xscale("log")
        ax.set_xlim(low, high)
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("quality (higher is better)")
    fig.supxlabel(
        f"warm p95 ms per query (log scale), {payload['papers']:,} papers, "
        f"shared 2-core machine, load average {payload['load']:.1f}",
        fontsize=9,
    )
    handles, labels = axes[0].get_legend_handles_labels()
    extra = axes[SETS.index("descriptions")].get_legend_handles_labels()
    for handle, label in zip(*extra, strict=True):
        if label not in labels:
            handles.append(handle)
            labels.append(label)
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.savefig(path, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--corpus", type=Path, default=ROOT.parent / "shared/corpus/papers.jsonl.gz"
    )
    parser.add_argument("--directory", type=Path, help="keep the built index here and reuse it")
    parser.add_argument("--no-baseline", action="store_true", help="skip FTS5")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--size", type=int, default=0, help="search a sample of N papers")
    parser.add_argument("--dense", action="store_true", help="add dense and hybrid engines")
    parser.add_argument("--plot", type=Path, help="quality against p95 latency, as PNG")
    parser.add_argument("--replot", action="store_true", help="only the plot, from --json")
    args = parser.parse_args()
    if args.replot:
        if args.json is None or args.plot is None:
            parser.error("--replot needs --json and --plot")
        plot(json.loads(args.json.read_text(encoding="utf-8")), args.plot)
        return 0

    sets = load_sets()
    rows = sample(load_rows(args.corpus), args.size, sets)
    by_id = {str(r["id"]): i for i, r in enumerate(rows)}
    if args.directory is not None:
        args.directory.mkdir(parents=True, exist_ok=True)
    index, opened = open_engine(rows, args.directory)
    topic_index = TopicIndex(rows)
    topic_grades = [
        {by_id[k]: g for k, g in topic_index.grades(row).items()} for row in sets["topics"]
    ]
    engines: dict[str, Callable[[str], list[int]]] = {"papers-bot": engine_search(index)}
    if not args.no_baseline:
        engines["fts5-bm25"] = fts5_search(open_fts5(rows, args.directory))
    embedded = None
    if args.dense:
        encoder, vectors, embedded = open_vectors(rows, args.directory)
        engines["dense"] = dense_search(encoder, vectors)
        engines["papers-bot+dense"] = engine_search(index, hybrid_dense(encoder, vectors))
    results = {name: score(fn, sets, rows, by_id, topic_grades) for name, fn in engines.items()}
    timing = latency(engines, [q["query"] for qs in sets.values() for q in qs])
    load = os.getloadavg()[0]

    print(f"{len(rows):,} papers; index ready in {opened:.1f} s; load average {load:.1f}")
    if embedded:
        print(f"embedded {len(rows):,} papers in {embedded:.0f} s ({len(rows) / embedded:.1f}/s)")
    print("| query set (metric) | " + " | ".join(engines) + " |")
    print("| --- | " + " | ".join("---" for _ in engines) + " |")
    for name in SETS:
        metric = " / ".join(METRICS.get(name, ("MRR@5", "hit@5")))
        cells = " | ".join(
            f"{results[e][name][0]:.3f} / {results[e][name][1]:.3f}" for e in engines
        )
        print(f"| {name}, {len(sets[name])} ({metric}) | {cells} |")
    cells = " | ".join(f"{timing[e]['p50_ms']:.1f} / {timing[e]['p95_ms']:.1f}" for e in engines)
    print(f"| warm latency, p50 / p95 ms | {cells} |")
    payload = {
        "papers": len(rows),
        "load": load,
        "embed_seconds": embedded,
        "latency": timing,
        "results": {e: {s: list(v) for s, v in r.items()} for e, r in results.items()},
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    if args.plot:
        plot(payload, args.plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
