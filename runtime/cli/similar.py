"""`papers-bot similar ID [--json]`: the papers most like one paper, from the shell.

The same use case as `/papers similar` and the "More like this" buttons
(`bot.search.similar.SimilarPapers`): the paper itself and its other versions never
appear. Output is `search`'s: a table, or one JSON array best first (DESIGN.md §2 items).
"""

from __future__ import annotations

from typing import Annotated

import typer

from bot.text import clean_text, shorten
from runtime.cli.errors import CliError, UsageError
from runtime.cli.query import JsonOption, LimitOption, print_cards
from runtime.core import build_core


def similar(
    paper: Annotated[
        list[str], typer.Argument(help="An arXiv or ACL Anthology id, a paper link, or a title.")
    ],
    limit: LimitOption = 10,
    as_json: JsonOption = False,
) -> None:
    """Papers like one paper (More like this)."""
    ref = clean_text(" ".join(paper))
    if not ref:
        raise UsageError("similar needs a paper, e.g. papers-bot similar 1706.03762")
    from bot.search.similar import SimilarPapers

    core = build_core()
    try:
        papers = SimilarPapers(core.db.uow, core.search, core.neighbours)
        found = papers.resolve(ref)
        if isinstance(found, str):
            raise CliError(found)
        result = papers.similar_to(found, limit)
    finally:
        core.close()
    title = f"Like: {shorten(found.title, 80)}"
    print_cards(list(result.cards), as_json=as_json, title=title)
