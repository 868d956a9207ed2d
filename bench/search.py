"""Search benchmark: papers-bot's index against two baselines, same corpus, same queries.

Usage::

    python bench/search.py --papers 138083 --queries 1000 --json > bench/results/search-138k.json
    python bench/search.py --papers 1000000 --queries 1000 --baseline-queries 100

Engines (each built and measured in its own forked process, so `rss_mb` is the resident
memory the engine added on top of the shared corpus, and `build_s` its build time):

- ``papers-bot``: `bot.search.engine.PaperIndex`, built from `Paper` objects.
- ``rapidfuzz-token-set``: `rapidfuzz.process.extract(query, titles, scorer=token_set_ratio,
  limit=10)` over the titles, lowercased once at load.
- ``sqlite-fts5``: an in-memory SQLite FTS5 table (title, abstract; `porter unicode61`),
  queried with the query's words OR-ed together, ordered by `bm25()`.

**Corpus.** The real papers come from `../shared/corpus/papers.jsonl.gz` (138,083 papers;
JSONL with id, title, abstract, authors, published, source), read directly with gzip+json.
For `--papers` above that, synthetic papers are added, built only from the corpus's own
material so that word frequencies stay realistic and the extra papers are hard
distractors rather than noise:

- title: the first part of one real title (cut at a random word) joined to the last part
  of another, with one word replaced by a word drawn from the title-word distribution;
- abstract: 4 to 7 sentences taken at random from all real abstracts;
- authors: 1 to 6 names drawn from the real author list; date: a real paper's date.

**Queries.** Generated from real papers only (the ground truth is the source paper), in
equal shares of five kinds, interleaved:

- ``typo``: a window of 4-8 title words (the whole title if shorter) with 1-2 edits
  (insert, delete, substitute, transpose) in 1-2 words of at least 5 letters;
- ``partial``: the title with 1-2 words dropped and the last kept word cut to 55-80%;
- ``acronym``: a known expansion in the title replaced by its acronym (e.g. "large
  language models" -> "LLMs"), or for titles like "NAME: rest of title", NAME plus two
  words of the rest;
- ``reorder``: a window of 4-8 title words, shuffled;
- ``abstract``: the 4-6 consecutive abstract words (none of them in the title) with the
  highest summed IDF among 12 random windows.

**Metrics.** p50/p95 latency of one `search(limit=10)` call, MRR@10 and recall@10 against
the source paper.  The brute-force rapidfuzz baseline takes about 1 s per query at 1M
papers, so the baselines run on the first `--baseline-queries` queries (by default all
of them up to 200k papers, and 150 above; the query list is interleaved by kind, so the
subset keeps the same mix).  papers-bot always runs on all queries.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import math
import multiprocessing as mp
import random
import re
import sqlite3
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rapidfuzz import fuzz, process  # noqa: E402

from bot.models import Paper  # noqa: E402
from bot.search.engine import PaperIndex  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "papers.jsonl.gz"
ENGINES = ("papers-bot", "rapidfuzz-token-set", "sqlite-fts5")
KINDS = ("typo", "partial", "acronym", "reorder", "abstract")
_WORD = re.compile(r"[A-Za-z0-9]+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
ACRONYMS: dict[str, str] = {
    "large language models": "LLMs",
    "large language model": "LLM",
    "reinforcement learning": "RL",
    "natural language processing": "NLP",
    "generative adversarial networks": "GANs",
    "generative adversarial network": "GAN",
    "convolutional neural networks": "CNNs",
    "convolutional neural network": "CNN",
    "recurrent neural networks": "RNNs",
    "graph neural networks": "GNNs",
    "graph neural network": "GNN",
    "retrieval-augmented generation": "RAG",
    "retrieval augmented generation": "RAG",
    "vision transformer": "ViT",
    "variational autoencoder": "VAE",
    "automatic speech recognition": "ASR",
    "speech recognition": "ASR",
    "text-to-speech": "TTS",
    "question answering": "QA",
    "machine translation": "MT",
    "named entity recognition": "NER",
    "neural machine translation": "NMT",
    "long short-term memory": "LSTM",
    "vision-language models": "VLMs",
    "vision-language model": "VLM",
    "multi-agent reinforcement learning": "MARL",
    "neural radiance fields": "NeRF",
    "knowledge graph": "KG",
    "chain-of-thought": "CoT",
    "in-context learning": "ICL",
    "federated learning": "FL",
}


@dataclass(frozen=True, slots=True)
class Row:
    key: int
    title: str
    abstract: str
    authors: tuple[str, ...]
    published: str | None


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    kind: str
    target: int


# ----------------------------------------------------------------------------- corpus
def load_corpus(path: Path, limit: int) -> list[Row]:
    rows: list[Row] = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if len(rows) >= limit:
                break
            item = json.loads(line)
            rows.append(
                Row(
                    key=len(rows) + 1,
                    title=str(item["title"]),
                    abstract=str(item.get("abstract") or ""),
                    authors=tuple(item.get("authors") or ()),
                    published=item.get("published"),
                )
            )
    return rows


def extend_corpus(rows: list[Row], total: int, rng: random.Random) -> list[Row]:
    """Add synthetic papers built from the real ones until there are `total` (docstring)."""
    real = len(rows)
    if total <= real:
        return rows
    sentences = [s for r in rows for s in _SENTENCE.split(r.abstract) if len(s) > 20]
    title_words = [w for r in rows for w in r.title.split()]
    authors = [a for r in rows for a in r.authors] or ["Anonymous"]
    split_titles = [r.title.split() for r in rows]
    dates = [r.published for r in rows]
    out = list(rows)
    for key in range(real + 1, total + 1):
        a = split_titles[rng.randrange(real)]
        b = split_titles[rng.randrange(real)]
        words = a[: rng.randint(1, max(1, len(a) - 1))] + b[rng.randint(1, max(1, len(b))) :]
        if len(words) < 3:
            words = a + b[-2:]
        words[rng.randrange(len(words))] = rng.choice(title_words)
        out.append(
            Row(
                key=key,
                title=" ".join(words),
                abstract=" ".join(rng.choice(sentences) for _ in range(rng.randint(4, 7))),
                authors=tuple(rng.choice(authors) for _ in range(rng.randint(1, 6))),
                published=dates[rng.randrange(real)],
            )
        )
    return out


# ----------------------------------------------------------------------------- queries
def _typo(word: str, rng: random.Random) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    i = rng.randrange(len(word))
    op = rng.choice(("insert", "delete", "substitute", "transpose"))
    if op == "insert":
        return word[:i] + rng.choice(letters) + word[i:]
    if op == "delete":
        return word[:i] + word[i + 1 :]
    if op == "transpose" and i < len(word) - 1:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + rng.choice(letters.replace(word[i].lower(), "")) + word[i + 1 :]


def _window(words: list[str], rng: random.Random, lo: int = 3, hi: int = 6) -> list[str]:
    size = min(len(words), rng.randint(lo, hi))
    start = rng.randrange(len(words) - size + 1)
    return words[start : start + size]


def make_query(row: Row, kind: str, rng: random.Random, idf: Callable[[str], float]) -> str | None:
    words = _WORD.findall(row.title)
    if len(words) < 3:
        return None
    if kind == "typo":
        window = _window(words, rng, 4, 8)
        long_ones = [i for i, w in enumerate(window) if len(w) >= 5]
        if not long_ones:
            return None
        for i in rng.sample(long_ones, min(len(long_ones), rng.randint(1, 2))):
            for _ in range(rng.randint(1, 2) if len(window[i]) >= 9 else 1):
                window[i] = _typo(window[i], rng)
        return " ".join(window)
    if kind == "partial":
        if len(words) < 4:
            return None
        kept = list(words)
        for _ in range(rng.randint(1, 2)):
            if len(kept) > 3:
                kept.pop(rng.randrange(len(kept)))
        last = kept[-1]
        if len(last) >= 5:
            kept[-1] = last[: max(3, round(len(last) * rng.uniform(0.55, 0.8)))]
        return " ".join(kept)
    if kind == "acronym":
        lowered = row.title.lower()
        for expansion, acronym in ACRONYMS.items():
            at = lowered.find(expansion)
            if at >= 0:
                text = row.title[:at] + acronym + row.title[at + len(expansion) :]
                return " ".join(_WORD.findall(text))
        if ":" in row.title:
            name, rest = row.title.split(":", 1)
            rest_words = [w for w in _WORD.findall(rest) if len(w) > 3]
            if 1 <= len(name.split()) <= 2 and len(name) <= 15 and len(rest_words) >= 2:
                return " ".join([name.strip(), *rng.sample(rest_words, 2)])
        return None
    if kind == "reorder":
        window = _window(words, rng, 4, 8)
        shuffled = window[:]
        while len(set(window)) > 1 and shuffled == window:
            rng.shuffle(shuffled)
        return " ".join(shuffled)
    if kind == "abstract":
        title_words = {w.lower() for w in words}
        abstract = _WORD.findall(row.abstract)
        if len(abstract) < 12:
            return None
        best: tuple[float, list[str]] | None = None
        for _ in range(12):
            window = _window(abstract, rng, 4, 6)
            if any(w.lower() in title_words for w in window):
                continue
            score = sum(idf(w.lower()) for w in window)
            if best is None or score > best[0]:
                best = (score, window)
        return " ".join(best[1]) if best else None
    raise ValueError(kind)


def make_queries(rows: list[Row], count: int, seed: int) -> list[Query]:
    """`count` queries, kinds interleaved, each from a distinct random real paper."""
    rng = random.Random(seed)
    df: Counter[str] = Counter()
    for row in rows:
        df.update({w.lower() for w in _WORD.findall(row.abstract)})
    n = max(1, len(rows))

    def idf(word: str) -> float:
        return math.log(n / (1 + df.get(word, 0)))

    order = list(range(len(rows)))
    rng.shuffle(order)
    queries: list[Query] = []
    position = 0
    while len(queries) < count and position < len(order):
        kind = KINDS[len(queries) % len(KINDS)]
        # Try papers until one fits this kind (acronyms fit only some titles).
        while position < len(order):
            row = rows[order[position]]
            position += 1
            text = make_query(row, kind, rng, idf)
            if text:
                queries.append(Query(text=text, kind=kind, target=row.key))
                break
    return queries


# ----------------------------------------------------------------------------- engines
def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def _paper(row: Row) -> Paper:
    return Paper(
        key=row.key,
        title=row.title,
        abstract=row.abstract,
        authors=row.authors,
        published=date.fromisoformat(row.published) if row.published else None,
    )


def build_papers_bot(rows: Sequence[Row]) -> Callable[[str], list[int]]:
    index = PaperIndex.build(_paper(r) for r in rows)

    def search(query: str) -> list[int]:
        return [card.paper.key for card in index.search(query, limit=10).cards]

    return search


def build_rapidfuzz(rows: Sequence[Row]) -> Callable[[str], list[int]]:
    titles = [r.title.lower() for r in rows]
    keys = [r.key for r in rows]

    def search(query: str) -> list[int]:
        hits = process.extract(query.lower(), titles, scorer=fuzz.token_set_ratio, limit=10)
        return [keys[i] for _, _, i in hits]

    return search


def build_fts5(rows: Sequence[Row]) -> Callable[[str], list[int]]:
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.execute(
        "CREATE VIRTUAL TABLE papers USING fts5(title, abstract, tokenize='porter unicode61')"
    )
    db.executemany(
        "INSERT INTO papers(rowid, title, abstract) VALUES (?, ?, ?)",
        ((r.key, r.title, r.abstract) for r in rows),
    )
    db.commit()

    def search(query: str) -> list[int]:
        terms = [w for w in _WORD.findall(query.lower())]
        if not terms:
            return []
        match = " OR ".join(f'"{t}"' for t in terms)
        cursor = db.execute(
            "SELECT rowid FROM papers WHERE papers MATCH ? ORDER BY bm25(papers) LIMIT 10",
            (match,),
        )
        return [int(r[0]) for r in cursor]

    return search


BUILDERS: dict[str, Callable[[Sequence[Row]], Callable[[str], list[int]]]] = {
    "papers-bot": build_papers_bot,
    "rapidfuzz-token-set": build_rapidfuzz,
    "sqlite-fts5": build_fts5,
}


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def measure(name: str, rows: Sequence[Row], queries: Sequence[Query]) -> dict[str, Any]:
    gc.collect()
    before = rss_mb()
    started = time.perf_counter()
    search = BUILDERS[name](rows)
    build_s = time.perf_counter() - started
    gc.collect()
    memory = rss_mb() - before
    latencies: list[float] = []
    reciprocal: list[float] = []
    per_kind: dict[str, list[float]] = {}
    for query in queries[:3]:
        search(query.text)  # warm-up
    for query in queries:
        t0 = time.perf_counter()
        keys = search(query.text)
        latencies.append((time.perf_counter() - t0) * 1000.0)
        rr = 1.0 / (keys.index(query.target) + 1) if query.target in keys[:10] else 0.0
        reciprocal.append(rr)
        per_kind.setdefault(query.kind, []).append(rr)
    return {
        "p50_ms": round(statistics.median(latencies), 3) if latencies else 0.0,
        "p95_ms": round(percentile(latencies, 0.95), 3),
        "mrr_at_10": round(statistics.fmean(reciprocal), 4) if reciprocal else 0.0,
        "recall_at_10": round(sum(r > 0 for r in reciprocal) / max(1, len(reciprocal)), 4),
        "build_s": round(build_s, 2),
        "rss_mb": round(memory, 1),
        "_queries": len(queries),
        "_mrr_by_kind": {k: round(statistics.fmean(v), 4) for k, v in per_kind.items()},
    }


def _child(name: str, rows: Sequence[Row], queries: Sequence[Query], conn: Any) -> None:
    conn.send(measure(name, rows, queries))
    conn.close()


def run_isolated(name: str, rows: Sequence[Row], queries: Sequence[Query]) -> dict[str, Any]:
    """Measure one engine in a forked child that shares the corpus copy-on-write."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(name, rows, queries, child))
    proc.start()
    child.close()
    result: dict[str, Any] = parent.recv()
    proc.join()
    return result


# ----------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=138_083)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--baseline-queries", type=int, default=None)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--details", action="store_true", help="per-kind MRR in the JSON")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    rows = load_corpus(args.corpus, args.papers)
    real = len(rows)
    queries = make_queries(rows, args.queries, args.seed)
    rows = extend_corpus(rows, args.papers, random.Random(args.seed + 1))
    print(
        f"corpus: {len(rows)} papers ({real} real), {len(queries)} queries "
        f"in {time.perf_counter() - t0:.1f}s",
        file=sys.stderr,
    )
    baseline_n = args.baseline_queries
    if baseline_n is None:
        baseline_n = len(queries) if len(rows) <= 200_000 else 150
    results: dict[str, dict[str, Any]] = {}
    for name in args.engines.split(","):
        subset = queries if name == "papers-bot" else queries[:baseline_n]
        results[name] = run_isolated(name, rows, subset)
        print(f"{name}: {results[name]}", file=sys.stderr)
    report: dict[str, Any] = {"papers": len(rows), "queries": len(queries), "engines": {}}
    for name, values in results.items():
        report["engines"][name] = {
            k: v for k, v in values.items() if args.details or not k.startswith("_")
        }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{len(rows):,} papers, {len(queries)} queries")
    header = f"{'engine':<22}{'queries':>8}{'p50 ms':>9}{'p95 ms':>9}{'MRR@10':>8}"
    print(header + f"{'R@10':>7}{'build s':>9}{'RSS MB':>8}")
    for name, v in results.items():
        print(
            f"{name:<22}{v['_queries']:>8}{v['p50_ms']:>9.2f}{v['p95_ms']:>9.2f}"
            f"{v['mrr_at_10']:>8.3f}{v['recall_at_10']:>7.3f}{v['build_s']:>9.1f}"
            f"{v['rss_mb']:>8.0f}"
        )
    for name, v in results.items():
        kinds = ", ".join(f"{k} {m:.3f}" for k, m in v["_mrr_by_kind"].items())
        print(f"  {name} MRR@10 by kind: {kinds}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
