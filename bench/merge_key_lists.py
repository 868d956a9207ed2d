"""Merge bench: finding the digests that name merged-away papers, and what the side rows
cost an alert batch (migration 0016, storage/key_lists.py).

Usage::

    python bench/merge_key_lists.py                      # SQLite in a temporary folder
    python bench/merge_key_lists.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test
    python bench/merge_key_lists.py --deliveries 40000 --merged 500 --batch 138000

Figures from the same run and database, side by side:

- **lookup**: the ids of the deliveries naming `--merged` merged-away keys, through
  `delivery_papers` (`KeyList.naming`) against the text match over the JSON that 0016
  replaced (`CAST(paper_keys AS TEXT) LIKE '%key%'`, 50 keys a statement). Also how many
  rows each found: the text match finds more (key 401 is in 1401), never fewer.
- **batch**: `enqueue_new` of a `--batch`-paper alert batch, the JSON and its side rows,
  against the JSON alone; and the planning that drops the rows.

The machine is shared, so the load average is printed with the figures. A PostgreSQL URL
gets a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage.db import Database
from storage.key_lists import ALERT_BATCHES, DELIVERIES
from storage.tables import AlertBatchRow, DeliveryRow, PaperRow, SubscriptionRow

T0 = datetime(2026, 11, 30, 9, tzinfo=UTC)
LIKE_CHUNK = 50  # as storage/merge_follow.py had it


def timed(work: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return best, result


def fill(database: Database, papers: int, deliveries: int, per_digest: int) -> None:
    now = T0
    subs = max(1, deliveries // 100)
    with database.session() as session:
        session.execute(
            sa.insert(cast(sa.Table, PaperRow.__table__)),
            [
                {"title_key": f"p {k}", "title": f"P {k}", "first_seen": now, "updated": now}
                for k in range(1, papers + 1)
            ],
        )
        session.execute(
            sa.insert(cast(sa.Table, SubscriptionRow.__table__)),
            [
                {
                    "platform": "slack",
                    "workspace": "T1",
                    "channel": f"C{n}",
                    "at_time": "09:00",
                    "timezone": "UTC",
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(subs)
            ],
        )
        sub_ids = list(session.scalars(sa.select(SubscriptionRow.id)))
        rng = random.Random(7)
        rows = [
            {
                "subscription_id": sub_ids[n % len(sub_ids)],
                "digest_date": date(2020, 1, 1) + timedelta(days=n // len(sub_ids)),
                "status": "sent",
                "attempts": 1,
                "paper_keys": rng.sample(range(1, papers + 1), per_digest),
            }
            for n in range(deliveries)
        ]
        table = cast(sa.Table, DeliveryRow.__table__)
        ids = session.execute(sa.insert(table).returning(table.c.id), rows).scalars().all()
        DELIVERIES.write(session, {i: r["paper_keys"] for i, r in zip(ids, rows, strict=True)})


def like_lookup(database: Database, olds: list[int]) -> set[int]:
    text = sa.cast(DeliveryRow.paper_keys, sa.Text)
    found: set[int] = set()
    with database.session() as session:
        for start in range(0, len(olds), LIKE_CHUNK):
            chunk = olds[start : start + LIKE_CHUNK]
            query = sa.select(DeliveryRow.id).where(sa.or_(*(text.like(f"%{k}%") for k in chunk)))
            found.update(session.scalars(query))
    return found


def side_lookup(database: Database, olds: list[int]) -> set[int]:
    with database.session() as session:
        return DELIVERIES.naming(session, olds)


def batch_costs(database: Database, with_rows: bool) -> float:
    with database.session() as session:
        new = sa.select(PaperRow.key).where(PaperRow.first_seen >= T0)
        start = time.perf_counter()
        keys = [int(k) for k in session.scalars(new.order_by(PaperRow.key))]
        row = AlertBatchRow(paper_keys=keys, created_at=T0)
        session.add(row)
        session.flush()
        if with_rows:
            ALERT_BATCHES.fill(session, row.id, new.where(PaperRow.key <= keys[-1]))
        session.flush()
        elapsed = time.perf_counter() - start
        session.rollback()
    return elapsed


def drop_cost(database: Database) -> float:
    with database.session() as session:
        new = sa.select(PaperRow.key).where(PaperRow.first_seen >= T0)
        row = AlertBatchRow(paper_keys=[], created_at=T0)
        session.add(row)
        session.flush()
        ALERT_BATCHES.fill(session, row.id, new)
        start = time.perf_counter()
        ALERT_BATCHES.drop(session, row.id)
        elapsed = time.perf_counter() - start
        session.rollback()
    return elapsed


def run(url: str, args: argparse.Namespace) -> None:
    database = Database(url)
    database.upgrade()
    try:
        fill(database, args.batch, args.deliveries, args.per_digest)
        olds = random.Random(11).sample(range(1, args.batch + 1), args.merged)
        like_s, like_ids = timed(lambda: like_lookup(database, olds))
        side_s, side_ids = timed(lambda: side_lookup(database, olds))
        assert side_ids <= like_ids, "the side table missed a delivery the text match found"
        json_s, _ = timed(lambda: batch_costs(database, False))
        rows_s, _ = timed(lambda: batch_costs(database, True))
        drop_s, _ = timed(lambda: drop_cost(database), repeat=2)
    finally:
        database.dispose()
    print(f"database: {url.split('?')[0]}  load: {os.getloadavg()}")
    print(
        f"{args.deliveries:,} deliveries x {args.per_digest} papers over {args.batch:,} papers; "
        f"{args.merged} merged keys"
    )
    print(f"  lookup, text match over JSON: {like_s * 1000:9.1f} ms, {len(like_ids):,} rows found")
    print(f"  lookup, delivery_papers:      {side_s * 1000:9.1f} ms, {len(side_ids):,} rows found")
    print(f"  ratio: {like_s / side_s:.0f}x")
    print(f"alert batch of {args.batch:,} papers (best of 3, rolled back):")
    print(f"  JSON only:          {json_s * 1000:9.1f} ms")
    print(f"  JSON + side rows:   {rows_s * 1000:9.1f} ms")
    print(f"  planning drops them: {drop_s * 1000:8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a PostgreSQL URL (default: SQLite in a temp folder)")
    parser.add_argument("--deliveries", type=int, default=20_000)
    parser.add_argument("--per-digest", type=int, default=10)
    parser.add_argument("--merged", type=int, default=200)
    parser.add_argument("--batch", type=int, default=138_000, help="papers (all in the batch)")
    args = parser.parse_args()
    if args.url is None:
        with tempfile.TemporaryDirectory() as folder:
            run(f"sqlite:///{folder}/bench.db", args)
        return
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in args.url else "?"
    try:
        run(f"{args.url}{sep}options={quote(f'-csearch_path={schema}')}", args)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
