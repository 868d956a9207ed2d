"""`ingest file` into a database without a usable index: the index is built alongside.

The ingest's own work (parsing, staging, applying batches) is one Python thread, and so is
reading the committed rows back and building tantivy documents; in one process they would
take turns on the GIL. So a second process (`multiprocessing`, spawned) runs a
`bot.search.feed.GenerationFeed` on the second core: it polls the database's change head
and indexes each batch once it is committed, while the ingest goes on with the next.
When the ingest has committed everything, `finish` tells it to feed the last changes,
commit tantivy and publish. The ingest then runs its usual `update_index`, which finds
that generation and applies whatever is newer (nothing, unless another writer came in).

Failure handling: if the ingest process dies, the feeder sees its end of the pipe close
and removes its unpublished generation; if the feeder dies, `finish` reports it and the
ingest's `update_index` builds the index the old way. Neither leaves a published index
that disagrees with the database (`tests/bot/search/test_crash_safety.py`).
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

from bot.search.store import IndexHome

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from storage.db import Database

log = logging.getLogger(__name__)

# How often the feeder looks for newly committed batches (one cheap query each time).
POLL_SECONDS = 0.2
# Below this much input the index is built after the ingest, as before: starting the
# feeder (a fresh interpreter importing tantivy and SQLAlchemy, about 0.5 CPU-s) costs
# more than it saves on a few thousand papers (the corpus is about 480 bytes a paper).
ALONGSIDE_MIN_BYTES = 1 << 20
FINISH = "finish"


def _feed(conn: Connection, database_url: str, root: str) -> None:
    """The feeder process: index committed changes until told to finish (or orphaned)."""
    from bot.search.feed import GenerationFeed
    from runtime.cli.index_cmd import parts_of
    from storage.db import Database

    database = Database(database_url)
    feed = GenerationFeed(IndexHome(root), database.uow, parts_of(database))
    try:
        while True:
            try:
                told = conn.recv() if conn.poll(POLL_SECONDS) else None
            except EOFError:
                feed.abandon()  # the ingest is gone: publish nothing
                return
            feed.feed()
            if told == FINISH:
                live = feed.finish()
                conn.send(("done", live.state.change))
                return
    except BaseException:
        feed.abandon()
        raise
    finally:
        database.dispose()


class IndexFeeder:
    """The parent's handle on the feeder process."""

    def __init__(self, database: Database, home: IndexHome) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process: BaseProcess = context.Process(
            target=_feed, args=(child, database.url, str(home.root)), daemon=True
        )
        self._process.start()
        child.close()  # only the feeder holds it: our death closes the pipe for it

    def finish(self) -> bool:
        """Let the feeder index the last changes and publish; False if it failed (the
        caller's `update_index` then builds the index itself)."""
        try:
            self._conn.send(FINISH)
            kind, _ = self._conn.recv()
            return bool(kind == "done")
        except (EOFError, OSError) as exc:
            log.warning("the index feeder stopped (%s); building the index after the ingest", exc)
            return False
        finally:
            self._conn.close()
            self._process.join()

    def stop(self) -> None:
        """The ingest failed: the feeder drops its generation and exits."""
        self._conn.close()
        self._process.join()


def start_feeder(database: Database, size: int, *, embed: bool) -> IndexFeeder | None:
    """A feeder when this ingest (`size` bytes of input) would otherwise rebuild the index
    from scratch after it.

    Not for a small input, not when the index is usable (the ingest's catch-up applies
    only its own changes), and not when the ingest embeds: storing vectors stamps every
    paper again, so the catch-up after the embedding would index them all a second time.
    """
    from bot.search.feed import usable
    from runtime.cli.index_cmd import parts_of
    from runtime.dense import semantic_available
    from runtime.index import index_home
    from runtime.settings import load_settings

    if size < ALONGSIDE_MIN_BYTES or (embed and semantic_available()):
        return None
    home = index_home(load_settings())
    if usable(home, database.uow, parts_of(database)):
        return None
    return IndexFeeder(database, home)


@contextmanager
def index_alongside(database: Database, paths: Sequence[Path], *, embed: bool) -> Iterator[None]:
    """Around an ingest's database writes: the index is built alongside when it would
    otherwise be built from scratch after them (`start_feeder`)."""
    size = sum(path.stat().st_size for path in paths if path.is_file())
    feeder = start_feeder(database, size, embed=embed)
    if feeder is None:
        yield
        return
    try:
        yield
    except BaseException:
        feeder.stop()
        raise
    feeder.finish()
