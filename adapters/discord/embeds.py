"""Renders the core's neutral `Reply` and `Digest` as Discord embeds, within Discord's limits.

Limits (DESIGN.md §4): 10 embeds per message, 6000 characters across a message's embeds,
title 256, description 4096, 25 fields, field name 256 / value 1024, footer 2048, content
2000. Rendering never fails on long input: text is trimmed at a word boundary and a reply
with more cards than fit one message is split into several messages (the caller sends the
extra ones as follow-ups), in the spirit of Red-DiscordBot's `pagify`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import discord

from bot.models import Digest, ListedPaper, Paper, PaperCard, Reply, ReplyKind
from bot.text import clean_text, plural, safe_url, shorten

MAX_EMBEDS = 10
MAX_TOTAL = 6000
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FOOTER = 2048
MAX_CONTENT = 2000
# Head-room under the 6000 total so a footer or note added late never tips a message over.
_TOTAL_BUDGET = MAX_TOTAL - 200
# An abstract is a teaser, not the paper: long ones crowd out the other results.
ABSTRACT_CHARS = 500
DIGEST_ABSTRACT_CHARS = 280
MAX_AUTHORS_SHOWN = 6

COLOURS: dict[ReplyKind, discord.Colour] = {
    ReplyKind.SEARCH: discord.Colour.blurple(),
    ReplyKind.TRENDING: discord.Colour.orange(),
    ReplyKind.SUBSCRIPTION: discord.Colour.green(),
    ReplyKind.HELP: discord.Colour.light_grey(),
    ReplyKind.INFO: discord.Colour.light_grey(),
    ReplyKind.ERROR: discord.Colour.red(),
    ReplyKind.READING_LIST: discord.Colour.teal(),
    ReplyKind.CITATION: discord.Colour.dark_teal(),
}
_SNOWFLAKE = re.compile(r"^\d{15,21}$")


@dataclass
class RenderedMessage:
    """One Discord message: optional plain content plus at most 10 embeds."""

    content: str | None = None
    embeds: list[discord.Embed] = field(default_factory=list)

    @property
    def total_chars(self) -> int:
        return sum(len(e) for e in self.embeds)


def _md(text: str) -> str:
    """Paper text is data, not markup: `*`, `_`, `~`, `|` and backticks are shown literally."""
    return discord.utils.escape_markdown(clean_text(text))


def _split_text(text: str, limit: int) -> list[str]:
    """Cut text into chunks of at most `limit` characters, preferring line, then word breaks."""
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = rest.rfind(" ", 0, limit)
        if cut < limit // 2:
            cut = limit
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    if rest:
        chunks.append(rest)
    return chunks or [""]


def _authors_line(card: PaperCard) -> str | None:
    paper = card.paper
    if paper.authors:
        shown = ", ".join(clean_text(a) for a in card.shown_authors(MAX_AUTHORS_SHOWN))
        total = max(len(paper.authors), paper.author_count or 0)
        if total > MAX_AUTHORS_SHOWN:
            shown += f" et al. ({total} authors)"
        return shown
    if paper.author_count:
        return plural(paper.author_count, "author")
    if paper.organization:
        return clean_text(paper.organization)
    return None


def _links(paper: Paper, versions: Sequence[tuple[str, str]] = ()) -> str | None:
    # Every target goes through the shared validator: ids, repos and project pages come
    # from sources anyone can edit, and a `)` in one would start a second, forged link.
    targets: list[tuple[str, str | None]] = [
        ("arXiv", paper.arxiv_url),
        ("Hugging Face", paper.hf_url),
        ("Paper", None if paper.is_arxiv else paper.url),
        ("Search arXiv", paper.search_url),
        ("Code", paper.github_repo),
        ("Project", paper.project_page),
    ]
    # Other versions of the same work (an ACL Anthology paper of an arXiv preprint).
    targets += [(_md(label), url) for label, url in versions]
    links = [f"[{label}]({href})" for label, url in targets if (href := safe_url(url))]
    return " · ".join(links) or None


def card_embed(
    card: PaperCard,
    *,
    colour: discord.Colour | None = None,
    abstract_chars: int = ABSTRACT_CHARS,
) -> discord.Embed:
    """One paper as one embed: linked title, authors, a trimmed abstract and metadata fields."""
    paper = card.paper
    prefix = f"{card.rank}. " if card.rank is not None else ""
    title = shorten(prefix + clean_text(paper.title), MAX_TITLE)
    url = safe_url(paper.url or paper.hf_url)
    parts: list[str] = []
    authors = _authors_line(card)
    if authors:
        parts.append(f"*{shorten(_md(authors), 400)}*")
    summary = paper.ai_summary or paper.abstract
    if summary and abstract_chars > 0:
        parts.append(shorten(_md(summary), abstract_chars))
    if card.why:
        # Channel taste (issue 13): why the digest chose this paper.
        parts.append(f"-# {shorten(_md(card.why), 200)}")
    if card.topic:
        # A digest says which of the subscription's topics the paper matched.
        parts.append(f"-# Topic: {shorten(_md(card.topic), 100)}")
    if card.first_share is not None:
        # Link memory; sent with AllowedMentions.none(), so the mention never pings.
        first = card.first_share
        when = first.shared_at.date().isoformat()
        parts.append(f"-# First shared here by {user_mention(first.shared_by)} on {when}")
    embed = discord.Embed(
        title=title,
        url=url,
        description=shorten("\n".join(parts), MAX_DESCRIPTION) or None,
        colour=colour,
    )
    if paper.published:
        embed.add_field(name="Published", value=paper.published.isoformat(), inline=True)
    if paper.upvotes is not None:
        embed.add_field(name="Upvotes", value=str(paper.upvotes), inline=True)
    links = _links(paper, card.version_links())
    if links:
        embed.add_field(name="Links", value=shorten(links, MAX_FIELD_VALUE), inline=True)
    return embed


# `*bold*` as Slack mrkdwn writes it: no `*` or newline inside, no letter glued outside.
_MRKDWN_BOLD = re.compile(r"(?<![*\w])\*(?=[^\s*])([^*\n]*?[^\s*])\*(?![*\w])")
_CODE_SPAN = re.compile(r"(`[^`\n]*`)")


def mrkdwn_to_markdown(text: str) -> str:
    """Core-written text (the help) marks bold the Slack way, `*bold*`; Discord reads that
    as italics and needs `**bold**`. Code spans are left as they are."""
    parts = _CODE_SPAN.split(text)
    # split() with one capturing group puts the code spans at the odd indices.
    return "".join(
        part if i % 2 else _MRKDWN_BOLD.sub(r"**\1**", part) for i, part in enumerate(parts)
    )


def _header_embeds(reply: Reply, colour: discord.Colour) -> list[discord.Embed]:
    """The reply's own text and notes; more than one embed only for very long text."""
    if reply.kind is ReplyKind.HELP:
        # The help is our own text, written in Slack mrkdwn and free of user input: keep its
        # wording and layout exactly, and only translate the bold markers.
        text = mrkdwn_to_markdown(reply.text.rstrip())
    else:
        text = clean_text_keep_lines(reply.text)
    if reply.notes:
        text += "\n\n" + "\n".join(f"ℹ️ {clean_text(n)}" for n in reply.notes)
    chunks = _split_text(text, MAX_DESCRIPTION)
    embeds: list[discord.Embed] = []
    for i, chunk in enumerate(chunks):
        title = shorten(clean_text(reply.title), MAX_TITLE) if reply.title and i == 0 else None
        embeds.append(discord.Embed(title=title, description=chunk or None, colour=colour))
    return embeds


def clean_text_keep_lines(text: str) -> str:
    """`clean_text` per line, so help text and lists keep their line structure."""
    return "\n".join(clean_text(line) if line.strip() else "" for line in text.splitlines())


def _pack(
    head: list[discord.Embed], cards: list[discord.Embed], content: str | None = None
) -> list[RenderedMessage]:
    """Fill messages in order, starting a new one when 10 embeds or the char budget is hit."""
    messages: list[RenderedMessage] = [RenderedMessage(content=content)]
    for embed in [*head, *cards]:
        current = messages[-1]
        if current.embeds and (
            len(current.embeds) >= MAX_EMBEDS or current.total_chars + len(embed) > _TOTAL_BUDGET
        ):
            current = RenderedMessage()
            messages.append(current)
        current.embeds.append(embed)
    return messages


def user_mention(user_id: str) -> str:
    """`<@id>` for a Discord user id (sent with AllowedMentions.none(): shown, never pinged);
    anything else is escaped text."""
    if _SNOWFLAKE.match(user_id):
        return f"<@{user_id}>"
    return discord.utils.escape_mentions(_md(user_id)) or "someone"


def listed_line(entry: ListedPaper) -> str:
    """One reading-list entry: number, linked title, status, who saved it and when."""
    paper, saved = entry.paper, entry.saved
    title = shorten(_md(paper.title), 200) or "(untitled)"
    if paper.url:
        title = f"[{title}]({paper.url})"
    meta = [
        saved.status.value,
        f"saved by {user_mention(saved.saved_by)} on {saved.saved_at.date().isoformat()}",
    ]
    if saved.assignee:
        meta.append(f"presented by {user_mention(saved.assignee)}")
    return f"**{entry.position}.** {title}\n{' · '.join(meta)}"


def _listing_embeds(
    listing: tuple[ListedPaper, ...], colour: discord.Colour
) -> list[discord.Embed]:
    text = "\n".join(listed_line(e) for e in listing)
    return [
        discord.Embed(description=chunk, colour=colour)
        for chunk in _split_text(text, MAX_DESCRIPTION)
    ]


def _code_embed(code: str, colour: discord.Colour) -> discord.Embed:
    body = code.rstrip().replace("```", "`\u200b``")
    body = shorten(body, MAX_DESCRIPTION - 20)
    return discord.Embed(description=f"```bibtex\n{body}\n```", colour=colour)


def render_reply(reply: Reply) -> list[RenderedMessage]:
    """Embeds for a reply; the first message answers the interaction, the rest follow up."""
    colour = COLOURS.get(reply.kind, discord.Colour.blurple())
    head = _header_embeds(reply, colour)
    if reply.listing:
        head.extend(_listing_embeds(reply.listing, colour))
    if reply.code:
        head.append(_code_embed(reply.code, colour))
    cards = [card_embed(c, colour=colour) for c in reply.cards]
    return _pack(head, cards)


def digest_marker(delivery_id: int) -> str:
    """Text in a digest's footer that lets `DiscordSink.find_posted` recognise the post."""
    return f"papers-bot digest #{delivery_id}"


def render_digest(digest: Digest) -> list[RenderedMessage]:
    """A digest: a bold header line as content, one compact embed per paper, a "More" link.

    The header sits in `content` rather than an embed so a full top-10 digest still fits
    one message (10 embeds), which keeps delivery to one nonce-protected send.
    """
    header = f"**{_md(digest.title)}** · {digest.digest_date.isoformat()}"
    if digest.more_url:
        header += f"\n[More papers]({digest.more_url})"
    content = shorten(header, MAX_CONTENT)
    colour = discord.Colour.orange()
    cards = [
        card_embed(c, colour=colour, abstract_chars=DIGEST_ABSTRACT_CHARS) for c in digest.cards
    ]
    if not cards:
        cards = [discord.Embed(description="No new papers today.", colour=colour)]
    messages = _pack([], cards, content=content)
    marker = digest_marker(digest.delivery_id)
    for i, message in enumerate(messages):
        label = marker if len(messages) == 1 else f"{marker} ({i + 1}/{len(messages)})"
        message.embeds[-1].set_footer(text=label)
    return messages
