"""A digest whose papers were read before a merge and recorded after it: the merged-away
key in its plan leads to the surviving paper when the digest is recorded as sent (no
foreign-key failure on `sent_papers`, which left the posted digest pending and its papers
unrecorded), and a 👍/👎 reaction on it votes for the survivor. On the fakes, SQLite and
PostgreSQL alike."""

from __future__ import annotations

import dataclasses
import threading
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from bot.alerts.models import ChannelPlan, PlannedItem
from bot.commands.taste import TasteCommands
from bot.models import ChannelRef, DeliveryStatus, PaperRecord, Platform, Subscription
from bot.ports import ClaimRequest, FinishRequest
from bot.testing.fakes import FakeDatabase, subscribe
from storage.db import Database
from storage.tables import DeliveryRow
from tests.storage.helpers import sessions_waiting_on_a_lock
from tests.storage.test_merge_key_lists import ARXIV_ID, ARXIV_TITLE, HF_TITLE, T0, _store

DAY = date(2026, 11, 30)


@pytest.fixture
def db(db_or_fake: Database | FakeDatabase) -> Database | FakeDatabase:
    return db_or_fake


def _papers(db: Database | FakeDatabase) -> tuple[int, int, int]:
    """(a title-only key that will merge away, the paper it merges into, another paper)."""
    _store(db, PaperRecord(title=ARXIV_TITLE, source="arxiv", paper_id=ARXIV_ID))
    _store(db, PaperRecord(title=HF_TITLE, source="hf_page", upvotes=3))
    _store(db, PaperRecord(title="Another paper entirely", source="arxiv", paper_id="2411.09999"))
    with db.uow() as uow:
        kept = uow.papers.find_by_paper_id(ARXIV_ID)
        other = uow.papers.find_by_paper_id("2411.09999")
        assert kept is not None and other is not None
        (gone,) = uow.papers.keys() - {kept.key, other.key}
    return gone, kept.key, other.key


def _merge(db: Database | FakeDatabase, gone: int) -> None:
    _store(db, PaperRecord(title=HF_TITLE, source="hf_json", paper_id=ARXIV_ID))
    with db.uow() as uow:
        assert uow.papers.get_many([gone]) == [], "the title-only row was not merged"


def _claim(db: Database | FakeDatabase, sub: Subscription, keys: tuple[int, ...]) -> int:
    claim = ClaimRequest(sub.id, DAY, paper_keys=keys, why=("why", None))
    with db.uow() as uow:
        return uow.deliveries.claim_many([claim], worker="w", now=T0)[sub.id]


def _finish(
    db: Database | FakeDatabase, sub: Subscription, delivery: int, keys: tuple[int, ...]
) -> None:
    request = FinishRequest(
        delivery, DeliveryStatus.SENT, sub.channel.key, message_id="m1", paper_keys=keys
    )
    with db.uow() as uow:
        assert uow.deliveries.finish_many([request], now=T0) == 1


@pytest.mark.parametrize("merged", ["before the claim", "between claim and finish"])
def test_a_digest_planned_before_a_merge_is_recorded_with_the_survivor(
    db: Database | FakeDatabase, merged: str
) -> None:
    gone, kept, other = _papers(db)
    sub = subscribe(db, "C1", created=T0 - timedelta(days=10))
    planned = (gone, other)  # read before the merge committed
    if merged == "before the claim":
        _merge(db, gone)
        delivery = _claim(db, sub, planned)
    else:
        delivery = _claim(db, sub, planned)
        _merge(db, gone)
    _finish(db, sub, delivery, planned)  # the runner's keys are the planned ones
    with db.uow() as uow:
        assert uow.deliveries.sent_paper_keys(sub.channel) == {kept, other}
        assert uow.votes.digest_papers(sub.channel, "m1") == (kept, other)
        assert uow.deliveries.planned_notes(delivery) == {kept: ("why", None)}
    taste = TasteCommands(db.uow, lambda: T0)
    assert taste.react(sub.channel, "m1", "U1", 1, added=True) == 2
    with db.uow() as uow:
        voted = {v.paper_key for v in uow.votes.for_channel(sub.channel)}
    assert voted == {kept, other}


@pytest.mark.postgres
def test_a_digest_recorded_while_a_merge_commits_waits_and_names_the_survivor(
    postgres_db: Database,
) -> None:
    # The merge has rewritten the digest's row and holds the merged-away paper; recording
    # the digest waits for it, then finds the key merged (it used to fail on sent_papers).
    db = postgres_db
    gone, kept, other = _papers(db)
    sub = subscribe(db, "C1", created=T0 - timedelta(days=10))
    delivery = _claim(db, sub, (gone, other))
    merging, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def merge() -> None:
        with db.uow() as uow:
            record = PaperRecord(title=HF_TITLE, source="hf_json", paper_id=ARXIV_ID)
            uow.papers.upsert_many([record], seen_at=T0)
            merging.set()
            release.wait(300)
            uow.commit()

    def finish() -> None:
        try:
            _finish(db, sub, delivery, (gone, other))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    merger = threading.Thread(target=merge)
    merger.start()
    assert merging.wait(300)
    finisher = threading.Thread(target=finish)
    finisher.start()
    waiting = sessions_waiting_on_a_lock(db)
    release.set()
    merger.join(300)
    finisher.join(300)
    assert waiting == 1
    assert errors == []
    with db.uow() as uow:
        assert uow.deliveries.sent_paper_keys(sub.channel) == {kept, other}
        assert uow.votes.digest_papers(sub.channel, "m1") == (kept, other)


def _store_digest_list(db: Database | FakeDatabase, delivery: int, keys: list[int]) -> None:
    """The digest's stored list as it is written, keys and all (not through the ledger,
    whose finish now follows merges): a list naming keys that have no paper any more."""
    if isinstance(db, FakeDatabase):
        row = db.state.deliveries[delivery]
        db.state.deliveries[delivery] = dataclasses.replace(row, paper_keys=tuple(keys))
        return
    with db.session() as session:
        session.execute(
            sa.update(DeliveryRow).where(DeliveryRow.id == delivery).values(paper_keys=keys)
        )


def test_a_reaction_on_a_digest_naming_merged_away_keys_votes_for_the_survivors(
    db: Database | FakeDatabase,
) -> None:
    gone, kept, other = _papers(db)
    sub = subscribe(db, "C1", created=T0 - timedelta(days=10))
    delivery = _claim(db, sub, (gone, other))
    _finish(db, sub, delivery, (gone, other))
    _merge(db, gone)
    # Merged away (twice, with its survivor), and a key no paper ever had.
    _store_digest_list(db, delivery, [gone, other, kept, 10**6])
    taste = TasteCommands(db.uow, lambda: T0)
    assert taste.react(sub.channel, "m1", "U1", 1, added=True) == 2
    with db.uow() as uow:
        votes = {(v.paper_key, v.weight) for v in uow.votes.for_channel(sub.channel)}
    assert votes == {(kept, 0.5), (other, 0.5)}
    assert taste.react(sub.channel, "m1", "U1", 1, added=False) == 2
    with db.uow() as uow:
        assert uow.votes.for_channel(sub.channel) == []


@pytest.mark.postgres
def test_an_alert_batch_planned_while_a_merge_commits_names_the_survivor(
    postgres_db: Database,
) -> None:
    # The planner holds the batch (locked, so that replicas split the batches) and has read
    # its papers; a merge of one of them must neither wait for the planner (which would
    # then wait for the merge: a deadlock, one of them failing) nor leave the planned
    # message naming the merged-away key.
    db = postgres_db
    gone, kept, other = _papers(db)
    with db.uow() as uow:
        assert uow.alert_ledger.enqueue_new(first_seen_since=T0, now=T0) is not None
    channel = ChannelRef(Platform.SLACK, "C1", "T1")
    read, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    planned: list[int] = []

    def plan() -> None:
        try:
            with db.uow() as uow:
                batch = uow.alert_ledger.next_batch()
                assert batch is not None and gone in batch.paper_keys
                read.set()
                release.wait(300)
                items = (PlannedItem(gone, ("author Ada",)), PlannedItem(other, ("x",)))
                plans = [ChannelPlan(channel, items)]
                planned.extend(uow.alert_ledger.plan(batch, plans, worker="w", now=T0))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    def merge() -> None:
        try:
            _merge(db, gone)
        except BaseException as exc:
            errors.append(exc)

    planner = threading.Thread(target=plan)
    planner.start()
    assert read.wait(300)
    merger = threading.Thread(target=merge)
    merger.start()
    merger.join(5)
    merged_alone = not merger.is_alive()
    release.set()
    planner.join(300)
    merger.join(300)
    assert errors == []
    assert merged_alone, "the merge waited for the planner"
    with db.uow() as uow:
        (delivery,) = planned
        items = uow.alert_ledger.items_many([delivery])[delivery]
        assert [key for key, _ in items] == [kept, other]
