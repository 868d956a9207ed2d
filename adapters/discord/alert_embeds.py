"""Discord rendering of alert messages (issue 14): a header line, one embed per new paper
naming the alerts it matched, or for a burst a summary with a "Show all" button
(`papers:alerts:<delivery id>`, `AlertsAllButton` in `adapters.discord.views`)."""

from __future__ import annotations

import discord

from adapters.discord.embeds import (
    DIGEST_ABSTRACT_CHARS,
    MAX_CONTENT,
    MAX_FIELD_VALUE,
    RenderedMessage,
    _md,
    _pack,
    card_embed,
)
from bot.alerts.models import AlertPost
from bot.models import PaperCard
from bot.text import shorten


def alert_marker(delivery_id: int) -> str:
    """The footer that names an alert delivery, so `find_alert_posted` can find it."""
    return f"papers-bot alerts · delivery {delivery_id}"


def alert_nonce(delivery_id: int, part: int = 0) -> str:
    return f"pa{delivery_id}.{part}"


def render_alerts(post: AlertPost) -> list[RenderedMessage]:
    colour = discord.Colour.green()
    content = f"**{_md(post.title)}**"
    if post.burst:
        more = len(post.items) - len(post.shown_items)
        content += f"\n…and {more} more: press **Show all** to see every one."
    embeds = []
    for i, item in enumerate(post.shown_items):
        embed = card_embed(
            PaperCard(item.paper, rank=i + 1), colour=colour, abstract_chars=DIGEST_ABSTRACT_CHARS
        )
        embed.add_field(
            name="Matched",
            value=shorten(_md("; ".join(item.alerts)), MAX_FIELD_VALUE),
            inline=False,
        )
        embeds.append(embed)
    messages = _pack([], embeds, content=shorten(content, MAX_CONTENT))
    marker = alert_marker(post.delivery_id)
    for i, message in enumerate(messages):
        label = marker if len(messages) == 1 else f"{marker} ({i + 1}/{len(messages)})"
        message.embeds[-1].set_footer(text=label)
    return messages
