"""A merge rewrites exactly the digests and alert batches that name the merged-away key
(found through `delivery_papers` / `alert_batch_papers`, not by a text match: key 401
is not 1401), and the merged-away key still leads to the surviving paper; on the fakes,
SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event, select

from bot.models import PaperRecord
from bot.paper_keys import GONE, paper_by_key
from bot.testing.fakes import FakeDatabase, subscribe
from storage.changes import bury
from storage.db import Database
from storage.key_lists import DELIVERIES
from storage.tables import AlertBatchPaperRow, DeliveryPaperRow, PaperRow
from tests.storage.helpers import send_digest

T0 = datetime(2026, 11, 30, 9, tzinfo=UTC)
ARXIV_ID = "2411.04010"
ARXIV_TITLE = "Zebrafish acoustics with spiking networks"
HF_TITLE = "Zebrafish Acoustics with Spiking Neural Networks"


@pytest.fixture
def db(db_or_fake: Database | FakeDatabase) -> Database | FakeDatabase:
    return db_or_fake


def _store(db: Database | FakeDatabase, *records: PaperRecord) -> None:
    with db.uow() as uow:
        uow.papers.upsert_many(records, seen_at=T0)


def _fillers(start: int, stop: int) -> list[PaperRecord]:
    return [
        PaperRecord(title=f"Filler paper number {n}", source="arxiv", paper_id=f"2411.{n:05d}")
        for n in range(start, stop)
    ]


def _papers_401_and_1401(db: Database | FakeDatabase) -> tuple[int, int, int]:
    """(the title-only key that merges away: 401, its survivor: 1, another paper: 1401)."""
    _store(db, PaperRecord(title=ARXIV_TITLE, source="arxiv", paper_id=ARXIV_ID))
    _store(db, *_fillers(2, 401))
    _store(db, PaperRecord(title=HF_TITLE, source="hf_page", upvotes=3))
    _store(db, *_fillers(402, 1401))
    _store(db, PaperRecord(title="Another paper entirely", source="arxiv", paper_id="2411.99999"))
    with db.uow() as uow:
        kept = uow.papers.find_by_paper_id(ARXIV_ID)
        other = uow.papers.find_by_paper_id("2411.99999")
        gone = [p for p in uow.papers.get_many([401]) if p.paper_id is None]
    assert kept is not None and other is not None and gone, "keys are not the expected ones"
    assert (gone[0].key, kept.key, other.key) == (401, 1, 1401)
    return 401, 1, 1401


def _merge(db: Database | FakeDatabase) -> None:
    _store(db, PaperRecord(title=HF_TITLE, source="hf_json", paper_id=ARXIV_ID))
    with db.uow() as uow:
        assert uow.papers.get_many([401]) == [], "the title-only row was not merged"


@contextmanager
def _rewritten_deliveries(db: Database | FakeDatabase) -> Iterator[list[int]]:
    """The ids of the `deliveries` rows whose key list an UPDATE wrote, meanwhile (SQL)."""
    ids: list[int] = []

    def seen(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: Any) -> None:
        if statement.lstrip().startswith("UPDATE deliveries SET paper_keys"):
            ids.extend(int(p["id_1"]) for p in context.compiled_parameters)

    if isinstance(db, FakeDatabase):
        yield ids
        return
    event.listen(db.engine, "after_cursor_execute", seen)
    try:
        yield ids
    finally:
        event.remove(db.engine, "after_cursor_execute", seen)


def test_only_the_digests_naming_401_are_rewritten_not_those_naming_1401(
    db: Database | FakeDatabase,
) -> None:
    gone, kept, other = _papers_401_and_1401(db)
    sub = subscribe(db, "C1", created=T0 - timedelta(days=10))
    day = date(2026, 11, 20)
    with db.uow() as uow:
        names_gone = send_digest(
            uow, sub, day, (other, gone, 4), message_id="m1", now=T0, why=(None, "why", None)
        )
        names_1401 = send_digest(
            uow, sub, day + timedelta(days=1), (other, 14, 1400), message_id="m2", now=T0
        )
        names_both = send_digest(
            uow, sub, day + timedelta(days=2), (kept, gone), message_id="m3", now=T0
        )
    if isinstance(db, Database):
        with db.session() as session:
            # What a text match over the JSON also found: "401" is in "1401".
            assert DELIVERIES.naming(session, [gone]) == {names_gone, names_both}
    with _rewritten_deliveries(db) as rewritten:
        _merge(db)
    with db.uow() as uow:
        assert uow.votes.digest_papers(sub.channel, "m1") == (other, kept, 4)
        assert uow.deliveries.planned_notes(names_gone) == {kept: ("why", None)}
        assert uow.votes.digest_papers(sub.channel, "m2") == (other, 14, 1400)
        assert uow.votes.digest_papers(sub.channel, "m3") == (kept,)
    if isinstance(db, Database):
        assert sorted(rewritten) == sorted((names_gone, names_both))
        with db.session() as session:
            rows = session.execute(
                select(DeliveryPaperRow.delivery_id, DeliveryPaperRow.paper_key)
            ).all()
            assert sorted(rows) == sorted(
                [
                    *[(names_gone, other), (names_gone, kept), (names_gone, 4)],
                    *[(names_1401, other), (names_1401, 14), (names_1401, 1400)],
                    (names_both, kept),
                ]
            )
            assert DELIVERIES.naming(session, [gone]) == set()
            assert DELIVERIES.naming(session, [other]) == {names_gone, names_1401}


def test_a_waiting_alert_batch_names_the_survivor_and_planning_drops_its_rows(
    db: Database | FakeDatabase,
) -> None:
    gone, kept, other = _papers_401_and_1401(db)
    with db.uow() as uow:
        batch = uow.alert_ledger.enqueue_new(first_seen_since=T0, now=T0)
        assert batch is not None and {gone, kept, other} <= set(batch.paper_keys)
    _merge(db)
    with db.uow() as uow:
        waiting = uow.alert_ledger.next_batch()
        assert waiting is not None and waiting.id == batch.id
        assert gone not in waiting.paper_keys and len(waiting.paper_keys) == 1400
        if isinstance(db, Database):
            assert _batch_rows(uow.session) == {(batch.id, k) for k in waiting.paper_keys}
        uow.alert_ledger.plan(waiting, [], worker="w", now=T0)
        if isinstance(db, Database):
            assert _batch_rows(uow.session) == set()


def _batch_rows(session: Any) -> set[tuple[int, int]]:
    rows = session.execute(select(AlertBatchPaperRow.batch_id, AlertBatchPaperRow.paper_key))
    return {(int(b), int(k)) for b, k in rows}


def test_a_merged_away_key_leads_to_its_survivor(db: Database | FakeDatabase) -> None:
    gone, kept, other = _papers_401_and_1401(db)
    _merge(db)
    with db.uow() as uow:
        found = uow.papers.get(gone)
        assert found is not None and found.key == kept and found.paper_id == ARXIV_ID
        assert uow.papers.get(other) == uow.papers.get_many([other])[0]
        assert uow.papers.get(10**6) is None
        # get_many is as it was: keys as stored, unknown ones skipped.
        assert [p.key for p in uow.papers.get_many([gone, kept])] == [kept]
    paper = paper_by_key(db.uow, gone)
    assert not isinstance(paper, str) and paper.key == kept
    assert paper_by_key(db.uow, 10**6) == GONE


def _delete_paper(db: Database | FakeDatabase, key: int) -> None:
    """A paper removed outright (no survivor): how an operator's delete would leave it."""
    if isinstance(db, FakeDatabase):
        del db.state.papers[key]
        db.state.tombstones[key] = db.state.change
        return
    with db.session() as session:
        session.execute(sa.delete(PaperRow).where(PaperRow.key == key))
        bury(session, [key])


def test_a_deleted_paper_still_says_it_is_gone(db: Database | FakeDatabase) -> None:
    gone, kept, other = _papers_401_and_1401(db)
    _merge(db)
    _delete_paper(db, other)
    with db.uow() as uow:
        assert uow.papers.get(other) is None
        survivor = uow.papers.get(gone)
        assert survivor is not None and survivor.key == kept
    assert paper_by_key(db.uow, other) == GONE


def test_a_survivor_merged_again_is_followed(database_url: str) -> None:
    # Not made by an ingest (a survivor has an arXiv id), but a redirect never dead-ends
    # while the paper it leads to exists.
    database = Database(database_url)
    database.upgrade()
    try:
        _store(database, *_fillers(1, 4))
        with database.session() as session:
            session.execute(sa.delete(PaperRow).where(PaperRow.key.in_([1, 2])))
            bury(session, [1, 2], survivors={1: 2, 2: 3})
        with database.uow() as uow:
            found = uow.papers.get(1)
            assert found is not None and found.key == 3
    finally:
        database.dispose()


def test_a_merged_away_key_is_not_given_to_the_next_new_paper(
    db: Database | FakeDatabase,
) -> None:
    # The title-only row has the largest key when it merges away: SQLite would hand that
    # key to the next new paper, and an old button would act on it.
    _store(db, PaperRecord(title=ARXIV_TITLE, source="arxiv", paper_id=ARXIV_ID))
    _store(db, PaperRecord(title=HF_TITLE, source="hf_page", upvotes=3))
    with db.uow() as uow:
        kept = uow.papers.find_by_paper_id(ARXIV_ID)
        assert kept is not None
        (gone,) = uow.papers.keys() - {kept.key}
        assert gone > kept.key
    _store(db, PaperRecord(title=HF_TITLE, source="hf_json", paper_id=ARXIV_ID))
    _store(db, PaperRecord(title="A brand new paper", source="arxiv", paper_id="2411.00002"))
    _store(db, PaperRecord(title="One more new paper", source="hf", upvotes=1))
    with db.uow() as uow:
        keys = uow.papers.keys()
        assert len(keys) == 3 and gone not in keys
        survivor = uow.papers.get(gone)
        assert survivor is not None and survivor.key == kept.key
