"""The parts one process needs, each built on first use: database, stores, index, commands.

A command that needs no search index (`digest run`, `db upgrade`, `stats`, `discord sync`)
never touches `Core.search`, so it never pays for loading 138k papers into it. The same
goes for imports: each part imports its libraries when it is built, so importing this
module (as every CLI command does) costs nothing, and a configuration error is answered
before SQLAlchemy, alembic or tantivy are loaded.
"""

from __future__ import annotations

import logging
import time
from functools import cached_property
from typing import TYPE_CHECKING

from bot.logging_setup import configure_logging
from bot.settings import Settings
from runtime.index import index_home
from runtime.settings import load_settings

if TYPE_CHECKING:
    from bot.commands.core import CommandCore
    from bot.search.engine import PaperIndex
    from bot.search.live import LiveIndex
    from bot.search.similar import Neighbours
    from bot.search.vector_part import VectorPart
    from storage.db import Database
    from storage.kv_store import SqlKeyValueStore

log = logging.getLogger(__name__)


def open_database(settings: Settings | None = None, *, upgrade: bool = True) -> Database:
    """The database of `settings` (default: the environment), migrated unless told not to."""
    from storage.db import Database

    database = Database((settings or load_settings()).database_url)
    if upgrade:
        database.upgrade()
    return database


class Core:
    """Lazily built parts; `close()` disposes of whatever was built."""

    def __init__(
        self, settings: Settings, *, upgrade: bool = True, catch_up_on_open: bool = True
    ) -> None:
        self.settings = settings
        self.upgrade = upgrade
        # A serving bot opens the index and starts at once; its refresh job catches up
        # in the background, and /readyz says "not ready" until it has.
        self.catch_up_on_open = catch_up_on_open

    @cached_property
    def db(self) -> Database:
        return open_database(self.settings, upgrade=self.upgrade)

    @cached_property
    def kv(self) -> SqlKeyValueStore:
        from storage.kv_store import SqlKeyValueStore

        return SqlKeyValueStore(self.db)

    @cached_property
    def live_index(self) -> LiveIndex:
        """The persisted index, opened (built only when there is none) and, unless
        `catch_up_on_open` is off, caught up with the database if it can be.

        When another process holds its writer (a serving bot, an ingest) the index is
        used as it is on disk; `refresh_index` catches up later.
        """
        from bot.search.live import LiveIndex

        started = time.perf_counter()
        parts = [self.vectors] if self.vectors is not None else []
        live = LiveIndex.open(index_home(self.settings), self.db.uow, parts=parts)
        opened = time.perf_counter() - started
        behind = live.pending(self.db.uow)
        if self.catch_up_on_open:
            live.try_catch_up(self.db.uow)
        log.info(
            "search index opened: %d papers in %.2fs, %d changes behind the database (%s)",
            live.state.papers,
            opened,
            behind,
            live.index.directory,
        )
        return live

    @cached_property
    def vectors(self) -> VectorPart | None:
        """The generation's vector index when the `semantic` extra is installed."""
        from runtime.dense import vector_part

        return vector_part(self.db.uow)

    @cached_property
    def search(self) -> PaperIndex:
        from runtime.dense import use_dense

        index = self.live_index.index
        use_dense(index, self.vectors)
        return index

    @cached_property
    def neighbours(self) -> Neighbours:
        """ "More like this": lexical neighbours, fused with the vectors' when there are any."""
        from runtime.dense import neighbours

        return neighbours(self.search, self.vectors)

    @cached_property
    def commands(self) -> CommandCore:
        from bot.commands.core import CommandCore, CoreConfig
        from bot.ingest.live import ArxivPaperFetcher

        config = CoreConfig(
            default_timezone=self.settings.timezone,
            max_query_length=self.settings.max_query_length,
            page_size=self.settings.page_size,
        )
        # Links to papers not stored yet are looked up on arXiv (link memory, save, cite).
        fetcher = ArxivPaperFetcher(self.db.uow, self.settings.arxiv_api_url)
        return CommandCore(
            self.db.uow, self.search, config, fetch_paper=fetcher, neighbours=self.neighbours
        )

    def refresh_index(self) -> int:
        """Apply the database's changes newer than the index's (a cheap query when none).

        Returns how many changes it applied (papers added or removed, vectors that came
        without a paper write); 0 when another process is writing the index, which then
        carries them.
        """
        # Only a serving bot refreshes: it owns the writer (docs/search.md, "Processes").
        return self.live_index.try_catch_up(self.db.uow, own=True) or 0

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.dispose()


def build_core(
    settings: Settings | None = None,
    *,
    upgrade: bool = True,
    configure_logs: bool = False,
    catch_up_on_open: bool = True,
) -> Core:
    """A `Core` on `settings` (default: the environment); nothing is connected yet."""
    settings = settings or load_settings()
    if configure_logs:
        configure_logging(settings)
    return Core(settings, upgrade=upgrade, catch_up_on_open=catch_up_on_open)
