"""Search by meaning at scale (issue 12): the served process with vectors for every paper,
beside the same process with vectors absent, in fresh processes, from the same run.

Works on a SQLite database and its index directory (`papers-bot.db` -> `papers-bot.index/`)
IN PLACE: give it copies, never the originals.

`prepare` (once per database): every paper gets a stored vector under the real model key
(`default_model_key()`) with the fingerprint of its text, as `papers-bot embed` leaves
them, but **random unit vectors** (`bench/embed_pending.py`'s `fill_vectors`): fine for
cost and memory, meaningless for quality. `graph` (run by `prepare`; again with another
`--expansion-add`) builds a usearch graph of the stored vectors into the current
generation's `vectors/` directory (`bench-main-N.usearch`, as `index rebuild` would; a
lower `--expansion-add` than usearch's 128 makes a 1M build affordable here, at the cost
of the graph's recall, which it reports), beside the generation's own empty vector part.
One paper (the "planted" one) gets instead the real encoder's vector of a nonsense 12-word
description that matches no paper lexically, and sits in the delta layer as a paper
embedded after the rebuild would: only the dense side can find it, which proves a served
search really used the vectors.

`measure` then alternates two states of the same generation by rewriting `vectors.json`
(nothing else changes, so tantivy and the page cache are shared):
- lexical: the vector part as an ingest without embedding builds it (no vectors);
- hybrid: the part describes the graph of every paper's vector.
For each state, each round, each figure a fresh process (the load average beside it):
- cold `papers-bot search` (wall and CPU): a title query, a real description (hybrid:
  query embedding, i.e. onnxruntime start-up, included) and the planted query (--json,
  checked: found only in the hybrid state);
- `serve slack` until /readyz 200, the first search through the Slack stack (a real
  description, so the hybrid's first one builds the encoder), then `--warm` searches
  (descriptions and titles from bench/queries, alternating), p50 / p95 per kind, the planted
  query last (checked), and the serve process's peak RSS (VmHWM) before it stops;
- the engine alone, as a CLI search opens it, in a fresh process: warm `search(limit=10)`
  over every description and title query, p50 / p95 per kind (query embedding included).

    nice -n 10 .venv/bin/python bench/semantic_scale.py prepare --database /tmp/ss/m138.db
    nice -n 10 .venv/bin/python bench/semantic_scale.py measure --database /tmp/ss/m138.db \\
        --rounds 2 --json bench/results/semantic-scale-138k.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from embed_pending import fill_vectors  # noqa: E402
from startup import Tree, process_memory, serve_figures, timed  # noqa: E402

from bot.search.encoder_id import DIMENSIONS, default_model_key  # noqa: E402
from runtime.index import index_home  # noqa: E402
from runtime.settings import load_settings  # noqa: E402
from storage.vectors import from_bytes  # noqa: E402

QUERIES = REPO / "bench" / "queries"
TITLE_QUERY = "diffusion models"
# Twelve short nonsense words: no typo expansion (< 5 letters), no paper holds them, and
# still a description (>= 11 content words), so it goes to the dense side.
PLANTED = "qzv wxq jjk vbz kqx zzr xvq pqj wvz qqk zjx vvk"
HYBRID, LEXICAL = "bench-hybrid.json", "bench-lexical.json"
META = "bench-semantic-scale.json"
TARGETS = {
    "138k": {"search": 1.0, "readyz": 3.0, "first": 0.1, "slack_p95": 0.1, "engine_p95": 0.025},
    "1m": {"search": 1.5, "readyz": 5.0, "first": 0.15, "engine_p95": 0.04, "rss_mb": 2048.0},
}


def queries(kind: str) -> list[str]:
    path = QUERIES / f"{kind}.jsonl"
    return [json.loads(line)["query"] for line in path.read_text(encoding="utf-8").splitlines()]


def vectors_dir(database: Path) -> Path:
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    home = index_home(load_settings())
    generation = home.current()
    if generation is None:
        raise SystemExit(f"no index beside {database}: run `papers-bot index rebuild` first")
    return generation / "vectors"


# -- prepare ------------------------------------------------------------------------------


def prepare(database: Path, expansion_add: int | None) -> None:
    """Random vectors for every paper (the planted one's real), then the graph."""
    from runtime.dense import query_encoder

    model = default_model_key()
    directory = vectors_dir(database)
    with sqlite3.connect(database) as con:
        if con.execute("SELECT 1 FROM paper_vectors WHERE model = ?", (model,)).fetchone():
            raise SystemExit(f"{database} already holds vectors of {model}: prepared already?")
        planted, title, paper_id = con.execute(
            "SELECT key, title, paper_id FROM papers WHERE paper_id IS NOT NULL "
            "ORDER BY key LIMIT 1 OFFSET (SELECT COUNT(*) / 2 FROM papers)"
        ).fetchone()
    lexical = json.loads((directory / "vectors.json").read_text(encoding="utf-8"))
    if lexical.get("count"):
        raise SystemExit(f"{directory} already holds vectors: build it without embedding")
    (directory / LEXICAL).write_text(json.dumps(lexical) + "\n", encoding="utf-8")
    query_vector = query_encoder().encode([PLANTED])[0]

    def plant(keys: list[int], vectors: NDArray[np.float32]) -> None:
        if planted in keys:
            vectors[keys.index(planted)] = query_vector

    started = time.perf_counter()
    count = fill_vectors(database, model, dimensions=DIMENSIONS, on_chunk=plant)
    meta = {
        "papers": count,
        "model": model,
        "vectors": "random unit vectors (cost and memory only); the planted paper's is real",
        "planted": {"key": planted, "id": paper_id, "title": title, "query": PLANTED},
        "store_s": round(time.perf_counter() - started, 1),
    }
    (directory / META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    build_graph(database, expansion_add)


def stored(database: Path, model: str) -> Iterator[tuple[int, NDArray[np.float32]]]:
    with sqlite3.connect(database) as con:
        rows = con.execute(
            "SELECT paper_key, vector FROM paper_vectors WHERE model = ? ORDER BY paper_key",
            (model,),
        )
        for key, raw in rows:
            yield int(key), from_bytes(raw)


def build_graph(database: Path, expansion_add: int | None) -> None:
    """The main graph of every stored vector, as `index rebuild` builds it (with
    `expansion_add`, when given, to make 1M affordable here), and the planted paper in the
    delta, as a catch-up leaves a paper embedded after the rebuild: it is found whatever
    the main graph's recall on random vectors. Also measured: the main graph's recall of
    200 stored vectors (is each its own nearest?), a check on the build, not on quality."""
    from bot.search.vector_delta import LayeredIndex
    from bot.search.vectors import VectorIndex

    directory = vectors_dir(database)
    meta = json.loads((directory / META).read_text(encoding="utf-8"))
    model, planted = meta["model"], int(meta["planted"]["key"])
    name = f"bench-main-{expansion_add or 'default'}.usearch"
    if (directory / name).is_file():  # built by an earlier run: reused (delete it to rebuild)
        graph = VectorIndex.open_graph(directory / name, model=model, dimensions=DIMENSIONS)
        built, building_load = float(meta.get("graph_build_s", "nan")), meta.get("build_load")
    else:
        graph = VectorIndex.empty(model=model, dimensions=DIMENSIONS, expansion_add=expansion_add)
        started = time.perf_counter()
        graph.extend(stored(database, model))
        built, building_load = time.perf_counter() - started, load()
        graph.save_graph(directory / name)
    sample = [pair for i, pair in enumerate(stored(database, model)) if i % 997 == 0][:200]
    recall = sum(graph.search(vector, 1)[0][0] == key for key, vector in sample) / len(sample)
    hybrid = {"model": model, "dimensions": DIMENSIONS, "count": len(graph)}
    hybrid |= {"main_count": len(graph), "main": name, "delta": None, "hidden": []}
    (directory / "vectors.json").write_text(json.dumps(hybrid) + "\n", encoding="utf-8")
    layered = LayeredIndex.open(directory)
    vector = stored_one(database, model, planted)
    layered.apply({}, [planted])  # hidden in the main graph ...
    layered.apply({planted: vector}, [])  # ... and in the delta, as after a catch-up
    shutil.copyfile(directory / "vectors.json", directory / HYBRID)
    meta |= {
        "graph": name,
        "expansion_add": expansion_add or "usearch default (128)",
        "graph_build_s": round(built, 1),
        "graph_mb": round((directory / name).stat().st_size / 1e6),
        "graph_self_recall_at_1": recall,
        "build_load": building_load,
    }
    (directory / META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(meta, indent=2))


def stored_one(database: Path, model: str, key: int) -> NDArray[np.float32]:
    with sqlite3.connect(database) as con:
        raw = con.execute(
            "SELECT vector FROM paper_vectors WHERE model = ? AND paper_key = ?", (model, key)
        ).fetchone()[0]
    return from_bytes(raw)


# -- measure ------------------------------------------------------------------------------


def use_state(directory: Path, state: str) -> None:
    source = directory / (HYBRID if state == "hybrid" else LEXICAL)
    tmp = directory / "vectors.json.tmp"
    tmp.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    os.replace(tmp, directory / "vectors.json")


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return {"p50_ms": statistics.median(ordered) * 1000, "p95_ms": p95 * 1000, "n": len(ordered)}


def cold_searches(tree: Tree, repeat: int, planted: dict[str, Any]) -> dict[str, Any]:
    """Cold `papers-bot search` processes; the planted one's answer is checked."""
    description = queries("descriptions")[0]
    out: dict[str, Any] = {"load": load()}
    for name, query in (("title", TITLE_QUERY), ("description", description)):
        runs = [timed(tree, "search", query, "--limit", "5") for _ in range(repeat)]
        out[name] = {"wall_s": [w for w, _ in runs], "cpu_s": [c for _, c in runs]}
    found = subprocess.run(
        tree.command("search", PLANTED, "--json", "--limit", "5"),
        env=tree.env,
        cwd=tree.source,
        capture_output=True,
        text=True,
        check=True,
    )
    out["planted_found"] = planted["id"] in [item["id"] for item in json.loads(found.stdout)]
    return out


def serve(tree: Tree, warm: int, planted: dict[str, Any]) -> dict[str, Any]:
    descriptions, titles = queries("descriptions"), queries("titles")
    sent = [descriptions[1]]
    kinds = ["first"]
    for i in range(warm):
        pool, kind = (descriptions, "description") if i % 2 == 0 else (titles, "title")
        sent.append(pool[(i // 2 + 2) % len(pool)])
        kinds.append(kind)
    sent.append(PLANTED)
    kinds.append("planted")
    before = load()
    figures = asyncio.run(serve_figures(tree, warm, queries=sent))
    searches, answers = figures["searches"], figures["answers"]
    by_kind = {
        kind: percentiles([s for s, k in zip(searches, kinds, strict=True) if k == kind])
        for kind in ("description", "title")
    }
    by_kind["all"] = percentiles(searches[1:-1])
    warm_cpu = figures["search_cpu"][1:-1]
    return {
        "load": before,
        "load_after": load(),
        "readyz_s": figures["readyz"],
        "readyz_cpu_s": figures["readyz_cpu"],
        "first_search_s": figures["first_search"],
        "first_search_cpu_s": figures["search_cpu"][0],
        "warm_cpu_mean_ms": 1000 * sum(warm_cpu) / len(warm_cpu),
        "warm": by_kind,
        "memory_mb": figures["process_memory"],
        "planted_found": planted["id"] in answers[-1] or planted["title"][:50] in answers[-1],
        "planted_answer": answers[-1][:600],
    }


def engine_child(database: Path) -> None:
    """A fresh process: the index opened as a CLI search opens it, then warm searches."""
    from runtime.index import current_sqlite_index

    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    index = current_sqlite_index(load_settings())
    if index is None:
        raise SystemExit("the index is behind the database: not the fast path")
    started = time.perf_counter()
    index.search(PLANTED, limit=10)  # builds the encoder when there are vectors
    first = time.perf_counter() - started
    out: dict[str, Any] = {"first_s": first, "dense": index.dense is not None}
    for kind in ("descriptions", "titles"):
        times, cpu = [], []
        for query in queries(kind):
            began, began_cpu = time.perf_counter(), time.process_time()
            index.search(query, limit=10)
            times.append(time.perf_counter() - began)
            cpu.append(time.process_time() - began_cpu)
        # CPU time too: wall time on this shared machine follows the load.
        cpu_ms = {f"cpu_{k}": v for k, v in percentiles(cpu).items() if k != "n"}
        out[kind] = percentiles(times) | cpu_ms
    out["memory_mb"] = process_memory(os.getpid())
    print(json.dumps(out))


def engine(tree: Tree, database: Path) -> dict[str, Any]:
    before = load()
    done = subprocess.run(
        [sys.executable, __file__, "engine-child", "--database", str(database)],
        env=tree.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return {"load": before, **json.loads(done.stdout.strip().splitlines()[-1])}


def measure(database: Path, rounds: int, repeat: int, warm: int) -> dict[str, Any]:
    directory = vectors_dir(database)
    meta = json.loads((directory / META).read_text(encoding="utf-8"))
    tree = Tree(database.stem, REPO, database.parent)
    assert tree.db == database, (tree.db, database)
    results: dict[str, Any] = {"meta": meta, "rounds": []}
    try:
        for round_ in range(rounds):
            order = ("lexical", "hybrid") if round_ % 2 == 0 else ("hybrid", "lexical")
            figures: dict[str, Any] = {}
            for state in order:
                use_state(directory, state)
                print(f"round {round_ + 1}, {state}: cold searches …", flush=True)
                cold = cold_searches(tree, repeat, meta["planted"])
                print(f"round {round_ + 1}, {state}: serve slack …", flush=True)
                served = serve(tree, warm, meta["planted"])
                print(f"round {round_ + 1}, {state}: engine …", flush=True)
                figures[state] = {"cold": cold, "serve": served, "engine": engine(tree, database)}
                print(summary(state, figures[state]), flush=True)
            results["rounds"].append(figures)
    finally:
        use_state(directory, "hybrid")
    return results


def summary(state: str, f: dict[str, Any]) -> str:
    cold, served, eng = f["cold"], f["serve"], f["engine"]
    return (
        f"  {state}: cold search title {statistics.median(cold['title']['wall_s']):.2f} s, "
        f"description {statistics.median(cold['description']['wall_s']):.2f} s "
        f"(load {cold['load'][0]}); readyz {served['readyz_s']:.2f} s, first "
        f"{served['first_search_s'] * 1000:.0f} ms "
        f"(CPU {served['first_search_cpu_s'] * 1000:.0f}), "
        f"slack warm p95 description "
        f"{served['warm']['description']['p95_ms']:.0f} ms, title "
        f"{served['warm']['title']['p95_ms']:.0f} ms (CPU mean {served['warm_cpu_mean_ms']:.0f}), "
        "serve peak RSS "
        f"{served['memory_mb']['peak_rss_mb']:.0f} MB (load {served['load'][0]}); engine p95 "
        f"description {eng['descriptions']['p95_ms']:.1f} ms, title "
        f"{eng['titles']['p95_ms']:.1f} ms, CPU p95 {eng['descriptions']['cpu_p95_ms']:.1f} / "
        f"{eng['titles']['cpu_p95_ms']:.1f} ms (load {eng['load'][0]}); planted found: cli "
        f"{cold['planted_found']}, slack {served['planted_found']}"
    )


ROWS: list[tuple[str, str, Any]] = [
    (
        "cold `papers-bot search`, title query, s",
        "search",
        lambda f: f"{statistics.median(f['cold']['title']['wall_s']):.2f}",
    ),
    (
        "cold `papers-bot search`, description, s (CPU s)",
        "search",
        lambda f: (
            f"{statistics.median(f['cold']['description']['wall_s']):.2f} "
            f"({statistics.median(f['cold']['description']['cpu_s']):.2f})"
        ),
    ),
    (
        "`serve slack` until /readyz 200, s (CPU s)",
        "readyz",
        lambda f: f"{f['serve']['readyz_s']:.2f} ({f['serve']['readyz_cpu_s']:.2f})",
    ),
    (
        "first search through Slack (a description), ms (serve CPU ms)",
        "first",
        lambda f: (
            f"{f['serve']['first_search_s'] * 1000:.0f} "
            f"({f['serve']['first_search_cpu_s'] * 1000:.0f})"
        ),
    ),
    (
        "warm through Slack, descriptions p50 / p95 ms",
        "slack_p95",
        lambda f: "{p50_ms:.0f} / {p95_ms:.0f}".format(**f["serve"]["warm"]["description"]),
    ),
    (
        "warm through Slack, titles p50 / p95 ms",
        "slack_p95",
        lambda f: "{p50_ms:.0f} / {p95_ms:.0f}".format(**f["serve"]["warm"]["title"]),
    ),
    (
        "serve CPU per warm Slack search, mean ms",
        None,
        lambda f: f"{f['serve']['warm_cpu_mean_ms']:.0f}",
    ),
    (
        "serve peak RSS (VmHWM), MB (anon + file at the end)",
        "rss_mb",
        lambda f: "{peak_rss_mb:.0f} ({anon_mb:.0f} + {file_mb:.0f})".format(
            **f["serve"]["memory_mb"]
        ),
    ),
    (
        "engine warm, descriptions p50 / p95 ms (CPU p95)",
        "engine_p95",
        lambda f: "{p50_ms:.1f} / {p95_ms:.1f} ({cpu_p95_ms:.1f})".format(
            **f["engine"]["descriptions"]
        ),
    ),
    (
        "engine warm, titles p50 / p95 ms (CPU p95)",
        "engine_p95",
        lambda f: "{p50_ms:.1f} / {p95_ms:.1f} ({cpu_p95_ms:.1f})".format(**f["engine"]["titles"]),
    ),
    (
        "planted paper found (CLI, Slack)",
        None,
        lambda f: (
            f"{'yes' if f['cold']['planted_found'] else 'no'}, "
            f"{'yes' if f['serve']['planted_found'] else 'no'}"
        ),
    ),
    (
        "load average (1 min) at cold / serve / engine",
        None,
        lambda f: (
            f"{f['cold']['load'][0]:.1f} / {f['serve']['load'][0]:.1f} / "
            f"{f['engine']['load'][0]:.1f}"
        ),
    ),
]


def table(results: dict[str, Any]) -> str:
    """One row per figure; each cell lists the rounds, separated by `·`."""
    papers = int(results["meta"]["papers"])
    size = "1m" if papers >= 500_000 else "138k"
    lines = [
        f"| {papers:,} papers | target | vectors absent (lexical) | vectors (hybrid) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for label, target, cell in ROWS:
        goal = TARGETS[size].get(target) if target else None
        if goal is None:
            shown = ""
        elif target in ("first", "slack_p95", "engine_p95"):
            shown = f"≤ {goal * 1000:g} ms"
        elif target == "rss_mb":
            shown = f"≤ {goal / 1024:g} GB"
        else:
            shown = f"≤ {goal:g} s"
        states = [
            " · ".join(cell(r[state]) for r in results["rounds"]) for state in ("lexical", "hybrid")
        ]
        lines.append(f"| {label} | {shown} | {states[0]} | {states[1]} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("step", choices=["prepare", "graph", "measure", "engine-child"])
    parser.add_argument("--database", type=Path, required=True)
    parser.add_argument("--expansion-add", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="cold searches of each kind")
    parser.add_argument("--warm", type=int, default=60, help="warm Slack searches")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--table", action="store_true", help="print the table of --json")
    args = parser.parse_args()
    if args.table:
        print(table(json.loads(args.json.read_text(encoding="utf-8"))))
        return
    database = args.database.resolve()
    if args.step == "prepare":
        prepare(database, args.expansion_add)
    elif args.step == "graph":
        build_graph(database, args.expansion_add)
    elif args.step == "engine-child":
        engine_child(database)
    else:
        results = measure(database, args.rounds, args.repeat, args.warm)
        if args.json is not None:
            args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(table(results))


if __name__ == "__main__":
    main()
