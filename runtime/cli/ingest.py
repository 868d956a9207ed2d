"""`papers-bot ingest …`: seeds, files, and the live HF and arXiv fetchers.

Every file goes in all or nothing (large ones staged, then applied in short batches; see
bot.ingest.service), and each command first finishes what a crashed ingest had sealed.
A bad file gets one line on stderr naming it (and the
line or item), the other files still go in, and the command exits 1 at the end. A
summary line per file goes to stderr; `--json` prints the results to stdout instead.
The parsers, fetchers and storage are imported by the commands that run them, so that
loading the command line (for any command) stays cheap.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from bot.ingest.errors import IngestError
from bot.models import PaperRecord
from bot.text import plural
from runtime.cli.errors import UsageError
from runtime.core import open_database
from runtime.settings import load_settings

if TYPE_CHECKING:
    from bot.ingest.service import FileResult
    from runtime.cli.index_cmd import IndexBar
    from storage.db import Database

# (papers embedded, papers to embed): advances the embedding bar.
EmbedBar = Callable[[int, int], None]
# RetryPolicy().retries, written out: bot.ingest.http_retry imports httpx.
DEFAULT_RETRIES = 4

app = typer.Typer(help="Ingest papers from files or live sources.", no_args_is_help=True)

AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Reference date (YYYY-MM-DD) for page dates without a year; default today.",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the results as JSON on stdout.")]
NoEmbed = Annotated[
    bool,
    typer.Option(
        "--no-embed", help="Do not embed the new papers for search by meaning (papers-bot embed)."
    ),
]
Retries = Annotated[
    int, typer.Option("--retries", min=0, max=10, help="Retries on HTTP 429/5xx or network errors.")
]


def _as_of(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--as-of {value!r} is not a YYYY-MM-DD date") from None


def _report(results: list[FileResult], *, as_json: bool, total_papers: int) -> None:
    if as_json:
        payload = {"files": [r.as_dict() for r in results], "papers": total_papers}
        typer.echo(json.dumps(payload))
    if any(not r.ok for r in results):
        # SystemExit rather than typer.Exit: in non-standalone mode typer turns Exit into a
        # return value, which a caller may drop; SystemExit reaches the process exit code.
        raise SystemExit(1)


# Rejection reasons printed under a file's summary; --json carries all of them.
MAX_REJECTIONS_SHOWN = 10


def summary_line(result: FileResult) -> str:
    """`NAME: N papers (a new, b updated, c unchanged)`, N being the sum of its parts,
    then one indented line per rejected record (up to MAX_REJECTIONS_SHOWN)."""
    if result.error is not None:
        return f"error: {result.name}: {result.error}"
    s = result.stats
    line = (
        f"{result.name}: {plural(s.total, 'paper')} "
        f"({s.inserted} new, {s.updated} updated, {s.unchanged} unchanged)"
    )
    if s.merged:
        line += f", {s.merged} merged into papers known by title"
    if result.records != s.total:
        # Repeats within a source (the seeds list some papers twice) count once, and
        # records that cannot be stored are left out: entries = papers + both.
        left_out = []
        if result.repeated:
            left_out.append(f"{result.repeated} repeated")
        if result.rejected:
            left_out.append(f"{len(result.rejected)} rejected")
        line += f" from {plural(result.records, 'entry', 'entries')}"
        if left_out:
            line += f" ({', '.join(left_out)})"
    shown = result.rejected[:MAX_REJECTIONS_SHOWN]
    more = len(result.rejected) - len(shown)
    lines = [line, *(f"  rejected: {reason}" for reason in shown)]
    if more:
        lines.append(f"  … and {more} more rejected (see --json)")
    return "\n".join(lines)


def _print_result(result: FileResult) -> None:
    typer.echo(summary_line(result), err=True)


def _stderr_console() -> Console | None:
    """A console for progress on stderr (stdout stays clean for --json), if it is a terminal."""
    console = Console(stderr=True)
    return console if console.is_terminal else None


class _Amount(ProgressColumn):
    """Bytes for a file's task, `N/M` papers for the search index's."""

    def __init__(self) -> None:
        super().__init__()
        self._bytes, self._papers = DownloadColumn(), MofNCompleteColumn()

    def render(self, task: Task) -> RenderableType:
        return (self._papers if task.fields.get("papers") else self._bytes).render(task)


class IngestBars:
    """Per-file progress callbacks, the index's task and the summary lines, on one display."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._embed_task: TaskID | None = None

    def for_file(self, name: str) -> Callable[[int, int], None]:
        progress = self._progress
        assert progress is not None
        task = progress.add_task(Path(name).name, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return update

    @property
    def files(self) -> Callable[[str], Callable[[int, int], None]] | None:
        return self.for_file if self._progress is not None else None

    def index(self, total: int) -> Callable[[int], None] | None:
        progress = self._progress
        if progress is None:
            return None
        task = progress.add_task("search index", total=total, papers=True)
        return lambda count: progress.update(task, advance=count)

    def embedding(self, done: int, total: int) -> None:
        """The embedding task (a second bar, under the files'), created on first use."""
        progress = self._progress
        if progress is None:
            return
        if self._embed_task is None:
            self._embed_task = progress.add_task("embedding", total=total, papers=True)
        progress.update(self._embed_task, completed=done, total=total)

    @property
    def embed(self) -> Callable[[int, int], None] | None:
        return self.embedding if self._progress is not None else None

    def echo(self, result: FileResult) -> None:
        if self._progress is None:
            _print_result(result)
        else:
            # Through the live console, so rich moves the bar below the line. soft_wrap:
            # rich would otherwise break a long path at a space and split the line.
            self._progress.console.print(
                summary_line(result), markup=False, highlight=False, soft_wrap=True
            )


@contextmanager
def _progress_bar() -> Iterator[IngestBars]:
    """One transient rich display on a terminal: a bar per file, then the search index's
    (updated in the same command), with each file's summary on its own line above."""
    console = _stderr_console()
    if console is None:
        yield IngestBars(None)
        return
    columns = (TextColumn("{task.description}"), BarColumn(), _Amount(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        yield IngestBars(progress)


@contextmanager
def _fetch_progress(name: str, total: int | None) -> Iterator[Callable[[int], None] | None]:
    """A transient `NAME ━━━ N papers` counter while a live source is fetched."""
    console = _stderr_console()
    if console is None:
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"{name}: papers", total=total)
        yield lambda count: progress.update(task, completed=count)


def _index(
    database: Database,
    bar: IndexBar | None = None,
    *,
    embed: bool = True,
    embed_bar: EmbedBar | None = None,
) -> None:
    """Embed what was just committed (search by meaning, unless `embed` is off), then
    update the on-disk search index with it (issue 11: ingest updates the index in the same
    command, so the next search answers at once, with the new papers' vectors)."""
    from runtime.cli.index_cmd import update_index
    from runtime.index import index_home

    if embed:
        from runtime.cli.embed import embed_ingested, embed_progress

        if embed_bar is not None:
            skipped = embed_ingested(database, embed_bar)
        else:
            with embed_progress() as own_bar:
                skipped = embed_ingested(database, own_bar)
        if skipped is not None:
            typer.echo(skipped, err=True)

    note = update_index(database, index_home(load_settings()), bar)
    if note is not None:
        typer.echo(note, err=True)


def _resume(database: Database) -> None:
    """Finish files a crashed ingest sealed but did not apply; one line each on stderr."""
    from bot.ingest.service import resume_runs

    resume_runs(database.uow, on_result=_print_result)


@app.command("seeds")
def seeds(
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when the database already has papers.")
    ] = False,
    as_of: AsOf = None,
    as_json: AsJson = False,
    no_embed: NoEmbed = False,
) -> None:
    """Ingest the bundled daily-papers captures (195 papers)."""
    from bot.ingest.service import ingest_seeds

    reference = _as_of(as_of)
    database = open_database()
    try:
        _resume(database)
        with database.uow() as uow:
            existing = uow.papers.count()
        if if_empty and existing:
            typer.echo(f"database already has {plural(existing, 'paper')}; seeds skipped", err=True)
            _report([], as_json=as_json, total_papers=existing)
            return
        started = datetime.now(UTC)
        results = ingest_seeds(database.uow, as_of=reference, now=started, on_result=_print_result)
        _index(database, embed=not no_embed)
        _deliver_alerts(database, since=started, as_json=as_json)
        with database.uow() as uow:
            total = uow.papers.count()
    finally:
        database.dispose()
    _report(results, as_json=as_json, total_papers=total)


@app.command("file")
def file(
    paths: Annotated[list[Path], typer.Argument(help="Files to ingest; the format is detected.")],
    as_of: AsOf = None,
    as_json: AsJson = False,
    no_embed: NoEmbed = False,
) -> None:
    """Ingest files: HF page text, HF API JSON, arXiv Atom, or JSON Lines (plain or gzip)."""
    from bot.ingest.limits import ingest_limits
    from bot.ingest.service import ingest_paths
    from runtime.index_feed import index_alongside

    reference = _as_of(as_of)
    database = open_database()
    started = datetime.now(UTC)
    try:
        _resume(database)
        with _progress_bar() as bars:
            with index_alongside(database, paths, embed=not no_embed):
                results = ingest_paths(
                    database.uow,
                    paths,
                    as_of=reference,
                    now=started,
                    progress=bars.files,
                    on_result=bars.echo,
                    limits=ingest_limits(load_settings()),
                )
            _index(database, bars.index, embed=not no_embed, embed_bar=bars.embed)
        _deliver_alerts(database, since=started, as_json=as_json)
        with database.uow() as uow:
            total = uow.papers.count()
    finally:
        database.dispose()
    _report(results, as_json=as_json, total_papers=total)


Fetch = Callable[[Callable[[int], None] | None], list[PaperRecord]]


def _store_fetched(
    name: str, fetch: Fetch, as_json: bool, *, expected: int | None, embed: bool = True
) -> None:
    """Fetch, then write everything in one transaction; a failed fetch writes nothing.

    On a terminal a counter shows the papers arriving (`expected` is the most there can be).
    """
    from bot.ingest.service import FileResult, store

    database = open_database()
    try:
        _resume(database)
        try:
            with _fetch_progress(name, expected) as on_progress:
                records = fetch(on_progress)
            rejected: list[str] = []
            started = datetime.now(UTC)
            stats = store(database.uow, records, now=started, rejected=rejected, name=name)
            result = FileResult(
                name=name, records=len(records), stats=stats, rejected=tuple(rejected)
            )
        except IngestError as exc:
            result = FileResult(name=name, error=str(exc))
        _print_result(result)
        _index(database, embed=embed and result.ok)
        if result.ok:
            _deliver_alerts(database, since=started, as_json=as_json)
        with database.uow() as uow:
            total = uow.papers.count()
    finally:
        database.dispose()
    _report([result], as_json=as_json, total_papers=total)


@app.command("hf")
def hf(
    day: Annotated[str | None, typer.Option("--date", help="One day, YYYY-MM-DD.")] = None,
    week: Annotated[str | None, typer.Option("--week", help="An ISO week, YYYY-Www.")] = None,
    month: Annotated[str | None, typer.Option("--month", help="A month, YYYY-MM.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100, help="Page size.")] = 100,
    retries: Retries = DEFAULT_RETRIES,
    as_json: AsJson = False,
    no_embed: NoEmbed = False,
) -> None:
    """Fetch Hugging Face daily papers (default: the latest day) and ingest them."""
    chosen = [(k, v) for k, v in (("date", day), ("week", week), ("month", month)) if v]
    if len(chosen) > 1:
        raise UsageError("give at most one of --date, --week and --month")
    settings = load_settings()
    name = "hf daily_papers" + "".join(f" {k}={v}" for k, v in chosen)

    def fetch(on_progress: Callable[[int], None] | None) -> list[PaperRecord]:
        import httpx

        from bot.ingest.fetch_hf import fetch_daily_papers
        from bot.ingest.hf_json import parse_hf_items
        from bot.ingest.http_retry import RetryPolicy

        with httpx.Client(timeout=30, follow_redirects=True) as client:
            items = fetch_daily_papers(
                client,
                settings.hf_api_url,
                date=day,
                week=week,
                month=month,
                limit=limit,
                policy=RetryPolicy(retries=retries),
                on_progress=on_progress,
            )
        return parse_hf_items(items)

    _store_fetched(name, fetch, as_json, expected=None, embed=not no_embed)


@app.command("arxiv")
def arxiv(
    category: Annotated[str, typer.Option("--category", help="arXiv category, e.g. cs.LG.")],
    max_results: Annotated[
        int, typer.Option("--max", min=1, max=30000, help="How many of the newest papers.")
    ] = 100,
    retries: Retries = DEFAULT_RETRIES,
    as_json: AsJson = False,
    no_embed: NoEmbed = False,
) -> None:
    """Fetch the newest papers of an arXiv category (at most one request every 3 s)."""
    settings = load_settings()

    def fetch(on_progress: Callable[[int], None] | None) -> list[PaperRecord]:
        import httpx

        from bot.ingest.fetch_arxiv import fetch_arxiv
        from bot.ingest.http_retry import RetryPolicy

        with httpx.Client(timeout=60, follow_redirects=True) as client:
            return fetch_arxiv(
                client,
                settings.arxiv_api_url,
                category=category,
                max_results=max_results,
                policy=RetryPolicy(retries=retries),
                on_progress=on_progress,
            )

    _store_fetched(
        f"arxiv cat:{category}", fetch, as_json, expected=max_results, embed=not no_embed
    )


def _deliver_alerts(database: Database, *, since: datetime, as_json: bool) -> None:
    # Imported here: alert matching loads the search analyser and the digest runner,
    # which a configuration error or `--help` should never pay for.
    from runtime.alerts import deliver_after_ingest

    deliver_after_ingest(database, since=since, as_json=as_json)
