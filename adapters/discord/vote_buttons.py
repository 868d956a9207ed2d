"""A card's 👍 N / 👎 N buttons on Discord (channel taste, issue 13).

Dynamic items, like Save and More like N: the paper key is in the custom_id
(`papers:vote:up:<key>`), so buttons on old messages and on digests keep working after a
restart. The answer goes to the voter only.
"""

from __future__ import annotations

import re
from typing import Any

import discord

from adapters.discord.views import answer_button
from bot.commands.types import CastVote
from bot.models import PaperCard

VOTE_TEMPLATE = re.compile(r"papers:vote:(?P<way>up|down):(?P<key>\d{1,18})")
# With up to five cards, Save and More like N fill rows 1 and 2: 👍 N and 👎 N take rows 3
# and 4. Longer lists (trending 25, a digest of 10) have no room left; there the channel
# votes with 👍/👎 reactions on the digest, or from a search.
MAX_VOTE_CARDS = 5


class VoteButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=VOTE_TEMPLATE):
    """A card's 👍 or 👎: the channel's taste learns from it (answered to the voter only)."""

    def __init__(self, way: str, key: int, *, label: str, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.secondary,
                label=label,
                custom_id=f"papers:vote:{way}:{key}",
                row=row,
            )
        )
        self.way = way
        self.key = key

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> VoteButton:
        label = getattr(item, "label", None) or ("👍" if match["way"] == "up" else "👎")
        return cls(match["way"], int(match["key"]), label=label)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        vote = CastVote(value=1 if self.way == "up" else -1, paper_key=self.key)
        await answer_button(interaction, vote)


def add_vote_buttons(view: discord.ui.View, cards: tuple[PaperCard, ...]) -> None:
    """👍 N in row 3 and 👎 N in row 4, for lists of up to `MAX_VOTE_CARDS` cards."""
    if not cards or len(cards) > MAX_VOTE_CARDS:
        return
    for i, card in enumerate(cards):
        number = card.rank if card.rank is not None else i + 1
        view.add_item(VoteButton("up", card.paper.key, label=f"👍 {number}", row=3))
        view.add_item(VoteButton("down", card.paper.key, label=f"👎 {number}", row=4))
