"""The parts one process needs, each built on first use: database, stores, index, commands.

A command that needs no search index (`digest run`, `db upgrade`, `stats`, `discord sync`)
never touches `Core.search`, so it never pays for loading 138k papers into it.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from bot.commands.core import CommandCore, CoreConfig
from bot.ingest.live import ArxivPaperFetcher
from bot.logging_setup import configure_logging
from bot.search.engine import PaperIndex
from bot.search.snapshot import catch_up, load_index, mark_covered
from bot.settings import Settings
from runtime.settings import load_settings
from storage.db import Database
from storage.kv_store import SqlKeyValueStore

log = logging.getLogger(__name__)


def open_database(settings: Settings | None = None, *, upgrade: bool = True) -> Database:
    """The database of `settings` (default: the environment), migrated unless told not to."""
    database = Database((settings or load_settings()).database_url)
    if upgrade:
        database.upgrade()
    return database


class Core:
    """Lazily built parts; `close()` disposes of whatever was built."""

    def __init__(self, settings: Settings, *, upgrade: bool = True) -> None:
        self.settings = settings
        self.upgrade = upgrade
        self.indexed_at = datetime.now(UTC)

    @cached_property
    def db(self) -> Database:
        return open_database(self.settings, upgrade=self.upgrade)

    @cached_property
    def kv(self) -> SqlKeyValueStore:
        return SqlKeyValueStore(self.db)

    @cached_property
    def search(self) -> PaperIndex:
        started = time.perf_counter()
        index, self.indexed_at = load_index(self.db.uow, self.settings.search_index_dir)
        log.info(
            "search index ready: %d papers in %.2fs", len(index), time.perf_counter() - started
        )
        return index

    @cached_property
    def commands(self) -> CommandCore:
        config = CoreConfig(
            default_timezone=self.settings.timezone,
            max_query_length=self.settings.max_query_length,
            page_size=self.settings.page_size,
        )
        # Links to papers not stored yet are looked up on arXiv (link memory, save, cite).
        fetcher = ArxivPaperFetcher(self.db.uow, self.settings.arxiv_api_url)
        return CommandCore(self.db.uow, self.search, config, fetch_paper=fetcher)

    def refresh_index(self) -> int:
        """Add papers inserted or updated since the last refresh to the search index.

        Keys merged away in the database since then are dropped from the index too.
        """
        started = datetime.now(UTC)
        count = catch_up(self.search, self.db.uow, self.indexed_at)
        self.indexed_at = started
        if self.settings.search_index_dir:
            mark_covered(Path(self.settings.search_index_dir), started)
        return count

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.dispose()


def build_core(
    settings: Settings | None = None, *, upgrade: bool = True, configure_logs: bool = False
) -> Core:
    """A `Core` on `settings` (default: the environment); nothing is connected yet."""
    settings = settings or load_settings()
    if configure_logs:
        configure_logging(settings)
    return Core(settings, upgrade=upgrade)
