"""Migration 0016: the key lists of digests and waiting alert batches become rows indexed by
paper key, filled from the JSON; tombstones get a survivor column. The downgrade keeps
every row it does not drop, and a second upgrade fills the same rows again."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, cast

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.models import PaperRecord
from bot.testing.fakes import subscribe
from storage.db import Database
from storage.tables import AlertBatchRow, Base, DeliveryRow, PaperTombstoneRow

T0 = datetime(2026, 11, 30, 9, tzinfo=UTC)
BEFORE = "0016_alert_held"
NEW_TABLES = ("delivery_papers", "alert_batch_papers")


def _rows(database: Database, table: str, columns: str = "*") -> list[tuple[Any, ...]]:
    with database.engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(sa.text(f"SELECT {columns} FROM {table}")))


def _key_rows(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    return {
        "delivery_papers": _rows(database, "delivery_papers", "delivery_id, paper_key"),
        "alert_batch_papers": _rows(database, "alert_batch_papers", "batch_id, paper_key"),
    }


def _old_rows(database: Database) -> dict[int, int]:
    """Papers, a subscription with three digests, two alert batches (one planned) and a
    tombstone, written as revision 0015 stored them. Returns {delivery or batch: id}."""
    with database.uow() as uow:
        uow.papers.upsert_many(
            [
                PaperRecord(title=f"Paper {n}", source="arxiv", paper_id=f"2411.0000{n}")
                for n in (1, 2, 3)
            ],
            seen_at=T0,
        )
        k1, k2, k3 = sorted(uow.papers.keys())
    sub = subscribe(database, "C1", created=T0)
    deliveries = cast(sa.Table, DeliveryRow.__table__)
    batches = cast(sa.Table, AlertBatchRow.__table__)
    ids: dict[int, int] = {}
    with database.engine.begin() as conn:
        for n, keys in enumerate(([k1, k2, k1], [k3], [])):
            ids[n] = conn.execute(
                sa.insert(deliveries).returning(deliveries.c.id),
                {
                    "subscription_id": sub.id,
                    "digest_date": date(2026, 11, 1 + n),
                    "status": "sent",
                    "attempts": 1,
                    "paper_keys": keys,
                    "paper_notes": {str(keys[0]): ["why", None]} if keys else None,
                },
            ).scalar_one()
        for n, (keys, planned) in enumerate((([k1, k3], None), ([k1, k2, k3], T0)), start=10):
            ids[n] = conn.execute(
                sa.insert(batches).returning(batches.c.id),
                {"paper_keys": keys, "created_at": T0, "planned_at": planned},
            ).scalar_one()
        conn.execute(sa.text("INSERT INTO paper_tombstones (key, change) VALUES (999, 1)"))
    return {**ids, 100 + 1: k1, 100 + 2: k2, 100 + 3: k3}


def test_upgrade_fills_the_key_rows_and_downgrade_keeps_the_data(database_url: str) -> None:
    database = Database(database_url)
    try:
        command.upgrade(database.alembic_config(), BEFORE)
        ids = _old_rows(database)
        k1, k2, k3 = ids[101], ids[102], ids[103]
        kept = {t: _rows(database, t) for t in ("deliveries", "alert_batches", "sent_papers")}
        database.upgrade()
        expected = {
            "delivery_papers": sorted([(ids[0], k1), (ids[0], k2), (ids[1], k3)]),
            # Only the batch still waiting to be planned: a planned one is never read again.
            "alert_batch_papers": sorted([(ids[10], k1), (ids[10], k3)]),
        }
        assert _key_rows(database) == expected
        assert {t: _rows(database, t) for t in kept} == kept
        with database.session() as session:
            (stone,) = session.scalars(sa.select(PaperTombstoneRow)).all()
            assert (stone.key, stone.change, stone.survivor) == (999, 1, None)
        with database.engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        names = (*NEW_TABLES, "paper_tombstones")
        assert [d for d in diffs if any(n in repr(d) for n in names)] == []

        command.downgrade(database.alembic_config(), BEFORE)
        tables = set(sa.inspect(database.engine).get_table_names())
        assert not tables & set(NEW_TABLES)
        assert {t: _rows(database, t) for t in kept} == kept
        assert _rows(database, "paper_tombstones") == [(999, 1)]

        database.upgrade()
        assert _key_rows(database) == expected
    finally:
        database.dispose()
