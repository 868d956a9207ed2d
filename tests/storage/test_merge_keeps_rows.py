"""A paper merged into its duplicate keeps everything channels stored about it.

The same paper stored twice (by arXiv id from one source, title-only from a page capture
with a different title spelling), then a record with both folds the title-only row into
the one with the id. Reading lists, first shares, votes, sent and alerted papers, vectors
and the paper keys of digests and alert batches all follow it to the surviving row: on
the fakes, SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from bot.alerts.models import ChannelPlan, PlannedItem
from bot.models import ChannelRef, PaperRecord, Platform, SavedPaper, SavedStatus
from bot.search.vector_ports import PaperVector
from bot.taste.votes_port import Vote, VoteSource
from bot.testing.fakes import FakeDatabase, subscribe
from storage.db import Database
from storage.tables import AlertBatchRow
from tests.storage.helpers import send_digest

T0 = datetime(2026, 11, 12, 9, tzinfo=UTC)
C1 = ChannelRef(Platform.SLACK, "C1", "T1")
C2 = ChannelRef(Platform.DISCORD, "C2", "G1")
ARXIV_ID = "2410.01234"
ARXIV_TITLE = "Zebrafish acoustics with spiking networks"
HF_TITLE = "Zebrafish Acoustics with Spiking Neural Networks"
MODEL = "test-encoder@1"


@pytest.fixture
def db(db_or_fake: Database | FakeDatabase) -> Database | FakeDatabase:
    return db_or_fake


def _store(db: Database | FakeDatabase, record: PaperRecord, at: datetime) -> None:
    with db.uow() as uow:
        uow.papers.upsert_many([record], seen_at=at)


def _two_rows(db: Database | FakeDatabase) -> tuple[int, int]:
    """The paper stored twice: (the title-only key that merges away, the key with the id)."""
    _store(db, PaperRecord(title=ARXIV_TITLE, source="arxiv", paper_id=ARXIV_ID), T0)
    _store(db, PaperRecord(title=HF_TITLE, source="hf_page", upvotes=3), T0)
    with db.uow() as uow:
        by_id = uow.papers.find_by_paper_id(ARXIV_ID)
        assert by_id is not None
        (title_only,) = uow.papers.keys() - {by_id.key}
        return title_only, by_id.key


def _merge(db: Database | FakeDatabase, gone: int, survivor: int) -> None:
    _store(db, PaperRecord(title=HF_TITLE, source="hf_json", paper_id=ARXIV_ID), T0)
    with db.uow() as uow:
        keys = uow.papers.keys()
        assert survivor in keys and gone not in keys, "the title-only row was not merged"


def test_a_merged_away_paper_keeps_its_saves_shares_and_votes(
    db: Database | FakeDatabase,
) -> None:
    gone, kept = _two_rows(db)
    with db.uow() as uow:
        assert uow.reading_list.add(C1, gone, user="U1", now=T0)
        uow.reading_list.update(C1, gone, status=SavedStatus.DISCUSSED, assignee="U9")
        assert uow.reading_list.add(C2, gone, user="U2", now=T0 + timedelta(hours=1))
        uow.shares.record(C1, gone, user="U3", now=T0)
        uow.votes.put(Vote(C1, gone, "U1", 1, T0))
        uow.votes.put(Vote(C2, gone, "U2", -1, T0, VoteSource.REACTION, 0.5, "m1"))
    _merge(db, gone, kept)
    with db.uow() as uow:
        assert uow.reading_list.entries(C1) == [
            SavedPaper(C1.key, kept, "U1", T0, SavedStatus.DISCUSSED, "U9")
        ]
        assert uow.reading_list.entries(C2) == [
            SavedPaper(C2.key, kept, "U2", T0 + timedelta(hours=1))
        ]
        share = uow.shares.record(C1, kept, user="U4", now=T0 + timedelta(days=1))
        assert (share.paper_key, share.shared_by, share.shared_at) == (kept, "U3", T0)
        assert uow.votes.for_channel(C1) == [Vote(C1, kept, "U1", 1, T0)]
        assert uow.votes.for_channel(C2) == [
            Vote(C2, kept, "U2", -1, T0, VoteSource.REACTION, 0.5, "m1")
        ]


def test_a_channel_that_had_both_keeps_one_entry_with_the_earlier_save(
    db: Database | FakeDatabase,
) -> None:
    gone, kept = _two_rows(db)
    later = T0 + timedelta(hours=2)
    with db.uow() as uow:
        uow.reading_list.add(C1, gone, user="U1", now=T0)
        uow.reading_list.add(C1, kept, user="U2", now=later)
        uow.reading_list.update(C1, kept, status=SavedStatus.DISCUSSED, assignee="U5")
        uow.shares.record(C1, gone, user="U1", now=later)
        uow.shares.record(C1, kept, user="U2", now=T0)
        uow.votes.put(Vote(C1, gone, "U1", 1, later))
        uow.votes.put(Vote(C1, kept, "U1", -1, T0))
        uow.votes.put(Vote(C1, gone, "U2", 1, T0))
        uow.votes.put(Vote(C1, kept, "U3", -1, later))
    _merge(db, gone, kept)
    with db.uow() as uow:
        # Saved first by U1; discussed on the other record, so discussed; its assignee.
        assert uow.reading_list.entries(C1) == [
            SavedPaper(C1.key, kept, "U1", T0, SavedStatus.DISCUSSED, "U5")
        ]
        share = uow.shares.record(C1, kept, user="U4", now=later)
        assert (share.shared_by, share.shared_at) == ("U2", T0)
        votes = {(v.paper_key, v.user): (v.value, v.voted_at) for v in uow.votes.for_channel(C1)}
        # U1's later vote wins; U2's and U3's stay.
        assert votes == {
            (kept, "U1"): (1, later),
            (kept, "U2"): (1, T0),
            (kept, "U3"): (-1, later),
        }


def test_digests_alerts_and_vectors_follow_the_merge(db: Database | FakeDatabase) -> None:
    gone, kept = _two_rows(db)
    _store(db, PaperRecord(title="Another paper", source="arxiv", paper_id="2410.09999"), T0)
    with db.uow() as uow:
        (other,) = uow.papers.keys() - {gone, kept}
    sub = subscribe(db, "C1", created=T0 - timedelta(days=1))
    planned = (gone, other)
    with db.uow() as uow:
        digest_id = send_digest(
            uow,
            sub,
            date(2026, 11, 12),
            planned,
            message_id="1700000000.000100",
            now=T0,
            why=("like “robots”", None),
            topics=("speech", "speech"),
        )
        batch = uow.alert_ledger.enqueue_new(first_seen_since=T0, now=T0)
        assert batch is not None and gone in batch.paper_keys
        plan = ChannelPlan(C2, (PlannedItem(gone, ("author Ada",)),))
        (delivery_id,) = uow.alert_ledger.plan(batch, [plan], worker="w", now=T0)
        vector = np.ones(4, dtype=np.float32) / 2
        uow.vectors.put_many(MODEL, [PaperVector(gone, "fp-gone", vector)])
    _merge(db, gone, kept)
    with db.uow() as uow:
        assert uow.votes.digest_papers(sub.channel, "1700000000.000100") == (kept, other)
        assert uow.deliveries.sent_paper_keys(sub.channel) == {kept, other}
        assert uow.deliveries.planned_notes(digest_id) == {
            kept: ("like “robots”", "speech"),
            other: (None, "speech"),
        }
        assert uow.alert_ledger.items_many([delivery_id]) == {
            delivery_id: [(kept, ("author Ada",))]
        }
        stored = uow.vectors.get_many(MODEL, [kept, gone])
        assert list(stored) == [kept] and stored[kept].fingerprint == "fp-gone"


def test_an_alert_batch_waiting_to_be_planned_names_the_surviving_paper(
    db: Database | FakeDatabase,
) -> None:
    gone, kept = _two_rows(db)
    with db.uow() as uow:
        batch = uow.alert_ledger.enqueue_new(first_seen_since=T0, now=T0)
        assert batch is not None and batch.paper_keys == tuple(sorted((gone, kept)))
    _merge(db, gone, kept)
    with db.uow() as uow:
        waiting = uow.alert_ledger.next_batch()
        assert waiting is not None and waiting.paper_keys == (kept,)


def test_a_planned_alert_batch_is_not_rewritten(database_url: str) -> None:
    # Its keys are never read again; the batch of a bulk load names every paper, and
    # rewriting it would cost every later ingest that merges.
    database = Database(database_url)
    database.upgrade()
    try:
        gone, kept = _two_rows(database)
        with database.uow() as uow:
            batch = uow.alert_ledger.enqueue_new(first_seen_since=T0, now=T0)
            assert batch is not None
            uow.alert_ledger.plan(batch, [], worker="w", now=T0)
        _merge(database, gone, kept)
        with database.session() as session:
            row = session.get(AlertBatchRow, batch.id)
            assert row is not None and row.paper_keys == sorted((gone, kept))
    finally:
        database.dispose()


def test_a_channel_sent_and_alerted_both_records_keeps_one_of_each(
    db: Database | FakeDatabase,
) -> None:
    gone, kept = _two_rows(db)
    sub = subscribe(db, "C1", created=T0 - timedelta(days=1))
    with db.uow() as uow:
        send_digest(uow, sub, date(2026, 11, 12), (gone, kept), message_id="m1", now=T0)
        batch = uow.alert_ledger.enqueue_new(first_seen_since=T0, now=T0)
        assert batch is not None
        items = (PlannedItem(kept, ("keyword speech",)), PlannedItem(gone, ("author Ada",)))
        (delivery_id,) = uow.alert_ledger.plan(batch, [ChannelPlan(C2, items)], worker="w", now=T0)
        uow.vectors.put_many(
            MODEL,
            [
                PaperVector(gone, "fp-gone", np.ones(4, dtype=np.float32) / 2),
                PaperVector(kept, "fp-kept", np.ones(4, dtype=np.float32) / 2),
            ],
        )
    _merge(db, gone, kept)
    with db.uow() as uow:
        assert uow.deliveries.sent_paper_keys(sub.channel) == {kept}
        assert uow.votes.digest_papers(sub.channel, "m1") == (kept,)
        assert uow.alert_ledger.items_many([delivery_id]) == {
            delivery_id: [(kept, ("author Ada", "keyword speech"))]
        }
        stored = uow.vectors.get_many(MODEL, [kept, gone])
        assert list(stored) == [kept] and stored[kept].fingerprint == "fp-kept"
