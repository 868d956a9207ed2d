"""What finding the papers to embed costs in a large database: before and after the mark.

On a copy of a database (never the original): every paper gets a stored vector (random,
float16, 384 d, with the fingerprint of its text, as a completed `papers-bot embed`
leaves it) and the model's mark; then a "daily ingest" of `--new` papers arrives. Timed,
`--repeat` times each, in the same run:
- old: the scan before the mark (every fingerprint, then every paper through `iter_all`);
- first: `pending` with no mark (a first run reads every paper's text, in SQL);
- marked: `pending` after the mark (reads the papers written since).
Each must find exactly the new papers.

    nice -n 10 .venv/bin/python bench/embed_pending.py --database /tmp/lead-1m.db
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.models import PaperRecord
from bot.search.embedder import fingerprint, text_of
from bot.search.embedding import paper_text
from storage.db import Database
from storage.vectors import to_bytes

MODEL = "bench@1"


def old_pending(db: Database, model: str) -> tuple[list[int], int]:
    """`embed_pending`'s scan before the mark, verbatim."""
    with db.uow() as u:
        known = u.vectors.fingerprints(model)
        todo: list[int] = []
        fresh = 0
        for paper in u.papers.iter_all():
            if known.get(paper.key) == fingerprint(text_of(paper)):
                fresh += 1
            else:
                todo.append(paper.key)
    return todo, fresh


def pending(db: Database, model: str) -> tuple[list[int], int]:
    """The listing since the model's mark, all at once: what `embed_pending` did before its
    reader thread read the same texts a batch at a time (`bot.search.embedder._Reader`)."""
    with db.uow() as u:
        _last, keys = u.vectors.written_since_mark(model)
        todo: list[int] = []
        fresh = 0
        for key, title, abstract, known in u.vectors.texts(model, keys):
            if known == fingerprint(paper_text(title, abstract)):
                fresh += 1
            else:
                todo.append(key)
    return todo, fresh


Chunk = Callable[[list[int], NDArray[np.float32]], None]


def fill_vectors(
    path: Path, model: str = MODEL, *, dimensions: int = 384, on_chunk: Chunk | None = None
) -> int:
    """A random unit vector for every paper, stored under `model` with the fingerprint of
    the paper's text, written with sqlite3 directly (the setup is not timed).

    `on_chunk(keys, vectors)` sees each chunk before it is stored (it may change vectors in
    place): bench/semantic_scale.py builds its vector graph from the same vectors."""
    rng = np.random.default_rng(0)
    con = sqlite3.connect(path)
    rows = con.execute("SELECT key, title, abstract FROM papers").fetchall()
    for start in range(0, len(rows), 50_000):
        chunk = rows[start : start + 50_000]
        vectors = rng.standard_normal((len(chunk), dimensions)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        if on_chunk is not None:
            on_chunk([key for key, _, _ in chunk], vectors)
        con.executemany(
            "INSERT INTO paper_vectors (paper_key, model, fingerprint, vector) VALUES (?,?,?,?)",
            [
                (key, model, fingerprint(paper_text(title, abstract)), to_bytes(v))
                for (key, title, abstract), v in zip(chunk, vectors, strict=True)
            ],
        )
    con.commit()
    con.close()
    return len(rows)


def timed(label: str, run: object, repeat: int) -> list[int]:
    times, found = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        found = run()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    print(f"{label:8} {min(times):8.3f} s (runs: {', '.join(f'{t:.3f}' for t in times)})")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", type=Path, required=True)
    parser.add_argument("--new", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    copy = args.work / "embed-pending-bench.db"
    # A WAL left by an earlier run would be replayed into this copy: remove it first.
    leftovers = [copy.with_name(copy.name + end) for end in ("-wal", "-shm", ".migrate-lock")]
    for path in leftovers:
        path.unlink(missing_ok=True)
    shutil.copyfile(args.database, copy)
    try:
        db = Database(f"sqlite:///{copy}")
        db.upgrade()
        started = time.perf_counter()
        papers = fill_vectors(copy)
        print(f"setup: {papers:,} papers given vectors in {time.perf_counter() - started:.0f} s")
        with db.uow() as u:
            last, _ = u.vectors.written_since_mark(MODEL)
            u.vectors.set_mark(MODEL, last)
        with db.uow() as u:
            u.papers.upsert_many(
                [
                    PaperRecord(title=f"Bench paper {i}", abstract="New.", source="hf-page")
                    for i in range(args.new)
                ],
                seen_at=datetime.now(UTC),
            )
        old = timed("old", lambda: old_pending(db, MODEL)[0], args.repeat)
        marked = timed("marked", lambda: pending(db, MODEL)[0], args.repeat)
        with sqlite3.connect(copy) as con:
            con.execute("DELETE FROM vector_marks")
        first = timed("first", lambda: pending(db, MODEL)[0], args.repeat)
        assert len(old) == len(marked) == len(first) == args.new, (len(old), len(marked))
        assert set(old) == set(marked) == set(first)
        print(f"each found the {args.new} new papers")
        db.dispose()
    finally:
        for path in (copy, *leftovers):
            path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
