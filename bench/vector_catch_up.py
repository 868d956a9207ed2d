"""The index update after `papers-bot embed`, this checkout beside a baseline, same run.

What `papers-bot embed` does after its encoder, without the encoder: the vectors of every
paper are written through the store's own `put_many` (in batches of 1,024, one transaction
each, as `embed_pending` commits them, so each side stamps its change numbers as it does),
then the index update that `papers-bot embed` runs (`runtime.cli.index_cmd.update_index`)
is timed. The vectors come from a fully embedded copy of the corpus (`--vectors`, a SQLite
database of the same papers, read-only): no re-embedding.

`prepare` ingests `--corpus` with `papers-bot ingest file --no-embed` into a fresh SQLite
database with the baseline's code (a `git archive` of `--baseline-ref`, main by default,
run with this virtualenv's packages through PYTHONPATH), index and all; this checkout's copy
is then migrated by this checkout's code (`db upgrade`). `measure` copies each side's
database and index afresh for every run, alternating which side goes first, `--repeat`
times, and prints per run: the seconds of the vector load, then of the index update (wall
and CPU of that process), tantivy's opstamp before and after (how many documents it wrote
again), and the vector part's count after.

    nice -n 10 .venv/bin/python bench/vector_catch_up.py prepare --work /tmp/vecapply \
        --corpus ../shared/corpus/papers.jsonl.gz
    nice -n 10 .venv/bin/python bench/vector_catch_up.py measure --work /tmp/vecapply \
        --vectors /tmp/vecapply/e138.db --repeat 3 --json bench/results/vector-catch-up-138k.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SIDES = ("baseline", "branch")
BATCH = 1024  # embed_pending's default batch: one transaction, one change number each


# -- in a child process, with the side's code first on sys.path -----------------------------


def _env(side_tree: Path | None, work: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{work / 'papers.db'}",
        "PAPERS_SEARCH_INDEX_DIR": str(work / "papers.index"),
    }
    if side_tree is not None:
        env["PYTHONPATH"] = str(side_tree)
    else:
        env.pop("PYTHONPATH", None)
    return env


def _child(side_tree: Path | None, work: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        env=_env(side_tree, work),
        cwd=side_tree or ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _vectors(source: Path, model: str) -> Iterator[tuple[str, str, bytes]]:
    """(paper_id or title, fingerprint, float16 bytes) of every stored vector."""
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as conn:
        yield from conn.execute(
            "SELECT COALESCE(p.paper_id, p.title), v.fingerprint, v.vector"
            " FROM paper_vectors v JOIN papers p ON p.key = v.paper_key WHERE v.model = ?",
            (model,),
        )


def child_load(source: Path, model: str) -> dict[str, Any]:
    """Write every vector of `source` through this side's `put_many`, by paper id."""
    import numpy as np

    import bot
    from bot.search.embedder import fingerprint, text_of
    from bot.search.vector_ports import PaperVector
    from runtime.core import open_database

    database = open_database()
    with database.uow() as uow:
        papers = {p.paper_id or p.title: p for p in uow.papers.iter_all()}
    rows: list[PaperVector] = []
    mismatched = 0
    for name, mark, raw in _vectors(source, model):
        paper = papers.get(name)
        if paper is None:
            continue
        mismatched += mark != fingerprint(text_of(paper))
        vector = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        rows.append(PaperVector(paper.key, mark, vector))
    started = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        with database.uow() as uow:
            uow.vectors.put_many(model, rows[start : start + BATCH])
    seconds = time.perf_counter() - started
    database.dispose()
    return {
        "code": str(Path(bot.__file__).parents[1]),
        "vectors": len(rows),
        "fingerprint_mismatches": mismatched,
        "load_s": seconds,
    }


def _opstamp(generation: Path) -> int:
    return int(json.loads((generation / "meta.json").read_text())["opstamp"])


def child_update() -> dict[str, Any]:
    """Time `update_index` as `papers-bot embed` runs it after embedding."""
    from bot.search.vector_part import described_vectors
    from runtime.cli.index_cmd import update_index
    from runtime.core import open_database
    from runtime.index import index_home
    from runtime.settings import load_settings

    database = open_database()
    home = index_home(load_settings())
    before = home.current()
    assert before is not None, "prepare built no index"
    with database.uow() as uow:
        behind = uow.papers.last_change() - home.read_state(before).change
    opstamp = _opstamp(before)
    wall, cpu = time.perf_counter(), time.process_time()
    note = update_index(database, home)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after = home.current()
    assert after is not None and note is None, note
    described = described_vectors(after)
    database.dispose()
    return {
        "behind": behind,
        "update_s": wall,
        "update_cpu_s": cpu,
        "opstamp_before": opstamp,
        "opstamp_after": _opstamp(after),
        "rebuilt": after != before,
        "vectors_in_index": described[1] if described else 0,
    }


# -- the driver --------------------------------------------------------------------------


def _baseline_tree(work: Path, ref: str) -> Path:
    tree = work / f"tree-{ref.replace('/', '_')}"
    if not tree.is_dir():
        archive = subprocess.run(
            ["git", "archive", ref], cwd=ROOT, capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(tree, filter="data")
    return tree


def _cli(side_tree: Path | None, work: Path, *args: str) -> None:
    code = (
        "import sys; from runtime.cli.main import main; "
        "sys.argv = ['papers-bot', *sys.argv[1:]]; main()"
    )
    subprocess.run(
        [sys.executable, "-c", code, *args],
        env=_env(side_tree, work),
        cwd=side_tree or ROOT,
        check=True,
    )


def prepare(work: Path, corpus: Path, ref: str) -> None:
    tree = _baseline_tree(work, ref)
    base, branch = work / "baseline", work / "branch"
    if not (base / "papers.db").is_file():
        base.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        _cli(tree, base, "ingest", "file", "--no-embed", str(corpus.resolve()))
        print(f"ingest --no-embed: {time.perf_counter() - started:.1f} s", flush=True)
    if not (branch / "papers.db").is_file():
        shutil.copytree(base, branch, dirs_exist_ok=True)
        _cli(None, branch, "db", "upgrade")


def _fresh(side: Path, run: Path) -> None:
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    shutil.copyfile(side / "papers.db", run / "papers.db")
    shutil.copytree(side / "papers.index", run / "papers.index")


def measure(work: Path, vectors: Path, model: str, ref: str, repeat: int) -> dict[str, Any]:
    tree = _baseline_tree(work, ref)
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    for i in range(repeat):
        for side in SIDES if i % 2 == 0 else tuple(reversed(SIDES)):
            code = tree if side == "baseline" else None
            run = work / "run"
            _fresh(work / side, run)
            load = os.getloadavg()[0]
            row = {"load": load, **_child(code, run, "child-load", str(vectors), model)}
            row.update(_child(code, run, "child-update"))
            runs[side].append(row)
            print(
                f"[load {load:4.1f}] {side:8} put_many {row['vectors']} vectors "
                f"{row['load_s']:6.1f} s | index update {row['update_s']:6.1f} s wall "
                f"{row['update_cpu_s']:6.1f} CPU-s, {row['behind']} changes behind, "
                f"tantivy opstamp +{row['opstamp_after'] - row['opstamp_before']}, "
                f"{row['vectors_in_index']} vectors in the index"
                f"{' (REBUILT)' if row['rebuilt'] else ''}",
                flush=True,
            )
    for side in SIDES:
        wall = statistics.median(r["update_s"] for r in runs[side])
        cpu = statistics.median(r["update_cpu_s"] for r in runs[side])
        load_s = statistics.median(r["load_s"] for r in runs[side])
        print(f"median {side:8}: index update {wall:.1f} s ({cpu:.1f} CPU-s), load {load_s:.1f} s")
    ratio = statistics.median(r["update_s"] for r in runs["baseline"]) / statistics.median(
        r["update_s"] for r in runs["branch"]
    )
    print(f"index update, baseline / branch: {ratio:.2f}x")
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--corpus", type=Path, default=ROOT.parent / "shared/corpus/papers.jsonl.gz")
    p.add_argument("--baseline-ref", default="main")
    m = sub.add_parser("measure")
    m.add_argument("--work", type=Path, required=True)
    m.add_argument("--vectors", type=Path, required=True, help="read only")
    m.add_argument("--model", default="all-MiniLM-L6-v2-int8@1.0.0+fa-qa8pc+tok128")
    m.add_argument("--baseline-ref", default="main")
    m.add_argument("--repeat", type=int, default=3)
    m.add_argument("--json", type=Path)
    c = sub.add_parser("child-load")
    c.add_argument("vectors", type=Path)
    c.add_argument("model")
    sub.add_parser("child-update")
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.work, args.corpus, args.baseline_ref)
    elif args.command == "measure":
        runs = measure(args.work, args.vectors, args.model, args.baseline_ref, args.repeat)
        if args.json:
            args.json.write_text(json.dumps(runs, indent=1) + "\n")
    elif args.command == "child-load":
        print(json.dumps(child_load(args.vectors, args.model)))
    else:
        print(json.dumps(child_update()))


if __name__ == "__main__":
    main()
