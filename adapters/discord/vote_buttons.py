"""A card's 👍 N / 👎 N buttons on Discord (channel taste, issue 13).

Dynamic items, like Save and More like N: the paper key is in the custom_id
(`papers:vote:up:<key>`), so buttons on old messages and on digests keep working after a
restart. The answer goes to the voter only.
"""

from __future__ import annotations

import discord

from adapters.discord.views import PAPER_KEY, CommandButton
from bot.commands.types import CastVote, Command
from bot.models import PaperCard

# With up to five cards, Save and More like N fill rows 1 and 2: 👍 N and 👎 N take rows 3
# and 4. Longer lists (trending 25, a digest of 10) have no room left; there the channel
# votes with 👍/👎 reactions on the digest, or from a search.
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


def add_vote_buttons(view: discord.ui.View, cards: tuple[PaperCard, ...]) -> None:
    """👍 N in row 3 and 👎 N in row 4, for lists of up to `MAX_VOTE_CARDS` cards."""
    if not cards or len(cards) > MAX_VOTE_CARDS:
        return
    for i, card in enumerate(cards):
        number = card.rank if card.rank is not None else i + 1
        view.add_item(VoteButton("up", card.paper.key, label=f"👍 {number}", row=3))
        view.add_item(VoteButton("down", card.paper.key, label=f"👎 {number}", row=4))
