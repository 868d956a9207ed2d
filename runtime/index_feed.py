"""`ingest file` into a database without a usable index: the index is built alongside.

The ingest's own work (parsing, staging, applying batches) is one Python thread, and so is
reading the committed rows back and building tantivy documents; in one process they would
take turns on the GIL. So a second process (`python -m runtime.index_feed`) runs a
`bot.search.feed.GenerationFeed` on the second core: it polls the database's change head
and indexes each batch once it is committed, while the ingest goes on with the next.
When the ingest has committed everything, `finish` tells it to feed the last changes,
commit tantivy and publish. The ingest then runs its usual `update_index`, which finds
that generation and applies whatever is newer (nothing, unless another writer came in).

Failure handling: if the ingest process dies, the feeder sees its stdin close and removes
its unpublished generation; if the feeder dies, `finish` reports it and the ingest's
`update_index` builds the index the old way. Neither leaves a published index
that disagrees with the database (`tests/bot/search/test_crash_safety.py`).
"""

from __future__ import annotations

import logging
import select
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING

from bot.search.store import IndexHome

if TYPE_CHECKING:
    from storage.db import Database

log = logging.getLogger(__name__)

# How often the feeder looks for newly committed batches (one cheap query each time).
POLL_SECONDS = 0.2
# Below this much input the index is built after the ingest, as before: starting the
# feeder (a fresh interpreter importing tantivy and SQLAlchemy, about 0.5 CPU-s) costs
# more than it saves on a few thousand papers (the corpus is about 480 bytes a paper).
ALONGSIDE_MIN_BYTES = 1 << 20
FINISH = "finish"


def _told(stdin: IO[str]) -> str | None:
    """The ingest's word if one came within POLL_SECONDS; "" when the ingest is gone."""
    ready, _, _ = select.select([stdin], [], [], POLL_SECONDS)
    return stdin.readline().strip() if ready else None


def feed_until_finished(database_url: str, root: str) -> int:
    """The feeder process: index committed changes until told to finish, then publish and
    print the change number reached. If the ingest dies first (stdin closes), publish
    nothing. Exit status 0 when published."""
    from bot.search.feed import GenerationFeed
    from runtime.dense import vector_part
    from storage.db import Database

    database = Database(database_url)
    # As `runtime.cli.index_cmd.parts_of`, without importing the command line (typer, rich).
    part = vector_part(database.uow)
    feed = GenerationFeed(IndexHome(root), database.uow, [part] if part is not None else [])
    try:
        while True:
            told = _told(sys.stdin)
            if told == "":
                feed.abandon()  # the ingest is gone: publish nothing
                return 1
            feed.feed()
            if told == FINISH:
                live = feed.finish()
                print(live.state.change, flush=True)
                return 0
    except BaseException:
        feed.abandon()
        raise
    finally:
        database.dispose()


class IndexFeeder:
    """The ingest's handle on the feeder process (`python -m runtime.index_feed`).

    A plain child process with a pipe on its stdin, not `multiprocessing`: spawning would
    import the parent's `__main__` again, whatever script embeds the CLI.
    """

    def __init__(self, database: Database, home: IndexHome) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "runtime.index_feed", database.url, str(home.root)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def finish(self) -> bool:
        """Let the feeder index the last changes and publish; False if it failed (the
        caller's `update_index` then builds the index itself)."""
        process = self._process
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(FINISH + "\n")
            process.stdin.flush()
            reached = process.stdout.readline().strip()
        except OSError as exc:
            reached = str(exc)
        if process.wait() == 0 and reached.isdigit():
            return True
        log.warning(
            "the index feeder stopped (exit status %s); building the index after the ingest",
            process.returncode,
        )
        return False

    def stop(self) -> None:
        """The ingest failed: the feeder drops its generation and exits."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait()


def start_feeder(database: Database, size: int, *, embed: bool) -> IndexFeeder | None:
    """A feeder when this ingest (`size` bytes of input) would otherwise rebuild the index
    from scratch after it.

    Not for a small input, not when the index is usable (the ingest's catch-up applies
    only its own changes), and not when the ingest embeds: the index is then built after
    the embedding, every vector in one pass, where a catch-up after a feeder's generation
    would put every vector through the delta graph (folding it again and again).
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


if __name__ == "__main__":
    sys.exit(feed_until_finished(sys.argv[1], sys.argv[2]))
