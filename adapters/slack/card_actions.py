"""A card's own buttons beyond Save: "More like this" (issue 12), and the "⋯" menu that
holds Save and More like this on lists too long for a button row per card.

A card is its section (Save as the accessory) plus an actions row with "More like this".
That costs a block per card, so up to `CARD_ROWS_MAX` cards; a longer list (trending 25)
would pass Slack's 50 blocks per message, so there the accessory is a "⋯" menu holding
both, and each card stays one block. Values name the stored paper by key.
"""

from __future__ import annotations

from slack_sdk.models.blocks import ButtonElement, Option, OverflowMenuElement, PlainTextObject

from bot.commands.types import Command, Save, Similar
from bot.models import PaperCard

ACTION_SIMILAR = "papers_similar"
ACTION_CARD_MENU = "papers_card_menu"
CARD_ROWS_MAX = 12


def similar_button(card: PaperCard) -> ButtonElement:
    """The card's "More like this" button: papers like this one (by key)."""
    return ButtonElement(
        text="More like this", action_id=ACTION_SIMILAR, value=f"similar:{card.paper.key}"
    )


def card_menu(card: PaperCard) -> OverflowMenuElement:
    """Save and More like this in one "⋯" menu, for lists too long for a row per card."""
    key = card.paper.key
    return OverflowMenuElement(
        action_id=ACTION_CARD_MENU,
        options=[
            Option(text=PlainTextObject(text="Save"), value=f"save:{key}"),
            Option(text=PlainTextObject(text="More like this"), value=f"similar:{key}"),
        ],
    )


def card_action_command(value: str | None) -> Command | None:
    """The command behind a card button or menu value (`similar:KEY`, `save:KEY`); None for
    anything we did not produce (button values come back from the client)."""
    kind, _, key = (value or "").partition(":")
    if not (key.isascii() and key.isdigit() and 0 < len(key) <= 18):
        return None
    if kind == "similar":
        return Similar(paper_key=int(key))
    if kind == "save":
        return Save(paper_key=int(key))
    return None
