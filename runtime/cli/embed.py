"""`papers-bot embed`: compute the vectors of every paper that has none (issue 12).

Incremental and resumable (`bot.search.embedder`): each batch is committed, so Ctrl-C or a
crash loses at most one batch and the next run goes on; papers already embedded under the
current model are skipped. The on-disk search index then takes the new vectors, so the
next search answers at once. A transient progress bar goes to stderr on a terminal, one
summary line (or `--json`) at the end.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bot.search.embedder import embed_pending
from bot.search.embedding import EmbeddingUnavailable, default_encoder
from bot.text import plural
from runtime.cli.errors import CliError
from runtime.core import open_database
from storage.db import Database

AsJson = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]


@contextmanager
def embed_progress() -> Iterator[Callable[[int, int], None] | None]:
    """A transient `embedding ━━━ N/M` bar on stderr, if it is a terminal."""
    console = Console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    columns = (
        TextColumn("embedding"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("papers", total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def embed(as_json: AsJson = False) -> None:
    """Embed new and changed papers for search by meaning (needs the `semantic` extra)."""
    try:
        # One single-threaded inference per core: the fewest CPU-seconds per paper.
        encoder = default_encoder(threads=1, workers=max(1, os.cpu_count() or 1))
    except EmbeddingUnavailable as exc:
        raise CliError(str(exc)) from exc
    from runtime.cli.index_cmd import update_index
    from runtime.index import index_home
    from runtime.settings import load_settings

    database = open_database()
    note = None
    try:
        with embed_progress() as progress:
            stats = embed_pending(database.uow, encoder, progress=progress)
        if stats.embedded:
            # Each embedded paper took a new change number: apply them to the index here,
            # under its own bar, or the next search or `serve` start pays for it (a minute
            # at 138k papers, for the vector graph).
            note = update_index(database, index_home(load_settings()))
    finally:
        database.dispose()
    if note is not None:
        typer.echo(note, err=True)
    rate = stats.embedded / stats.seconds if stats.seconds > 0 else 0.0
    if as_json:
        payload = {
            "model": stats.model,
            "embedded": stats.embedded,
            "unchanged": stats.unchanged,
            "pruned": stats.pruned,
            "seconds": round(stats.seconds, 1),
        }
        typer.echo(json.dumps(payload))
        return
    typer.echo(
        f"embedded {plural(stats.embedded, 'paper')} ({stats.unchanged:,} already up to date) "
        f"with {stats.model} in {stats.seconds:.1f} s ({rate:.1f} papers/s)",
        err=True,
    )


def embed_ingested(database: Database, progress: Callable[[int, int], None] | None) -> str | None:
    """After an ingest: embed the new and changed papers (the embedder skips the others),
    before the index update, which then takes their vectors. A one-line note when search by
    meaning is not installed or the model cannot load; None when done (or switched off)."""
    from runtime.dense import SWITCH, missing_semantic, semantic_available

    if not semantic_available():
        missing = missing_semantic()
        if not missing:
            return None  # PAPERS_SEMANTIC=0: switched off on purpose
        return (
            "papers not embedded for search by meaning: the 'semantic' extra is not installed "
            f"(missing {', '.join(missing)}; pip install 'papers-bot[semantic]', "
            f"or pass --no-embed or set {SWITCH}=0 to silence this)"
        )
    try:
        encoder = default_encoder(threads=1, workers=max(1, os.cpu_count() or 1))
    except EmbeddingUnavailable as exc:
        return f"papers not embedded for search by meaning: {exc}"
    embed_pending(database.uow, encoder, progress=progress)
    return None
