"""A merge on PostgreSQL while a channel saves one of the two papers.

The ingest folding a title-only paper into its arXiv twin moves the channel's rows to the
surviving key. A Save in the same channel, uncommitted when the merge starts, makes the
merge wait and is then moved or combined: it must not fail the ingest, on RESTRICT (a
Save of the merged-away paper) or on the (channel, paper) primary key (a Save of the
surviving paper, which the channel had saved as the other record).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from bot.models import ChannelRef, PaperRecord, Platform, SavedPaper
from storage.db import Database
from tests.storage.helpers import sessions_waiting_on_a_lock

T0 = datetime(2026, 11, 12, 9, tzinfo=UTC)
C1 = ChannelRef(Platform.SLACK, "C1", "T1")
ARXIV_ID = "2410.01234"
ARXIV_TITLE = "Zebrafish acoustics with spiking networks"
HF_TITLE = "Zebrafish Acoustics with Spiking Neural Networks"


def _store(db: Database, record: PaperRecord) -> None:
    with db.uow() as uow:
        uow.papers.upsert_many([record], seen_at=T0)


@pytest.mark.postgres
@pytest.mark.parametrize("saves", ["survivor", "merged-away"])
def test_a_save_during_a_merge_is_moved_or_combined(postgres_url: str, saves: str) -> None:
    db = Database(postgres_url)
    db.upgrade()
    try:
        _store(db, PaperRecord(title=ARXIV_TITLE, source="arxiv", paper_id=ARXIV_ID))
        _store(db, PaperRecord(title=HF_TITLE, source="hf_page"))
        with db.uow() as uow:
            by_id = uow.papers.find_by_paper_id(ARXIV_ID)
            assert by_id is not None
            kept = by_id.key
            (gone,) = uow.papers.keys() - {kept}
            assert uow.reading_list.add(
                C1, kept if saves == "merged-away" else gone, user="U1", now=T0
            )
        saving = threading.Event()
        release = threading.Event()
        errors: list[BaseException] = []

        def save() -> None:
            with db.uow() as uow:
                later = T0 + timedelta(hours=1)
                uow.reading_list.add(
                    C1, kept if saves == "survivor" else gone, user="U2", now=later
                )
                saving.set()
                release.wait(300)
                uow.commit()

        def merge() -> None:
            try:
                _store(db, PaperRecord(title=HF_TITLE, source="hf_json", paper_id=ARXIV_ID))
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        saver = threading.Thread(target=save)
        saver.start()
        saving.wait(300)
        merger = threading.Thread(target=merge)
        merger.start()
        waiting = sessions_waiting_on_a_lock(db)
        release.set()
        saver.join(300)
        merger.join(300)
        assert waiting == 1
        assert errors == []
        with db.uow() as uow:
            assert uow.papers.keys() == {kept}
            assert uow.reading_list.entries(C1) == [SavedPaper(C1.key, kept, "U1", T0)]
    finally:
        db.dispose()
