"""Index refresh after a merge: a title-only row folded into an arXiv row leaves no ghost.

When a source brings the arXiv id of a paper stored twice (once by id under one title,
once title-only under another), storage merges the two rows and deletes the title-only
one. The running index, and a persisted snapshot, must drop that key too: otherwise a
search returns the paper twice, once under a key the database no longer has.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.models import PaperRecord
from bot.search.engine import PaperIndex
from bot.search.live import LiveIndex
from bot.search.store import IndexHome
from bot.settings import Settings
from runtime.core import build_core
from storage.db import Database

ARXIV_TITLE = "Zebrafish acoustics with spiking networks"
HF_TITLE = "Zebrafish Acoustics with Spiking Neural Networks"


def _store(db: Database, records: list[PaperRecord], at: datetime) -> None:
    with db.uow() as uow:
        uow.papers.upsert_many(records, seen_at=at)


def load_index(uow, directory: str) -> tuple[PaperIndex, int]:  # type: ignore[no-untyped-def]
    """The persisted index in `directory`, opened and caught up as a process would."""
    live = LiveIndex.open(IndexHome(directory), uow)
    live.catch_up(uow)
    return live.index, live.state.change


def _keys(db: Database) -> set[int]:
    with db.uow() as uow:
        return {paper.key for paper in uow.papers.iter_all()}


def _two_rows_then_merge(db: Database, start: datetime) -> datetime:
    """Store the paper twice (by id; title-only), return when the merging ingest ran."""
    _store(db, [PaperRecord(title=ARXIV_TITLE, source="arxiv", paper_id="2410.01234")], start)
    _store(db, [PaperRecord(title=HF_TITLE, source="hf_page", upvotes=3)], start)
    assert len(_keys(db)) == 2
    return start


def _merge(db: Database, at: datetime) -> None:
    _store(db, [PaperRecord(title=HF_TITLE, source="hf_json", paper_id="2410.01234")], at)
    assert len(_keys(db)) == 1


def test_refresh_drops_the_key_of_an_absorbed_row(database_url: str, tmp_path: Path) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, DATABASE_URL=database_url, PAPERS_SEARCH_INDEX_DIR=str(tmp_path / "ix")
    )
    core = build_core(settings)
    _two_rows_then_merge(core.db, datetime.now(UTC))
    core.refresh_index()
    assert len(core.search) == 2
    _merge(core.db, datetime.now(UTC) + timedelta(seconds=1))
    core.refresh_index()
    (survivor,) = _keys(core.db)
    cards = core.search.search("zebrafish acoustics spiking", limit=10).cards
    assert [card.paper.key for card in cards] == [survivor]
    assert cards[0].paper.paper_id == "2410.01234"
    assert set(core.search) == {survivor}
    assert [key for key, _ in core.search.suggest("zebrafish acou")] == [survivor]


def test_a_snapshot_drops_keys_deleted_while_the_bot_was_down(
    sqlite_db: Database, tmp_path: Path
) -> None:
    directory = tmp_path / "index"
    _two_rows_then_merge(sqlite_db, datetime.now(UTC) - timedelta(minutes=5))
    first, _ = load_index(sqlite_db.uow, str(directory))
    assert len(first) == 2
    del first  # a stopped bot releases the snapshot
    import gc

    gc.collect()
    _merge(sqlite_db, datetime.now(UTC) + timedelta(seconds=1))
    second, _ = load_index(sqlite_db.uow, str(directory))
    (survivor,) = _keys(sqlite_db)
    assert set(second) == {survivor}
    assert [c.paper.key for c in second.search("zebrafish", limit=10).cards] == [survivor]
    del second
    gc.collect()
    # The removal is persisted: reopening again still knows only the survivor.
    third, _ = load_index(sqlite_db.uow, str(directory))
    assert set(third) == {survivor}
    assert third._titles.keys() == {survivor}


def test_refresh_finds_rows_stamped_before_the_last_refresh(
    database_url: str, tmp_path: Path
) -> None:
    """An ingest stamps rows when it starts; if it commits after a refresh, the next
    refresh must still index them (they are older than the refresh time)."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, DATABASE_URL=database_url, PAPERS_SEARCH_INDEX_DIR=str(tmp_path / "ix")
    )
    core = build_core(settings)
    core.refresh_index()
    stamped = datetime.now(UTC) - timedelta(seconds=30)
    _store(core.db, [PaperRecord(title="Okapi gait analysis", source="hf_page")], stamped)
    core.refresh_index()
    assert [c.paper.title for c in core.search.search("okapi gait").cards] == [
        "Okapi gait analysis"
    ]


def test_the_look_back_does_not_re_add_indexed_papers(sqlite_db: Database, tmp_path: Path) -> None:
    """Papers the index already has are not added again (a CLI search on a snapshot right
    after a big ingest would redo it every time): catch-up goes by change number."""
    live = LiveIndex.open(IndexHome(tmp_path / "ix"), sqlite_db.uow)
    start = datetime.now(UTC)
    _store(sqlite_db, [PaperRecord(title="Okapi gait analysis", source="hf_page")], start)
    assert live.catch_up(sqlite_db.uow) == 1
    assert live.catch_up(sqlite_db.uow) == 0
    assert len(live.index) == 1
