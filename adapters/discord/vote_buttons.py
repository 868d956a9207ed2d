"""A card's 👍 N / 👎 N buttons on Discord (channel taste, issue 13), and for longer lists
one 👍 / 👎 menu (`VoteMenu`).

Dynamic items, like Save and More like N: the paper key is in the custom_id
(`papers:vote:up:<key>`) or in the menu option's value (`up:<key>`), so buttons and menus
on old messages and on digests keep working after a restart. The answer goes to the
voter only.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

import discord

from adapters.discord.views import PAPER_KEY, CommandButton, answer_button, send_reply
from bot.commands.types import CastVote, Command
from bot.models import PaperCard, Reply, ReplyKind
from bot.text import shorten

# With up to five cards, Save and More like N fill rows 1 and 2: 👍 N and 👎 N take rows 3
# and 4. Longer lists (trending 25, a digest of 10) have no room for them: see `VoteMenu`.
MAX_VOTE_CARDS = 5


class VoteButton(
    CommandButton,
    name="vote",
    fields={"way": "up|down", "key": PAPER_KEY},
    style=discord.ButtonStyle.secondary,
    label="Vote",
):
    """A card's 👍 or 👎: the channel's taste learns from it (answered to the voter only)."""

    def command(self) -> Command:
        return CastVote(
            value=1 if self.fields["way"] == "up" else -1, paper_key=int(self.fields["key"])
        )


# A longer list votes through one select menu, where a row is free: 👍 and 👎 per card,
# and Discord allows 25 options.
VOTE_MENU_CARDS = 12
VOTE_OPTION = re.compile(rf"(?P<way>up|down):(?P<key>{PAPER_KEY})")
EXPIRED = "That menu has expired. Run the command again to vote."


class VoteMenu(discord.ui.DynamicItem[discord.ui.Select[Any]], template=r"papers:votes"):
    """👍 / 👎 on any card of a list too long for vote buttons: one option per card and
    way, whose value (`up:<key>`) says it all, so old menus keep working like buttons."""

    def __init__(self, options: list[discord.SelectOption]) -> None:
        menu = discord.ui.Select[Any](
            custom_id="papers:votes", placeholder="👍 / 👎 a paper…", options=options
        )
        super().__init__(menu)

    @classmethod
    def for_cards(cls, cards: tuple[PaperCard, ...]) -> VoteMenu:
        options = []
        for i, card in enumerate(cards[:VOTE_MENU_CARDS]):
            number = card.rank if card.rank is not None else i + 1
            title = shorten(card.paper.title, 80)
            for way, thumb in (("up", "👍"), ("down", "👎")):
                label = f"{thumb} {number} · {title}"
                options.append(discord.SelectOption(label=label, value=f"{way}:{card.paper.key}"))
        return cls(options)

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> VoteMenu:
        return cls(list(getattr(item, "options", [])))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        values = self.item.values
        chosen = VOTE_OPTION.fullmatch(values[0]) if len(values) == 1 else None
        if chosen is None:
            await send_reply(interaction, Reply(ReplyKind.ERROR, EXPIRED), kv=None)
            return
        vote = CastVote(value=1 if chosen["way"] == "up" else -1, paper_key=int(chosen["key"]))
        await answer_button(interaction, vote)


def add_vote_buttons(view: discord.ui.View, cards: tuple[PaperCard, ...]) -> None:
    """👍 N in row 3 and 👎 N in row 4 for lists of up to `MAX_VOTE_CARDS` cards; for a
    longer one, a `VoteMenu` of its first `VOTE_MENU_CARDS` in the first free row, if any
    (a digest's row 0; not when paging and four rows of card buttons fill the message)."""
    if not cards:
        return
    if len(cards) > MAX_VOTE_CARDS:
        with contextlib.suppress(ValueError):  # discord.py: no row has room for it
            view.add_item(VoteMenu.for_cards(cards))
        return
    for i, card in enumerate(cards):
        number = card.rank if card.rank is not None else i + 1
        view.add_item(VoteButton("up", card.paper.key, label=f"👍 {number}", row=3))
        view.add_item(VoteButton("down", card.paper.key, label=f"👎 {number}", row=4))
