"""`similar ID|URL|title` and the "More like this" buttons: reading the command, answering it.

The finding itself (resolving the paper, neighbours, dropping the paper and its versions)
is `bot.search.similar.SimilarPapers`; this module turns it into a paged `Reply`. The
reply carries a `PageCursor("similar", KEY, …)`, so Next/Previous and Share replay it by
the paper's key through `bot.commands.parser.replay`, like a search.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.commands.types import Command, Help, Similar
from bot.models import CommandRequest, PageCursor, Reply, ReplyKind
from bot.search.similar import SimilarPapers
from bot.text import clean_text, shorten

__all__ = ["MAX_SIMILAR", "SimilarCommands", "similar_command"]

# How far "More like this" pages: beyond this, neighbours say little about the paper.
MAX_SIMILAR = 50
MAX_CARD_NUMBER = 999
REF_MAX = 300
TITLE_SHOWN = 120
_QUOTES = "\"'“”‘’«»"
NUMBERS_ELSEWHERE = (
    "Card numbers work in the console only. Give an arXiv id, a link or a title, "
    "or press “More like this” on a card."
)


def similar_command(rest: str, _max_length: int = REF_MAX) -> Command:
    """`similar 2401.12345`, `similar https://…`, `similar "attention is all you need"`,
    and in the console `similar 3` (the number of a card shown before)."""
    ref = clean_text(rest).strip().strip(_QUOTES).strip()
    if not ref:
        return Help(
            notes=("Tell me which paper: `similar 2401.12345`, a link or the paper's title.",)
        )
    number = ref.removeprefix("#")
    if number.isascii() and number.isdigit() and len(number) <= len(str(MAX_CARD_NUMBER)):
        return Similar(number=int(number))
    return Similar(ref=shorten(ref, REF_MAX, ""))


class SimilarCommands:
    """The `Similar` handler, registered in `CommandCore` by command class."""

    def __init__(self, papers: SimilarPapers, page_size: int) -> None:
        self.papers = papers
        self.page_size = max(1, page_size)

    def handlers(self) -> dict[type[Command], Callable[[Any, CommandRequest], Reply]]:
        return {Similar: self.similar}

    def similar(self, command: Similar, request: CommandRequest) -> Reply:
        if command.paper_key is not None:
            paper = self.papers.by_key(command.paper_key)
        elif command.number is not None:
            paper = NUMBERS_ELSEWHERE
        else:
            paper = self.papers.resolve(command.ref)
        if isinstance(paper, str):
            return Reply(ReplyKind.ERROR, paper, title="More like this", notes=command.notes)
        title = shorten(clean_text(paper.title), TITLE_SHOWN)
        size = self.page_size
        offset = min(max(0, request.offset), MAX_SIMILAR - 1)
        # One more than the page, to know whether a next page exists.
        wanted = min(offset + size + 1, MAX_SIMILAR)
        result = self.papers.similar_to(paper, wanted)
        page = result.cards[offset : offset + size]
        if not page:
            text = "No more papers like it." if offset else f"I found no papers like “{title}”."
            return Reply(ReplyKind.INFO, text, title="More like this", notes=command.notes)
        total = len(result.cards)
        cursor = PageCursor("similar", str(paper.key), offset, size, total)
        text = f"Papers like “{title}”"
        if offset or total > size:
            text = f"Papers {offset + 1}–{offset + len(page)} like “{title}”"
        return Reply(
            ReplyKind.SEARCH,
            text,
            cards=page,
            cursor=cursor,
            notes=command.notes,
            title="More like this",
        )
