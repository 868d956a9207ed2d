"""Ingest benchmark: the 138k-paper corpus into a fresh SQLite file.

Usage::

    python bench/ingest.py                          # ../shared/corpus/papers.jsonl.gz
    python bench/ingest.py --corpus PATH --naive-sample 3000 --json

Figures from the same run, side by side:

- **papers-bot**: `bot.ingest.service.ingest_file`, the path `papers-bot ingest file` takes:
  format detection, streaming gzip + JSON Lines parsing, dedupe/merge against stored rows,
  bulk writes, one transaction. Wall and CPU time. Target: <= 15 s on the 2-core machine.
- **parse only**: the same parser with no database, to show the split.
- **floor**: a plain `executemany` INSERT of the same, already parsed rows straight into
  the same schema (no lookups, no dedupe); what writing alone costs.
- **naive**: the obvious ORM approach, one title lookup plus `session.merge` per paper,
  measured on `--naive-sample` papers and extrapolated linearly (the output says so).

The machine is shared, so the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.ingest.jsonl import iter_jsonl
from bot.ingest.service import ingest_file
from bot.models import PaperRecord
from bot.text import title_key
from storage.db import Database
from storage.tables import PaperRow

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent.parent / "shared/corpus/papers.jsonl.gz"
TARGET_SECONDS = 15.0
NOW = datetime(2025, 11, 7, 12, tzinfo=UTC)


@contextmanager
def fresh_database(directory: Path, name: str) -> Iterator[Database]:
    path = directory / f"{name}.db"
    database = Database(f"sqlite:///{path}")
    database.upgrade()
    try:
        yield database
    finally:
        database.dispose()


def timed(run: Callable[[], Any]) -> tuple[Any, float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    result = run()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def parse_all(corpus: Path) -> list[PaperRecord]:
    with gzip.open(corpus, "rb") as stream:
        return list(iter_jsonl(stream))


def floor_insert(database: Database, records: list[PaperRecord]) -> None:
    """Plain executemany of pre-built rows: no lookups, no merge, JSON for the lists."""
    seen = NOW.strftime("%Y-%m-%d %H:%M:%S.%f")
    rows = [
        (
            r.paper_id,
            title_key(r.title) if not r.title.isascii() else r.title.lower(),
            r.title,
            r.abstract,
            json.dumps(list(r.authors)),
            r.author_count,
            r.published.isoformat() if r.published else None,
            "{}",
            "[]",
            "[]",
            json.dumps([r.source]),
            seen,
            seen,
        )
        for r in records
    ]
    sql = (
        "INSERT INTO papers (paper_id, title_key, title, abstract, authors, author_count,"
        " published, urls, keywords, categories, sources, first_seen, updated)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    with database.engine.begin() as connection:
        connection.exec_driver_sql(sql, rows)


def naive_merge(database: Database, records: list[PaperRecord]) -> None:
    """One lookup by id, then by title, then `session.merge`, per paper (one transaction)."""
    with database.session() as session:
        for r in records:
            key = title_key(r.title)
            row = None
            if r.paper_id:
                row = session.scalars(
                    select(PaperRow).where(PaperRow.paper_id == r.paper_id)
                ).first()
            if row is None:
                row = session.scalars(select(PaperRow).where(PaperRow.title_key == key)).first()
            values = {
                "paper_id": r.paper_id,
                "title_key": key,
                "title": r.title,
                "abstract": r.abstract,
                "authors": list(r.authors),
                "author_count": r.author_count,
                "published": r.published,
                "urls": {},
                "keywords": [],
                "categories": [],
                "sources": [r.source],
                "first_seen": NOW,
                "updated": NOW,
            }
            if row is not None:
                values["key"] = row.key
            session.merge(PaperRow(**values))
            session.flush()


def count(database: Database) -> int:
    with database.uow() as uow:
        return uow.papers.count()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--naive-sample", type=int, default=5000)
    parser.add_argument("--json", action="store_true", help="Print one JSON object as well.")
    args = parser.parse_args()
    if not args.corpus.is_file():
        print(f"error: corpus not found at {args.corpus}; pass --corpus", file=sys.stderr)
        return 1

    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        directory = Path(tmp)
        with fresh_database(directory, "papers_bot") as database:
            result, wall, cpu = timed(
                lambda: ingest_file(database.uow, args.corpus, as_of=date(2025, 11, 7), now=NOW)
            )
            stored = count(database)
        records, parse_wall, parse_cpu = timed(lambda: parse_all(args.corpus))
        with fresh_database(directory, "floor") as database:
            _, floor_wall, floor_cpu = timed(lambda: floor_insert(database, records))
            floor_count = count(database)
        sample = list(itertools.islice(records, args.naive_sample))
        with fresh_database(directory, "naive") as database:
            _, naive_wall, naive_cpu = timed(lambda: naive_merge(database, sample))
        scale = len(records) / max(1, len(sample))

    n = len(records)
    load = os.getloadavg()
    rows = [
        ("papers-bot ingest_file (parse + dedupe/merge + write)", wall, cpu),
        ("  of which: parse only (gzip + JSON Lines + cleaning)", parse_wall, parse_cpu),
        ("floor: executemany INSERT of parsed rows, no dedupe", floor_wall, floor_cpu),
        (
            f"naive: per-row lookup + ORM merge ({len(sample):,} rows x{scale:.1f}, extrapolated)",
            naive_wall * scale,
            naive_cpu * scale,
        ),
    ]
    print(f"Ingest {n:,} papers from {args.corpus.name} into a fresh SQLite file")
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 cores)\n")
    print(f"{'':78} {'wall s':>8} {'cpu s':>8} {'papers/s':>10}")
    for label, w, c in rows:
        print(f"{label:78} {w:8.2f} {c:8.2f} {n / w:10,.0f}")
    verdict = "PASS" if wall <= TARGET_SECONDS else "FAIL"
    print(f"\ntarget <= {TARGET_SECONDS:.0f} s wall for papers-bot: {verdict} ({wall:.2f} s)")
    print(
        f"stored papers: {stored:,} (floor table: {floor_count:,}); file result: {result.summary()}"
    )
    if args.json:
        print(
            json.dumps(
                {
                    "papers": n,
                    "stored": stored,
                    "ingest_wall_s": round(wall, 3),
                    "ingest_cpu_s": round(cpu, 3),
                    "parse_wall_s": round(parse_wall, 3),
                    "floor_wall_s": round(floor_wall, 3),
                    "naive_wall_s_extrapolated": round(naive_wall * scale, 3),
                    "naive_sample": len(sample),
                    "target_s": TARGET_SECONDS,
                    "load_average": load,
                }
            )
        )
    return 0 if stored == n and wall <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
