"""An alert batch queued while a concurrent ingest merges one of its papers: the batch is
written in its own transaction after the ingest, so the merge may commit while it is
uncommitted and leave it naming the merged-away key (the merge rewrites only the batches
it sees). The planner matches the surviving paper instead, once per channel. On the
fakes, SQLite and PostgreSQL, and the interleaving itself on PostgreSQL."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.follow.matching import AlertKind
from bot.models import PaperRecord
from bot.testing.fakes import FakeDatabase, FakeSink
from storage.db import Database
from storage.tables import AlertBatchRow
from tests.bot.alerts.test_alert_runner import T0, channel, follow, paper, posted, runner

TITLE_ONLY = PaperRecord(title="Zebrafish Acoustics with Spiking Neural Networks", source="hf")
ARXIV = paper(1, "Zebrafish acoustics with spiking networks")  # the same paper, spelt apart
OTHER = paper(2, "Zebrafish genomes")


@pytest.fixture
def db(db_or_fake: Database | FakeDatabase) -> Database | FakeDatabase:
    return db_or_fake


def store(db: Database | FakeDatabase, records: list[PaperRecord], at: datetime) -> None:
    with db.uow() as uow:
        uow.papers.upsert_many(records, seen_at=at)


def keys(db: Database | FakeDatabase) -> tuple[int, int, int]:
    """(the title-only paper's key, the arXiv paper's, the other's)."""
    with db.uow() as uow:
        found = [uow.papers.find_by_paper_id(p.paper_id or "") for p in (ARXIV, OTHER)]
        kept, other = (p.key for p in found if p is not None)
        (gone,) = uow.papers.keys() - {kept, other}
    return gone, kept, other


def merge(db: Database | FakeDatabase, gone: int) -> None:
    """A later ingest learns the title-only paper's arXiv id: it folds into that paper."""
    store(db, [replace(TITLE_ONLY, paper_id=ARXIV.paper_id)], T0 + timedelta(minutes=5))
    with db.uow() as uow:
        assert uow.papers.get_many([gone]) == [], "the title-only row was not merged"


def name_in_batch(db: Database | FakeDatabase, batch_id: int, batch_keys: list[int]) -> None:
    """The batch's keys as the merge left them when it committed first (not through the
    ledger, whose queued batches a merge rewrites once it can see them)."""
    if isinstance(db, FakeDatabase):
        batch, planned = db.state.alert_batches[batch_id]
        changed = dataclasses.replace(batch, paper_keys=tuple(batch_keys))
        db.state.alert_batches[batch_id] = (changed, planned)
        return
    with db.session() as session:
        session.execute(
            sa.update(AlertBatchRow)
            .where(AlertBatchRow.id == batch_id)
            .values(paper_keys=batch_keys)
        )


@pytest.mark.parametrize("survivor_new", [False, True], ids=["survivor-old", "survivor-new"])
async def test_a_batch_naming_a_key_merged_away_while_it_was_queued_alerts_the_survivor(
    db: Database | FakeDatabase, survivor_new: bool
) -> None:
    ch = channel(1)
    follow(db, ch, AlertKind.SEARCH, "zebrafish")
    # The arXiv paper was stored before the channel's alert; then an ingest brings the
    # title-only record and another paper, and a concurrent ingest merges the two records.
    store(db, [ARXIV], T0 if survivor_new else T0 - timedelta(days=1))
    store(db, [TITLE_ONLY, OTHER], T0)
    gone, kept, other = keys(db)
    with db.uow() as uow:
        batch = uow.alert_ledger.enqueue_new(first_seen_since=T0, now=T0)
    assert batch is not None
    assert set(batch.paper_keys) == ({gone, other, kept} if survivor_new else {gone, other})
    merge(db, gone)
    name_in_batch(db, batch.id, [gone, kept, other] if survivor_new else [gone, other])
    sink = FakeSink()
    report = await runner(db, sink).run(T0 + timedelta(minutes=10))
    assert (report.batches, report.matched_papers, report.sent) == (1, 2, 1)
    assert posted(sink) == {ch.key: [kept, other]}


@pytest.mark.postgres
async def test_a_merge_committing_while_a_batch_is_queued_leaves_the_survivor_alerted(
    postgres_url: str,
) -> None:
    db = Database(postgres_url)
    db.upgrade()
    try:
        ch = channel(1)
        follow(db, ch, AlertKind.SEARCH, "zebrafish")
        store(db, [ARXIV], T0 - timedelta(days=1))
        store(db, [TITLE_ONLY, OTHER], T0)
        gone, kept, other = keys(db)
        errors: list[BaseException] = []

        def concurrent_merge() -> None:
            try:
                merge(db, gone)
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        with db.uow() as uow:
            batch = uow.alert_ledger.enqueue_new(first_seen_since=T0, now=T0)
            assert batch is not None and set(batch.paper_keys) == {gone, other}
            merger = threading.Thread(target=concurrent_merge)
            merger.start()
            merger.join(60)
            assert not merger.is_alive(), "the merge waited for the uncommitted batch"
        assert errors == []
        with db.uow() as uow:
            stored = uow.alert_ledger.next_batch()
            assert stored is not None and gone in stored.paper_keys  # the race happened
        sink = FakeSink()
        report = await runner(db, sink).run(T0 + timedelta(minutes=10))
        assert (report.batches, report.matched_papers, report.sent) == (1, 2, 1)
        assert posted(sink) == {ch.key: [kept, other]}
    finally:
        db.dispose()
