"""Composition root: builds settings, database, search index and command core in one place.

Adapters and the CLI call `build_core()`; nothing else wires dependencies or reads the
environment. Platform-specific parts (sinks, bolt app, discord client) are built by the
adapters on top of the `Core` returned here.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bot.commands.core import CommandCore, CoreConfig
from bot.logging_setup import configure_logging
from bot.ports import KeyValueStore
from bot.search.engine import PaperIndex
from bot.search.snapshot import catch_up, load_index, mark_covered
from bot.settings import Settings
from storage.db import Database
from storage.kv_store import SqlKeyValueStore

log = logging.getLogger(__name__)


@dataclass
class Core:
    settings: Settings
    db: Database
    search: PaperIndex
    commands: CommandCore
    kv: KeyValueStore
    indexed_at: datetime = field(default_factory=lambda: datetime.now(UTC))

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


def build_core(
    settings: Settings | None = None, *, upgrade: bool = True, configure_logs: bool = False
) -> Core:
    settings = settings or Settings()
    if configure_logs:
        configure_logging(settings)
    db = Database(settings.database_url)
    if upgrade:
        db.upgrade()
    started = time.perf_counter()
    index, indexed_at = load_index(db.uow, settings.search_index_dir)
    log.info("search index ready: %d papers in %.2fs", len(index), time.perf_counter() - started)
    config = CoreConfig(
        default_timezone=settings.timezone,
        max_query_length=settings.max_query_length,
        page_size=settings.page_size,
    )
    commands = CommandCore(db.uow, index, config)
    return Core(
        settings=settings,
        db=db,
        search=index,
        commands=commands,
        kv=SqlKeyValueStore(db),
        indexed_at=indexed_at,
    )
