"""The persisted index catches up by change number: inserts, updates, merges, tombstones.

Runs on SQLite and PostgreSQL: the change numbers live in the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.models import Paper, PaperRecord
from bot.search.live import LiveIndex
from bot.search.store import IndexHome
from storage.db import Database

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _store(db: Database, records: list[PaperRecord], at: datetime = NOW) -> None:
    with db.uow() as uow:
        uow.papers.upsert_many(records, seen_at=at)


def _db_keys(db: Database) -> set[int]:
    with db.uow() as uow:
        return {paper.key for paper in uow.papers.iter_all()}


def _titles(live: LiveIndex, query: str) -> list[str]:
    return [card.paper.title for card in live.index.search(query, limit=5).cards]


def test_open_builds_once_then_applies_only_newer_changes(db: Database, tmp_path: Path) -> None:
    home = IndexHome(tmp_path / "papers-bot.index")
    _store(db, [PaperRecord(title="Speech separation for the cocktail party", source="t")])
    first = LiveIndex.open(home, db.uow)
    assert len(first.index) == 1 and first.state.change >= 1
    generation = first.generation
    del first  # a stopped process releases the writer
    _store(db, [PaperRecord(title="Graph neural networks for molecules", source="t")])
    second = LiveIndex.open(home, db.uow)
    assert second.generation == generation  # reopened, not rebuilt
    assert len(second.index) == 1  # as it was on disk
    assert second.catch_up(db.uow) == 1  # only the newer paper
    assert _titles(second, "graph molecules") == ["Graph neural networks for molecules"]
    assert second.catch_up(db.uow) == 0
    with db.uow() as uow:
        assert second.state.change == uow.papers.last_change()
    assert IndexHome.read_state(second.index.directory) == second.state


def test_an_update_replaces_the_indexed_paper(db: Database, tmp_path: Path) -> None:
    home = IndexHome(tmp_path / "index")
    _store(db, [PaperRecord(title="Sparse attention kernels", source="t", paper_id="2401.00001")])
    live = LiveIndex.open(home, db.uow)
    _store(
        db,
        [
            PaperRecord(
                title="Sparse attention kernels",
                source="t",
                paper_id="2401.00001",
                abstract="Flash decoding on commodity accelerators",
            )
        ],
        NOW + timedelta(hours=1),
    )
    assert live.catch_up(db.uow) == 1
    assert len(live.index) == 1
    assert _titles(live, "flash decoding") == ["Sparse attention kernels"]


def test_a_merge_leaves_a_tombstone_the_index_applies(db: Database, tmp_path: Path) -> None:
    home = IndexHome(tmp_path / "index")
    _store(
        db,
        [
            PaperRecord(
                title="Zebrafish acoustics with spiking networks",
                source="arxiv",
                paper_id="2410.01234",
            )
        ],
    )
    _store(
        db,
        [
            PaperRecord(
                title="Zebrafish Acoustics with Spiking Neural Networks",
                source="hf_page",
                upvotes=3,
            )
        ],
    )
    live = LiveIndex.open(home, db.uow)
    assert len(live.index) == 2
    del live
    _store(
        db,
        [
            PaperRecord(
                title="Zebrafish Acoustics with Spiking Neural Networks",
                source="hf_json",
                paper_id="2410.01234",
            )
        ],
    )
    (survivor,) = _db_keys(db)
    reopened = LiveIndex.open(home, db.uow)
    reopened.catch_up(db.uow)
    assert set(reopened.index) == {survivor}
    cards = reopened.index.search("zebrafish acoustics spiking", limit=10).cards
    assert [card.paper.key for card in cards] == [survivor]


def test_rebuild_swaps_a_new_generation_in(db: Database, tmp_path: Path) -> None:
    home = IndexHome(tmp_path / "index")
    _store(db, [PaperRecord(title="Protein folding with transformers", source="t")])
    old = LiveIndex.open(home, db.uow)
    crashed = home.new_generation()  # a rebuild that died half way: never pointed at
    (crashed / "junk").write_text("half an index")
    assert home.current() == old.index.directory
    new = LiveIndex.rebuild(home, db.uow)
    assert home.current() == new.index.directory != old.index.directory
    assert _titles(new, "protein folding") == ["Protein folding with transformers"]
    assert old.index.directory.is_dir()  # kept while a running process may use it


def test_a_second_process_searches_while_the_first_writes(db: Database, tmp_path: Path) -> None:
    home = IndexHome(tmp_path / "index")
    _store(db, [PaperRecord(title="Diffusion models for audio", source="t")])
    owner = LiveIndex.open(home, db.uow)
    owner.index.take_writer()
    _store(db, [PaperRecord(title="Diffusion models for video", source="t")])
    reader = LiveIndex.open(home, db.uow)
    assert reader.try_catch_up(db.uow) is None  # busy: searched as it is, never blocked
    assert _titles(reader, "diffusion audio") == ["Diffusion models for audio"]
    assert owner.catch_up(db.uow) == 1
    reader.index.reload()
    assert len(reader.index) == 2


def test_an_index_of_another_database_is_rebuilt(tmp_path: Path) -> None:
    home = IndexHome(tmp_path / "index")
    first = Database(f"sqlite:///{tmp_path / 'first.db'}")
    second = Database(f"sqlite:///{tmp_path / 'second.db'}")
    for db in (first, second):
        db.upgrade()
    try:
        _store(first, [PaperRecord(title="Only in the first database", source="t")])
        _store(second, [PaperRecord(title="Only in the second database", source="t")])
        LiveIndex.open(home, first.uow)
        live = LiveIndex.open(home, second.uow)
        assert _titles(live, "second database") == ["Only in the second database"]
        assert len(live.index) == 1
    finally:
        first.dispose()
        second.dispose()


def test_a_reader_follows_the_writer_and_a_rebuilt_generation(db: Database, tmp_path: Path) -> None:
    home = IndexHome(tmp_path / "index")
    _store(db, [PaperRecord(title="Diffusion models for audio", source="t")])
    owner = LiveIndex.open(home, db.uow)
    assert owner.try_catch_up(db.uow, own=True) == 0  # a serving bot: writer kept
    reader = LiveIndex.open(home, db.uow)
    _store(db, [PaperRecord(title="Quokka locomotion controllers", source="t")])
    assert reader.try_catch_up(db.uow) is None  # the owner applies, not the reader
    assert owner.try_catch_up(db.uow, own=True) == 1
    assert reader.try_catch_up(db.uow) == 0  # reloaded at the owner's state
    assert _titles(reader, "quokka") == ["Quokka locomotion controllers"]

    # `index rebuild` in another process publishes a new generation: both switch to it.
    rebuilt = LiveIndex.rebuild(home, db.uow).generation
    _store(db, [PaperRecord(title="Wombat burrow mapping", source="t")])
    assert owner.try_catch_up(db.uow, own=True) == 1
    assert owner.generation == rebuilt and owner.index.writable
    assert reader.try_catch_up(db.uow) == 0
    assert reader.generation == rebuilt
    assert _titles(reader, "wombat burrow") == ["Wombat burrow mapping"]
    assert reader.state == IndexHome.read_state(home.current() or home.root)


class KeyLog:
    """An `IndexPart` that keeps the indexed keys in a file: what vectors would do."""

    name = "keys"

    def __init__(self) -> None:
        self.directory: Path | None = None

    def build(self, directory: Path, papers: Iterable[Paper]) -> None:
        (directory / "keys.txt").write_text("".join(f"{p.key}\n" for p in papers))

    def open(self, directory: Path) -> None:
        if not (directory / "keys.txt").is_file():
            raise FileNotFoundError(directory)
        self.directory = directory

    def keys(self) -> set[int]:
        assert self.directory is not None
        return {int(k) for k in (self.directory / "keys.txt").read_text().split()}

    def apply(self, papers: Sequence[Paper], removed: Sequence[int]) -> None:
        keys = (self.keys() | {p.key for p in papers}) - set(removed)
        assert self.directory is not None
        (self.directory / "keys.txt").write_text("".join(f"{k}\n" for k in sorted(keys)))

    def catch_up(self, after: int, upto: int, progress: Callable[[int], None] | None = None) -> int:
        return 0  # nothing changes in this part but through a paper


def test_another_artefact_lives_in_the_generation(db: Database, tmp_path: Path) -> None:
    home = IndexHome(tmp_path / "index")
    _store(db, [PaperRecord(title="Protein folding with transformers", source="t")])
    LiveIndex.open(home, db.uow)  # an index from before the part existed
    part = KeyLog()
    live = LiveIndex.open(home, db.uow, parts=[part])  # its files are missing: rebuilt
    assert part.directory == live.index.directory / "keys"
    assert part.keys() == _db_keys(db)
    _store(db, [PaperRecord(title="Graph neural networks for molecules", source="t")])
    assert live.catch_up(db.uow) == 1
    assert part.keys() == _db_keys(db) == set(live.index)
    reopened = KeyLog()
    LiveIndex.open(home, db.uow, parts=[reopened])
    assert reopened.keys() == _db_keys(db)
