"""Block Kit rendering of core replies, digests and unfurls, within Slack's limits.

Every piece of paper or user text goes through `escape()` before it lands in mrkdwn, so a
title such as `<!channel>` renders literally and pings no one. Plain-text objects (header,
buttons) are not parsed for mentions and are only shortened. Blocks are built with
slack_sdk's models, whose validators enforce the per-block limits; `fit_message` then
enforces the per-message ones (block count, total size) by dropping whole cards.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from adapters.slack.card_actions import CARD_ROWS_MAX, card_menu, similar_button
from adapters.slack.mrkdwn import escape, link, safe_text, safe_url, user_mention
from bot.models import Digest, ListedPaper, PageCursor, PaperCard, Reply, ReplyKind
from bot.paging import MAX_LIMIT, button_int
from bot.text import clean_text, plural, shorten

MAX_BLOCKS = 50
SECTION_MAX = 3000
HEADER_MAX = 150
CONTEXT_ELEMENTS_MAX = 10
# Slack's hard cap on a message is far above this, but long messages get collapsed and
# slow to render; DESIGN.md §4 asks to stay well under ~12k characters.
MESSAGE_CHAR_BUDGET = 11_000
BUTTON_VALUE_MAX = 2000

TITLE_MAX = 250
AUTHORS_SHOWN = 3
AUTHOR_NAME_MAX = 80
ABSTRACT_MAX = 400
FALLBACK_TEXT_MAX = 3000

ACTION_NEXT = "papers_next"
ACTION_PREVIOUS = "papers_previous"
ACTION_SHARE = "papers_share"
ACTION_SAVE = "papers_save"
# Channel taste (issue 13): 👍 / 👎 on a card; the value is the paper key.
ACTION_VOTE_UP = "papers_vote_up"
ACTION_VOTE_DOWN = "papers_vote_down"
WHY_MAX = 200
LISTING_SHOWN = 40


def plain(text: str, limit: int) -> PlainTextObject:
    return PlainTextObject(text=shorten(clean_text(text), limit) or " ", emoji=True)


def authors_text(card: PaperCard) -> str:
    paper = card.paper
    present = [a for a in paper.authors if a and a.strip()]
    # Only the shown names are normalised: a paper may list hundreds of authors.
    names = [safe_text(a, AUTHOR_NAME_MAX) for a in card.shown_authors(AUTHORS_SHOWN)]
    total = max(len(present), paper.author_count or 0)
    if not names:
        return plural(total, "author") if total else ""
    shown = ", ".join(names)
    return f"{shown} et al." if total > AUTHORS_SHOWN else shown


def card_text(card: PaperCard, *, abstract_limit: int = ABSTRACT_MAX) -> str:
    """The mrkdwn of one paper card: linked title, authors, date, upvotes, abstract, links."""
    paper = card.paper
    title = safe_text(paper.title, TITLE_MAX) or "(untitled)"
    prefix = f"{card.rank}. " if card.rank else ""
    lines = [f"{prefix}*{link(paper.url, title)}*"]
    meta = [authors_text(card)]
    if paper.published:
        meta.append(paper.published.isoformat())
    if paper.upvotes is not None:
        meta.append(f"▲ {paper.upvotes}")
    meta = [m for m in meta if m]
    if meta:
        lines.append(" · ".join(meta))
    if abstract_limit > 0 and paper.abstract:
        lines.append(f">{safe_text(paper.abstract, abstract_limit)}")
    links = []
    if paper.arxiv_url:
        links.append(link(paper.arxiv_url, "arXiv"))
    if paper.hf_url:
        links.append(link(paper.hf_url, "Hugging Face"))
    if paper.url and not paper.is_arxiv:
        links.append(link(paper.url, "Paper"))
    if paper.search_url:
        links.append(link(paper.search_url, "Search arXiv"))
    # Other versions of the same work, each with its own link.
    links += [link(url, safe_text(label, TITLE_MAX)) for label, url in card.version_links()]
    code = safe_url(paper.github_repo)
    if code:
        links.append(f"<{code}|Code>")
    if links:
        lines.append(" | ".join(links))
    if card.why:
        # Channel taste: why the digest chose this paper (our text, with a paper title in it).
        lines.append(f"_{safe_text(card.why, WHY_MAX)}_")
    if card.topic:
        # A digest says which of the subscription's topics the paper matched.
        lines.append(f"_topic: {safe_text(card.topic, TITLE_MAX)}_")
    if card.first_share is not None:
        # Link memory: a mention only for a real user id (user_mention), never a broadcast.
        first = card.first_share
        when = first.shared_at.date().isoformat()
        lines.append(f"_first shared here by {user_mention(first.shared_by)} on {when}_")
    text = "\n".join(lines)
    # The parts above are capped well below the section limit; this is the last line of defence.
    return text if len(text) <= SECTION_MAX else text[: SECTION_MAX - 1] + "…"


def abstract_budget(card_count: int) -> int:
    """Abstract length per card so that a page of `card_count` cards fits the budget."""
    if card_count <= 0:
        return ABSTRACT_MAX
    per_card = MESSAGE_CHAR_BUDGET // card_count - 500
    return max(0, min(ABSTRACT_MAX, per_card))


def save_button(card: PaperCard) -> ButtonElement:
    """The card's "Save" button: puts the paper on the channel's reading list (by key)."""
    return ButtonElement(text="Save", action_id=ACTION_SAVE, value=str(card.paper.key))


def vote_buttons(card: PaperCard) -> list[ButtonElement]:
    """👍 and 👎 for the card's paper, beside "More like this" (lists of up to 12 cards: a
    longer list's "⋯" menus would not fit the message with them); the channel's taste
    learns from them."""
    key = str(card.paper.key)
    return [
        ButtonElement(text=plain("👍", 10), action_id=ACTION_VOTE_UP, value=key),
        ButtonElement(text=plain("👎", 10), action_id=ACTION_VOTE_DOWN, value=key),
    ]


def card_blocks(
    card: PaperCard, *, abstract_limit: int = ABSTRACT_MAX, compact: bool = False
) -> list[Block]:
    text = MarkdownTextObject(text=card_text(card, abstract_limit=abstract_limit))
    if compact:
        return [SectionBlock(text=text, accessory=card_menu(card))]
    return [
        SectionBlock(text=text, accessory=save_button(card)),
        ActionsBlock(elements=[similar_button(card), *vote_buttons(card)]),
    ]


def listed_text(entry: ListedPaper) -> str:
    """One reading-list entry: number, linked title, status, who saved it, the presenter."""
    paper, saved = entry.paper, entry.saved
    title = safe_text(paper.title, TITLE_MAX) or "(untitled)"
    meta = [
        saved.status.value,
        f"saved by {user_mention(saved.saved_by)} on {saved.saved_at.date().isoformat()}",
    ]
    if saved.assignee:
        meta.append(f"presented by {user_mention(saved.assignee)}")
    return f"*{entry.position}.* {link(paper.url, title)}\n{' · '.join(meta)}"


def listing_blocks(listing: tuple[ListedPaper, ...]) -> list[Block]:
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=listed_text(e))) for e in listing[:LISTING_SHOWN]
    ]
    if len(listing) > LISTING_SHOWN:
        more = len(listing) - LISTING_SHOWN
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text=f"…and {more} more; export the list.")])
        )
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="`/papers list done N` · `list remove N` · `list assign N @someone` · "
                    "`list export bibtex`"
                )
            ]
        )
    )
    return blocks


def code_block(code: str) -> SectionBlock:
    """Preformatted text (BibTeX) in a code block; escaped, and cut to the section limit."""
    body = escape(code.rstrip()).replace("```", "` ` `")
    if len(body) > SECTION_MAX - 8:
        body = body[: SECTION_MAX - 9] + "…"
    return SectionBlock(text=MarkdownTextObject(text=f"```{body}```"))


@dataclass
class SlackMessage:
    """What to send: fallback `text` (notifications, screen readers) and the blocks."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def block_dicts(self) -> list[dict[str, Any]]:
        return [b.to_dict() for b in self.blocks]

    def total_chars(self) -> int:
        return len(json.dumps(self.block_dicts(), ensure_ascii=False))


def _notes_block(notes: list[str]) -> ContextBlock | None:
    notes = [n for n in notes if n]
    if not notes:
        return None
    return ContextBlock(
        elements=[
            MarkdownTextObject(text=safe_text(n, SECTION_MAX // 2))
            for n in notes[:CONTEXT_ELEMENTS_MAX]
        ]
    )


def encode_cursor(cursor: PageCursor) -> str:
    """Button value carrying what is needed to re-run a page: command, query, offset."""
    data = {"c": cursor.command, "q": cursor.query, "o": cursor.offset}
    value = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    if len(value) > BUTTON_VALUE_MAX:
        data["q"] = shorten(cursor.query, 500, "")
        value = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return value


@dataclass(frozen=True, slots=True)
class ButtonState:
    """A decoded button value; `command` is "search", "trending" or "similar"."""

    command: str
    query: str = ""
    offset: int = 0
    count: int | None = None


def decode_button(value: str | None) -> ButtonState | None:
    """Parse a button value we produced; None for anything malformed (never raises)."""
    if not value:
        return None
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("c") not in {"search", "trending", "similar"}:
        return None
    query = data.get("q", "")
    # Button values come back from the client: any JSON at all may arrive here.
    offset = button_int(data.get("o", 0))
    count = data.get("n")
    if not isinstance(query, str) or offset is None:
        return None
    if count is not None and button_int(count, maximum=MAX_LIMIT) is None:
        return None
    return ButtonState(data["c"], clean_text(query), offset, count)


def _actions(reply: Reply, *, paging: bool, share: bool) -> ActionsBlock | None:
    buttons: list[ButtonElement] = []
    cursor = reply.cursor
    if paging and cursor is not None:
        if cursor.has_previous:
            buttons.append(
                ButtonElement(
                    text="◀ Previous",
                    action_id=ACTION_PREVIOUS,
                    value=encode_cursor(cursor.previous()),
                )
            )
        if cursor.has_next:
            buttons.append(
                ButtonElement(
                    text="Next ▶", action_id=ACTION_NEXT, value=encode_cursor(cursor.next())
                )
            )
    if share and reply.cards:
        if cursor is not None:
            value = encode_cursor(cursor)
        else:
            value = json.dumps({"c": "trending", "n": len(reply.cards)}, separators=(",", ":"))
        buttons.append(
            ButtonElement(
                text="Share to channel", action_id=ACTION_SHARE, value=value, style="primary"
            )
        )
    return ActionsBlock(elements=buttons) if buttons else None


def render_cards(cards: list[PaperCard] | tuple[PaperCard, ...]) -> list[Block]:
    limit = abstract_budget(len(cards))
    blocks: list[Block] = []
    dividers = len(cards) <= 12
    compact = len(cards) > CARD_ROWS_MAX
    for i, card in enumerate(cards):
        if dividers and i:
            blocks.append(DividerBlock())
        blocks.extend(card_blocks(card, abstract_limit=limit, compact=compact))
    return blocks


def fit_message(
    head: list[Block],
    cards: list[PaperCard] | tuple[PaperCard, ...],
    tail: list[Block],
    text: str,
) -> SlackMessage:
    """Assemble head + cards + tail, dropping trailing cards until Slack's limits hold."""
    cards = list(cards)
    # Every card takes at least one block; start from the most that could possibly fit.
    room = max(0, MAX_BLOCKS - len(head) - len(tail) - 1)
    shown = min(len(cards), room)
    while True:
        dropped = len(cards) - shown
        body = render_cards(cards[:shown])
        extra: list[Block] = []
        if dropped:
            extra.append(
                ContextBlock(
                    elements=[
                        MarkdownTextObject(
                            text=f"…and {dropped} more not shown (message size limit)."
                        )
                    ]
                )
            )
        message = SlackMessage(text=text, blocks=[*head, *body, *extra, *tail])
        block_excess = len(message.blocks) - MAX_BLOCKS
        chars = message.total_chars()
        if (block_excess <= 0 and chars <= MESSAGE_CHAR_BUDGET) or shown == 0:
            return message
        # Shrink proportionally to the overshoot, by at least one card per round.
        by_chars = shown * MESSAGE_CHAR_BUDGET // chars if chars > MESSAGE_CHAR_BUDGET else shown
        shown = max(0, min(shown - 1, shown - max(block_excess, 0), by_chars))


def fallback_text(reply_text: str, cards: list[PaperCard] | tuple[PaperCard, ...]) -> str:
    """Top-level `text`: shown in notifications; mrkdwn, so escaped like the blocks."""
    parts = [safe_text(reply_text, 500)]
    parts += [f"• {safe_text(c.paper.title, 150)}" for c in cards[:5]]
    return shorten("\n".join(p for p in parts if p), FALLBACK_TEXT_MAX)


def render_reply(
    reply: Reply,
    *,
    paging: bool = True,
    share: bool = True,
    shared_by: str | None = None,
) -> SlackMessage:
    """Render a core `Reply`. Search/trending get paging and share buttons when asked."""
    head: list[Block] = []
    if reply.title and reply.kind not in {ReplyKind.ERROR, ReplyKind.INFO}:
        head.append(HeaderBlock(text=plain(reply.title, HEADER_MAX)))
    intro = safe_text(reply.text, SECTION_MAX - 10)
    if reply.kind == ReplyKind.ERROR:
        intro = f":warning: {intro}"
    if reply.kind == ReplyKind.HELP:
        # Help text is our own, written in mrkdwn with backticks; it carries no user input.
        intro = shorten(reply.text, SECTION_MAX)
    if reply.kind == ReplyKind.TASTE:
        # The taste summary is one fact per line; each line is escaped on its own.
        intro = "\n".join(safe_text(line, 600) for line in reply.text.splitlines()[:8])
    if intro:
        head.append(SectionBlock(text=MarkdownTextObject(text=intro)))
    if reply.listing:
        head.extend(listing_blocks(reply.listing))
    if reply.code:
        head.append(code_block(reply.code))
    tail: list[Block] = []
    notes_block = _notes_block(list(reply.notes))
    if notes_block:
        tail.append(notes_block)
    if shared_by:
        tail.append(
            ContextBlock(elements=[MarkdownTextObject(text=f"Shared by {user_mention(shared_by)}")])
        )
    actions = _actions(reply, paging=paging, share=share)
    if actions:
        tail.append(actions)
    return fit_message(head, reply.cards, tail, fallback_text(reply.text, reply.cards))


def render_digest(digest: Digest) -> SlackMessage:
    """A scheduled digest: header with the date, the cards, then a "More" link."""
    head: list[Block] = [
        HeaderBlock(text=plain(digest.title, HEADER_MAX)),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"Trending papers for {digest.digest_date.isoformat()}"
                    f" · {plural(len(digest.cards), 'paper')}"
                )
            ]
        ),
    ]
    tail: list[Block] = []
    more = safe_url(digest.more_url)
    if more:
        tail.append(SectionBlock(text=MarkdownTextObject(text=f"<{more}|More trending papers →>")))
    text = fallback_text(f"{digest.title} ({digest.digest_date.isoformat()})", digest.cards)
    return fit_message(head, digest.cards, tail, text)


def render_unfurl(card: PaperCard) -> dict[str, Any]:
    """The `unfurls[url]` value for chat.unfurl: the paper card as blocks."""
    return {"blocks": [b.to_dict() for b in card_blocks(card)]}
