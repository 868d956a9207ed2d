"""New papers for the alert delivery tests of every platform: one ingest run's worth,
all matching the saved search `QUERY` and by `AUTHOR`, queued as one alert batch."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.alerts.ledger import enqueue_new_papers
from bot.models import PaperRecord
from runtime.core import Core

QUERY = "quasiparticle braiding"
AUTHOR = "Ada Lovelace"


def ingest_matching(core: Core, count: int) -> list[str]:
    """Store `count` new papers matching `QUERY` and `AUTHOR`, queue them; their titles."""
    titles = [f"Quasiparticle braiding in lattice number {i}" for i in range(count)]
    records = [
        PaperRecord(
            title=title,
            source="test",
            paper_id=f"2603.{i:05d}",
            abstract="Anyons and their statistics.",
            authors=(AUTHOR,),
            published=date(2026, 3, 9),
        )
        for i, title in enumerate(titles)
    ]
    now = datetime.now(UTC)
    with core.db.uow() as uow:
        uow.papers.upsert_many(records, seen_at=now)
    assert enqueue_new_papers(core.db.uow, since=now, now=now) is not None
    return titles
