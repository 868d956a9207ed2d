"""`papers-bot search` and `papers-bot trending`: ranked papers as a table or JSON.

JSON output is one array, best first; each item has at least id, title, authors (list),
published (ISO date or null), upvotes (int or null), url (or null) and score (DESIGN §2).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.text import clean_text, plural
from runtime.cli.errors import UsageError
from runtime.settings import load_settings

if TYPE_CHECKING:
    from bot.models import PaperCard

LimitOption = Annotated[int, typer.Option("--limit", "-n", min=1, max=100, help="How many papers.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON array.")]


def card_json(card: PaperCard) -> dict[str, Any]:
    paper = card.paper
    return {
        "id": paper.paper_id,
        "key": paper.key,
        "title": paper.title,
        "authors": list(paper.authors),
        "author_count": paper.author_count,
        "published": paper.published.isoformat() if paper.published else None,
        "upvotes": paper.upvotes,
        "comments": paper.comments,
        "url": paper.url,
        "hf_url": paper.hf_url,
        "github_repo": paper.github_repo,
        "score": card.score if card.score is not None else 0.0,
    }


def print_cards(cards: list[PaperCard], *, as_json: bool, title: str) -> None:
    if as_json:
        typer.echo(json.dumps([card_json(c) for c in cards], ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("title")
    table.add_column("published")
    table.add_column("▲", justify="right")
    table.add_column("id")
    for i, card in enumerate(cards, 1):
        p = card.paper
        table.add_row(
            str(i),
            f"{card.score or 0:.3f}",
            p.title,
            p.published.isoformat() if p.published else "",
            str(p.upvotes or ""),
            p.paper_id or "",
        )
    Console().print(table)


def search(
    query: Annotated[list[str], typer.Argument(help="Search terms; quotes, author:, since:.")],
    limit: LimitOption = 10,
    as_json: JsonOption = False,
) -> None:
    """Fuzzy search over titles, authors, keywords and abstracts."""
    text = clean_text(" ".join(query))
    if not text:
        raise UsageError("search needs a query, e.g. papers-bot search diffusion models")
    from bot.search.query import parse_query

    # The chat commands refuse a bad date with the same line (`bot.commands.parser`).
    bad_dates = parse_query(text).invalid_dates
    if bad_dates:
        raise UsageError(
            f"since:{bad_dates[0]} is not a valid date; use YYYY-MM-DD, YYYY-MM or YYYY, "
            "e.g. since:2025-01-31"
        )
    from runtime.index import current_sqlite_index

    settings = load_settings()
    index = current_sqlite_index(settings)
    if index is not None:
        # The index holds every change the database has: no SQLAlchemy, no migrations.
        results = index.search(text[: settings.max_query_length], limit=limit)
        papers = len(index)
    else:
        from runtime.core import build_core

        core = build_core(settings)
        try:
            results = core.search.search(text[: settings.max_query_length], limit=limit)
            papers = len(core.search)
        finally:
            core.close()
    if not results.cards:
        # On stderr: `--json` keeps printing one array on stdout.
        typer.echo(f"No papers match “{text}”.", err=True)
        if papers == 0:
            typer.echo(
                "The database has no papers yet: run `papers-bot ingest seeds` or "
                "`papers-bot ingest file FILE`.",
                err=True,
            )
        if not as_json:
            return
    print_cards(list(results.cards), as_json=as_json, title=f"Search: {text}")


def trending(
    days: Annotated[int, typer.Option("--days", min=1, max=365, help="Window in days.")] = 3,
    limit: LimitOption = 10,
    as_json: JsonOption = False,
) -> None:
    """The hottest papers of the last days, by upvotes, growth and recency."""
    from bot.trending.score import TrendingQuery, top_trending
    from runtime.core import open_database

    database = open_database()
    with database.uow() as uow:
        result = top_trending(uow, TrendingQuery(now=datetime.now(UTC), days=days, limit=limit))
    if result.widened and not as_json:
        typer.echo(
            f"nothing new in the last {plural(days, 'day')}; showing the most recent papers",
            err=True,
        )
    print_cards(list(result.cards), as_json=as_json, title="Trending papers")
