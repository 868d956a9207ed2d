"""Change numbers follow commit order, so an index that caught up to N never misses N - 1.

Two concurrent paper writers on PostgreSQL: the second waits on the counter row until the
first commits, and takes the next number after it.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bot.models import PaperRecord
from storage.db import Database
from tests.storage.helpers import sessions_waiting_on_a_lock

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _record(title: str) -> PaperRecord:
    return PaperRecord(title=title, source="t")


def test_every_write_takes_the_next_number_and_stamps_its_rows(db: Database) -> None:
    with db.uow() as uow:
        start = uow.papers.last_change()
    with db.uow() as uow:
        uow.papers.upsert_many([_record("Alpha"), _record("Beta")], seen_at=NOW)
    with db.uow() as uow:
        uow.papers.upsert_many([_record("Gamma")], seen_at=NOW)
    with db.uow() as uow:
        head = uow.papers.last_change()
        assert head == start + 2
        first = {p.title for p in uow.papers.changed_between(start, start + 1)}
        second = {p.title for p in uow.papers.changed_between(start + 1, head)}
    assert first == {"Alpha", "Beta"} and second == {"Gamma"}


@pytest.mark.postgres
def test_concurrent_writers_get_numbers_in_commit_order(postgres_url: str) -> None:
    db = Database(postgres_url)
    db.upgrade()
    try:
        with db.uow() as uow:
            start = uow.papers.last_change()
        holding = threading.Event()
        release = threading.Event()
        connected = threading.Event()
        log: list[str] = []

        def first() -> None:
            connected.wait(300)
            with db.uow() as uow:
                uow.papers.upsert_many([_record("First writer")], seen_at=NOW)
                log.append("first holding")
                holding.set()
                release.wait(300)
                uow.commit()

        def second() -> None:
            with db.uow() as uow:
                uow.papers.count()  # connected before the first writer takes its number
                connected.set()
                holding.wait(300)
                log.append("second start")
                uow.papers.upsert_many([_record("Second writer")], seen_at=NOW)
                log.append("second done")
                uow.commit()

        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        holding.wait(300)
        # Wait until the second writer is queued on the counter row's lock.
        waiting = sessions_waiting_on_a_lock(db)
        with db.engine.connect() as conn:
            activity = conn.execute(
                sa.text(
                    "SELECT state, wait_event_type, left(query, 40) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND state <> 'idle'"
                )
            ).all()
            assert waiting == 1, (log, activity)
            # Nothing of either writer is visible yet: the head has not moved.
            with db.uow() as uow:
                assert uow.papers.last_change() == start
        release.set()
        for thread in threads:
            thread.join(300)
        with db.uow() as uow:
            assert uow.papers.last_change() == start + 2
            assert [p.title for p in uow.papers.changed_between(start, start + 1)] == [
                "First writer"
            ]
            assert [p.title for p in uow.papers.changed_between(start + 1, start + 2)] == [
                "Second writer"
            ]
    finally:
        db.dispose()


def test_changed_between_pages_through_the_change_index(db: Database) -> None:
    """Pages of (change, key): every row of the range once, across changes and pages."""
    with db.uow() as uow:
        start = uow.papers.last_change()
    for titles in (["A1", "A2", "A3"], ["B1"], ["C1", "C2"]):
        with db.uow() as uow:
            uow.papers.upsert_many([_record(t) for t in titles], seen_at=NOW)
    with db.uow() as uow:
        head = uow.papers.last_change()
        for size in (1, 2, 5000):
            got = [p.title for p in uow.papers.changed_between(start, head, batch_size=size)]
            assert got == ["A1", "A2", "A3", "B1", "C1", "C2"]
            tail = [p.title for p in uow.papers.changed_between(start + 1, head, batch_size=size)]
            assert tail == ["B1", "C1", "C2"]
