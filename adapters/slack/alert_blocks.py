"""Slack rendering of alert messages (issue 14): one card per new paper naming the alerts
it matched, or for a burst a summary with a "Show all" button (`ACTION_ALERTS_ALL`,
value: the delivery id) that opens every paper of the delivery for the person who clicks.
"""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from adapters.slack.blocks import (
    ABSTRACT_MAX,
    HEADER_MAX,
    MAX_BLOCKS,
    SlackMessage,
    card_blocks,
    plain,
)
from adapters.slack.mrkdwn import safe_text
from bot.alerts.models import AlertItem, AlertPost
from bot.models import PaperCard
from bot.text import shorten

ACTION_ALERTS_ALL = "papers_alerts_all"
_MATCHED_MAX = 300


def matched_line(item: AlertItem) -> ContextBlock:
    text = "Matched " + "; ".join(item.alerts)
    return ContextBlock(elements=[MarkdownTextObject(text=safe_text(text, _MATCHED_MAX))])


def render_alerts(post: AlertPost) -> SlackMessage:
    """Header, then each shown paper with its matched alerts; a burst adds "Show all"."""
    blocks: list[Block] = [HeaderBlock(text=plain(post.title, HEADER_MAX))]
    shown = post.shown_items
    abstract = ABSTRACT_MAX if len(shown) <= 3 else 200
    for i, item in enumerate(shown):
        if i:
            blocks.append(DividerBlock())
        blocks.extend(card_blocks(PaperCard(item.paper, rank=i + 1), abstract_limit=abstract))
        blocks.append(matched_line(item))
    blocks = blocks[: MAX_BLOCKS - 2]
    if post.burst:
        more = len(post.items) - len(shown)
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(text=f"…and {more} more new papers for this channel.")
            )
        )
        blocks.append(
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text=f"Show all {len(post.items)}",
                        action_id=ACTION_ALERTS_ALL,
                        value=str(post.delivery_id),
                        style="primary",
                    )
                ]
            )
        )
    titles = "\n".join(f"• {safe_text(i.paper.title, 150)}" for i in shown)
    return SlackMessage(text=shorten(f"{post.title}\n{titles}", 3000), blocks=blocks)
