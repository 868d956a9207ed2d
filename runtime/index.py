"""Where this deployment's search index lives on disk (always persisted; no setting needed).

- `PAPERS_SEARCH_INDEX_DIR`, when set (the k8s and compose volumes set it);
- else beside a SQLite database file: `papers-bot.db` -> `papers-bot.index/`;
- else (PostgreSQL) `papers-bot.index/` in the working directory.

The state in the index names the database it came from, so a directory that meets another
database is rebuilt, never trusted.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bot.search.store import IndexHome
from bot.settings import Settings
from storage.sqlite_head import sqlite_head

if TYPE_CHECKING:
    from bot.search.engine import PaperIndex

DEFAULT_DIR = "papers-bot.index"


def sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite URL (`sqlite:///relative.db`, `sqlite:////abs.db`), else None.

    Parsed by hand so that a CLI search needs no SQLAlchemy import to find its index.
    """
    prefix = "sqlite:///"
    if not database_url.startswith(prefix):
        return None
    path = database_url[len(prefix) :].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def index_home(settings: Settings) -> IndexHome:
    if settings.search_index_dir:
        return IndexHome(settings.search_index_dir)
    database = sqlite_file(settings.database_url)
    if database is not None:
        return IndexHome(database.with_name(database.stem + ".index"))
    return IndexHome(DEFAULT_DIR)


def current_sqlite_index(settings: Settings) -> PaperIndex | None:
    """The on-disk index when a SQLite database says it holds every change, else None.

    The fast path of a CLI search: one stdlib sqlite3 query, no SQLAlchemy, no migrations.
    Anything else (PostgreSQL, a stale or missing index) goes the full way through `Core`.
    """
    database = sqlite_file(settings.database_url)
    home = index_home(settings)
    generation = home.current()
    if database is None or generation is None or not database.is_file():
        return None
    head = sqlite_head(database)
    try:
        state = home.read_state(generation)
    except (FileNotFoundError, ValueError, KeyError):
        return None
    if head != (state.change, state.database):
        return None
    from bot.search.engine import PaperIndex  # tantivy: only once the index is wanted
    from runtime.dense import use_dense, vector_part

    index = PaperIndex.open(generation)
    part = vector_part()
    if part is not None:
        try:
            # Reads one small JSON file; the graph is mapped at the first description query.
            part.open(generation / part.name)
        except (FileNotFoundError, ValueError, KeyError):
            return None  # no vectors for this model yet: the full path rebuilds them
        use_dense(index, part)
    return index
