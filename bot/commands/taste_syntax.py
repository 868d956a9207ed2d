"""How `taste` and `vote` read their words (channel taste, issue 13); `parser.py` lists
the verbs, this module reads what follows them."""

from __future__ import annotations

from bot.commands.types import CastVote, Command, Invalid, ResetTaste, SetTaste, ShowTaste
from bot.text import shorten

__all__ = ["read_taste", "read_vote"]

_UP = {"up", "+", "+1", "👍", "like", "yes"}
_DOWN = {"down", "-", "-1", "👎", "dislike", "no"}


def read_taste(rest: str, _max_length: int) -> Command:
    action = rest.split()[0].lower() if rest else ""
    if not action:
        return ShowTaste()
    if action in {"reset", "forget", "clear"}:
        return ResetTaste()
    if action in {"off", "disable", "stop"}:
        return SetTaste(enabled=False)
    if action in {"on", "enable", "start"}:
        return SetTaste(enabled=True)
    return Invalid(
        error=f"`taste {shorten(action, 20)}`: try `taste`, `taste reset`, `taste off` "
        "or `taste on`.",
        attempted="taste",
    )


def read_vote(rest: str, _max_length: int) -> Command:
    tokens = rest.split()
    direction = tokens[0].lower() if tokens else ""
    if direction not in _UP | _DOWN or len(tokens) < 2:
        return Invalid(
            error="Say which way and which paper, e.g. `vote up 2401.12345` or "
            "`vote down 2401.12345` (or press 👍/👎 on a card).",
            attempted="vote",
        )
    return CastVote(value=1 if direction in _UP else -1, ref=shorten(tokens[1], 300, ""))
