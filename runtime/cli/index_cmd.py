"""`papers-bot index status [--json]` and `papers-bot index rebuild`; and the index update
that every `papers-bot ingest` runs after it has committed to the database."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bot.search.live import IndexPart, LiveIndex
from bot.search.store import IndexHome
from bot.search.vector_part import described_vectors
from bot.text import plural
from runtime.core import open_database
from runtime.index import index_home
from runtime.settings import load_settings
from storage.db import Database

app = typer.Typer(help="The on-disk search index: status and rebuild.", no_args_is_help=True)


def parts_of(database: Database) -> list[IndexPart]:
    """The artefacts kept beside tantivy: the vector index with the `semantic` extra."""
    from runtime.dense import vector_part

    part = vector_part(database.uow)
    return [part] if part is not None else []


@contextmanager
def index_progress(total: int | None) -> Iterator[Callable[[int], None] | None]:
    """A transient `search index ━━━ N/M` bar on stderr, if it is a terminal."""
    console = Console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    columns = (TextColumn("search index"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("index", total=total)

        def advance(count: int) -> None:
            progress.update(task, advance=count)

        yield advance


# Given the number of papers, a callback that advances a bar by a count of papers.
IndexBar = Callable[[int], Callable[[int], None] | None]


def update_index(database: Database, home: IndexHome, bar: IndexBar | None = None) -> str | None:
    """Bring the index up to date after an ingest; a one-line note when it could not.

    `bar` adds the index's task to the caller's progress display (ingest's own bar);
    without it the index gets a bar of its own.
    """
    with database.uow() as uow:
        total = uow.papers.count()
    with index_progress(total) if bar is None else nullcontext(bar(total)) as progress:
        live = LiveIndex.open(home, database.uow, progress=progress, parts=parts_of(database))
        applied = live.try_catch_up(database.uow, progress=progress)
    if applied is None:
        return (
            f"search index {home.root} is being written by another process "
            "(papers-bot serve?); it picks these papers up at its next refresh"
        )
    return None


@app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Papers in the database and in the index, the last change applied, size on disk."""
    settings = load_settings()
    home = index_home(settings)
    database = open_database(settings)
    try:
        with database.uow() as uow:
            papers = uow.papers.count()
            head = uow.papers.last_change()
    finally:
        database.dispose()
    generation = home.current()
    state = home.read_state(generation) if generation is not None else None
    vectors = described_vectors(generation) if generation is not None else None
    report = {
        "directory": str(home.root),
        "generation": generation.name if generation else None,
        "papers_in_database": papers,
        "papers_in_index": state.papers if state else 0,
        "last_change_applied": state.change if state else None,
        "last_change_in_database": head,
        "behind": head - state.change if state else None,
        "size_bytes": home.size_bytes(),
        "vectors": {"model": vectors[0], "papers": vectors[1]} if vectors else None,
    }
    if as_json:
        typer.echo(json.dumps(report))
        return
    if state is None:
        typer.echo(f"no search index in {home.root} yet; the next ingest or search builds it")
        return
    typer.echo(f"index:     {home.root} ({report['generation']})")
    typer.echo(f"papers:    {papers} in the database, {state.papers} in the index")
    typer.echo(f"changes:   {state.change} applied, {head} in the database")
    if vectors is None:
        typer.echo("vectors:   none (search is lexical without the `semantic` extra)")
    elif vectors[1] == 0:
        typer.echo(f"vectors:   none yet for {vectors[0]} (`papers-bot embed` adds them)")
    else:
        typer.echo(f"vectors:   {vectors[1]} papers, {vectors[0]}")
    typer.echo(f"on disk:   {home.size_bytes() / 1e6:.1f} MB")


@app.command("rebuild")
def rebuild() -> None:
    """Rebuild the index from the database; swapped in atomically when complete."""
    settings = load_settings()
    home = index_home(settings)
    database = open_database(settings)
    try:
        with database.uow() as uow:
            total = uow.papers.count()
        with index_progress(total) as progress:
            live = LiveIndex.rebuild(
                home, database.uow, progress=progress, parts=parts_of(database)
            )
    finally:
        database.dispose()
    typer.echo(
        f"search index rebuilt: {plural(len(live.index), 'paper')} in {live.index.directory}"
    )
