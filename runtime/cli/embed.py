"""`papers-bot embed`: compute the vectors of every paper that has none (issue 12).

Incremental and resumable (`bot.search.embedder`): each batch is committed, so Ctrl-C or a
crash loses at most one batch and the next run goes on; papers already embedded under the
current model are skipped. A transient progress bar goes to stderr on a terminal, one
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

AsJson = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]


@contextmanager
def _progress() -> Iterator[Callable[[int, int], None] | None]:
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
    database = open_database()
    try:
        with _progress() as progress:
            stats = embed_pending(database.uow, encoder, progress=progress)
    finally:
        database.dispose()
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
