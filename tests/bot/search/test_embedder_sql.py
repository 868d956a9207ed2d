"""`embed_pending` on SQLite and PostgreSQL: the reader thread reads on its own connection
while the caller's thread commits each batch; a crash keeps every committed batch, the
next run resumes, and a later run embeds only new and changed papers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from bot.models import PaperRecord
from bot.search.embedder import embed_pending, model_key
from storage.changes import change_number
from storage.db import Database
from storage.tables import PaperRow
from tests.bot.search.test_embedder import CountingEncoder

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def _add(db: Database, titles: list[str]) -> None:
    with db.uow() as uow:
        uow.papers.upsert_many(
            [PaperRecord(title=t, abstract=f"About {t}.", source="hf-page") for t in titles],
            seen_at=NOW,
        )


def test_a_crash_mid_run_keeps_committed_batches_and_the_next_run_resumes(db: Database) -> None:
    _add(db, [f"Paper {i}" for i in range(50)])
    with pytest.raises(KeyboardInterrupt):
        embed_pending(db.uow, CountingEncoder(crash_after=5), batch_size=4)
    model = model_key(CountingEncoder())
    with db.uow() as uow:
        assert len(uow.vectors.fingerprints(model)) == 20  # five committed batches
    resumed = CountingEncoder()
    stats = embed_pending(db.uow, resumed, batch_size=4)
    assert (stats.embedded, stats.unchanged) == (30, 20)
    assert len(resumed.seen) == 30
    with db.uow() as uow:
        assert len(uow.vectors.fingerprints(model)) == 50


def test_only_new_and_changed_papers_are_embedded_again(db: Database) -> None:
    _add(db, [f"Paper {i}" for i in range(12)])
    first = embed_pending(db.uow, CountingEncoder(), batch_size=5)
    assert (first.embedded, first.unchanged) == (12, 0)
    _add(db, ["A new one"])
    with db.uow() as uow:
        # A corrected abstract, as a later ingest might write it (with a change number).
        session = uow.session  # type: ignore[attr-defined]
        session.execute(
            update(PaperRow)
            .where(PaperRow.title == "Paper 3")
            .values(abstract="Rewritten.", change=change_number(session))
        )
    encoder = CountingEncoder()
    stats = embed_pending(db.uow, encoder, batch_size=5)
    assert sorted(encoder.seen) == ["A new one. About A new one.", "Paper 3. Rewritten."]
    assert stats.embedded == 2
    idle = CountingEncoder()
    assert embed_pending(db.uow, idle, batch_size=5).embedded == 0
    assert idle.seen == []
