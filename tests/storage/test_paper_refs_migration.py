"""Migration 0012: foreign keys to papers restrict deletes, and every such table is one
that `storage.merge_follow` moves when papers merge. Downgrades keep what names
the tables they alter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.exc import IntegrityError

from bot.models import ChannelRef, PaperRecord, Platform
from bot.testing.fakes import subscribe
from storage.db import Database
from storage.merge_follow import REFERENCES
from storage.tables import Base, PaperRow
from tests.storage.helpers import send_digest

T0 = datetime(2026, 11, 30, 6, tzinfo=UTC)
C1 = ChannelRef(Platform.SLACK, "C1", "T1")


# ON DELETE of each table's key to papers, as the ORM declares it.
DECLARED = {
    table.name: (fk.ondelete or "").upper()
    for table in Base.metadata.sorted_tables
    for fk in table.foreign_keys
    if fk.column.table.name == "papers"
}


def test_every_table_naming_a_paper_follows_merges() -> None:
    assert set(DECLARED) == {row.__tablename__ for row in REFERENCES}
    # Only derived data (vectors) may go with its paper.
    assert {t for t, rule in DECLARED.items() if rule != "RESTRICT"} == {"paper_vectors"}


def _ondelete(database: Database) -> dict[str, str]:
    inspector = sa.inspect(database.engine)
    found: dict[str, str] = {}
    for table in inspector.get_table_names():
        for fk in inspector.get_foreign_keys(table):
            if fk["referred_table"] == "papers":
                found[table] = str((fk.get("options") or {}).get("ondelete") or "").upper()
    return found


def test_upgrade_keeps_rows_and_restricts_deletes(database_url: str) -> None:
    database = Database(database_url)
    try:
        command.upgrade(database.alembic_config(), "0011_ingest_runs")
        with database.uow() as uow:
            uow.papers.upsert_many(
                [PaperRecord(title="Kept paper", source="arxiv", paper_id="2411.00001")],
                seen_at=T0,
            )
            (key,) = uow.papers.keys()
            uow.reading_list.add(C1, key, user="U1", now=T0)
        database.upgrade()
        assert _ondelete(database) == DECLARED
        with database.uow() as uow:
            assert [e.saved_by for e in uow.reading_list.entries(C1)] == ["U1"]
        with pytest.raises(IntegrityError), database.session() as session:
            session.execute(sa.delete(PaperRow).where(PaperRow.key == key))
        with database.uow() as uow:
            assert uow.papers.keys() == {key}
        command.downgrade(database.alembic_config(), "0011_ingest_runs")
        assert _ondelete(database)["reading_list"] == "CASCADE"
    finally:
        database.dispose()


@pytest.mark.parametrize("target", ["0012_paper_refs_restrict", "0001_initial"])
def test_a_downgrade_keeps_digests_and_upvote_history(database_url: str, target: str) -> None:
    # 0013 drops deliveries.paper_notes, 0008 papers.change, 0003 subscriptions.cadence,
    # 0002 deliveries.retry_at: in batch mode SQLite recreated those tables, and dropping
    # each old one ran ON DELETE on every row naming it (sent papers lost their delivery,
    # or went with their paper or subscription, as did upvote history and deliveries).
    database = Database(database_url)
    try:
        database.upgrade()
        sub = subscribe(database, "C1", created=T0)
        with database.uow() as uow:
            uow.papers.upsert_many(
                [PaperRecord(title="Sent paper", source="hf", paper_id="2411.00003", upvotes=5)],
                seen_at=T0,
            )
            (key,) = uow.papers.keys()
            day = T0.date()
            delivery_id = send_digest(uow, sub, day, (key,), message_id="m1", now=T0, why=("w",))
        command.downgrade(database.alembic_config(), target)
        with database.engine.connect() as conn:
            rows = {
                table: conn.execute(sa.text(f"SELECT {columns} FROM {table}")).all()
                for table, columns in (
                    ("subscriptions", "id"),
                    ("deliveries", "id"),
                    ("sent_papers", "paper_key, delivery_id"),
                    ("upvote_snapshots", "paper_key, upvotes"),
                )
            }
        assert rows == {
            "subscriptions": [(sub.id,)],
            "deliveries": [(delivery_id,)],
            "sent_papers": [(key, delivery_id)],
            "upvote_snapshots": [(key, 5)],
        }
    finally:
        database.dispose()
