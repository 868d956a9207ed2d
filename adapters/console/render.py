"""Renders neutral replies and digests for a terminal with rich.

Paper and user text is printed through `rich.text.Text`, never parsed as rich markup, so a
title containing `[bold]` or `[link=…]` is shown literally.
"""

from __future__ import annotations

import re

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.style import Style
from rich.text import Text

from bot.alerts.models import AlertPost
from bot.models import Digest, ListedPaper, Paper, PaperCard, Reply, ReplyKind
from bot.text import plural, shorten

MAX_AUTHORS = 3
ABSTRACT_CHARS = 300
_MRKDWN = re.compile(r"(`[^`]+`|\*[^*]+\*)")


def authors_line(card: PaperCard) -> str:
    paper = card.paper
    if paper.authors:
        names = card.shown_authors(MAX_AUTHORS)
        extra = len(paper.authors) - MAX_AUTHORS
        return ", ".join(names) + (" et al." if extra > 0 else "")
    if paper.author_count:
        return plural(paper.author_count, "author")
    return ""


def meta_line(paper: Paper) -> str:
    parts = []
    if paper.published:
        parts.append(paper.published.isoformat())
    if paper.upvotes is not None:
        parts.append(f"▲ {paper.upvotes}")
    if paper.paper_id:
        parts.append(paper.paper_id)
    return " · ".join(parts)


def render_card(card: PaperCard) -> RenderableType:
    paper = card.paper
    head = Text()
    if card.rank is not None:
        head.append(f"{card.rank}. ", style="bold cyan")
    head.append(paper.title, style="bold")
    lines: list[RenderableType] = [head]
    for line, style in ((authors_line(card), "italic"), (meta_line(paper), "dim")):
        if line:
            lines.append(Text(line, style=style))
    if paper.abstract:
        lines.append(Text(shorten(paper.abstract, ABSTRACT_CHARS)))
    links = [u for u in (paper.arxiv_url or paper.url, paper.hf_url, paper.github_repo) if u]
    # Other versions of the same work (an ACL Anthology paper of an arXiv preprint).
    links += [url for _, url in card.version_links()]
    if links:
        lines.append(Text("  ".join(links), style="blue underline"))
    if paper.search_url:
        # Known only by title: a search, labelled as one, rather than a made-up paper link.
        # A terminal hyperlink: the search URL is long and would wrap over several lines.
        link = Style(color="blue", underline=True, link=paper.search_url)
        lines.append(Text("search arXiv for this title", style=link))
    if card.why:
        # Channel taste (issue 13): why the digest chose this paper.
        lines.append(Text(card.why, style="italic magenta"))
    if card.topic:
        lines.append(Text(f"topic: {card.topic}", style="italic green"))
    if card.first_share is not None:
        first = card.first_share
        lines.append(
            Text(
                f"first shared here by {first.shared_by} on {first.shared_at.date()}",
                style="italic",
            )
        )
    ref = str(card.rank) if card.rank is not None else paper.paper_id
    if ref:
        # The console's "Save", "More like this" and 👍 / 👎 buttons (channel taste, issue 13):
        # the commands that do the same. A card number works for any paper, an id only for
        # papers that have one; votes take the id.
        actions = [f"save {ref}", f"similar {ref}", f"cite {ref}"]
        if paper.paper_id:
            actions += [f"vote up {paper.paper_id}", f"vote down {paper.paper_id}"]
        lines.append(Text(" · ".join(actions), style="dim green"))
    return Group(*lines, Text(""))


def render_listed(entry: ListedPaper) -> RenderableType:
    """One reading-list line: number, title, status, who saved it and when, the presenter."""
    saved = entry.saved
    line = Text()
    line.append(f"{entry.position}. ", style="bold cyan")
    line.append(entry.paper.title, style="bold")
    meta = [saved.status.value, f"saved by {saved.saved_by} on {saved.saved_at.date()}"]
    if saved.assignee:
        meta.append(f"presented by {saved.assignee}")
    if entry.paper.paper_id:
        meta.append(entry.paper.paper_id)
    return Group(line, Text("   " + " · ".join(meta), style="dim"))


def _help_text(text: str) -> Text:
    """Show the help's mrkdwn emphasis as terminal styles."""
    out = Text()
    for part in _MRKDWN.split(text):
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(part[1:-1], style="bold green")
        elif part.startswith("*") and part.endswith("*") and len(part) > 1:
            out.append(part[1:-1], style="bold")
        else:
            out.append(part)
    return out


def render_reply(reply: Reply) -> RenderableType:
    body: list[RenderableType] = []
    if reply.kind is ReplyKind.HELP:
        body.append(_help_text(reply.text))
    else:
        style = "bold red" if reply.kind is ReplyKind.ERROR else "bold"
        body.append(Text(reply.text, style=style))
    body.extend(Text(f"note: {note}", style="yellow") for note in reply.notes)
    if reply.cards:
        body.append(Text(""))
        body.extend(render_card(card) for card in reply.cards)
    if reply.listing:
        body.append(Text(""))
        body.extend(render_listed(entry) for entry in reply.listing)
        body.append(
            _help_text("`list done N`, `list remove N`, `list assign N NAME`, `list export`")
        )
    if reply.code:
        body.append(Text(""))
        body.append(Text(reply.code.rstrip()))
    if reply.cursor and (reply.cursor.has_next or reply.cursor.has_previous):
        hints = []
        if reply.cursor.has_previous:
            hints.append("`prev`")
        if reply.cursor.has_next:
            hints.append("`next`")
        body.append(_help_text("Type " + " or ".join(hints) + " to page."))
    border = "red" if reply.kind is ReplyKind.ERROR else "cyan"
    return Panel(Group(*body), title=reply.title, title_align="left", border_style=border)


def render_digest(digest: Digest) -> RenderableType:
    body: list[RenderableType] = [render_card(card) for card in digest.cards]
    if digest.more_url:
        body.append(Text(f"More: {digest.more_url}", style="blue underline"))
    title = f"{digest.title} — {digest.channel.channel}"
    return Panel(Group(*body), title=title, title_align="left", border_style="magenta")


def render_alerts(post: AlertPost) -> RenderableType:
    """An alert message: every new paper, each with the alerts it matched."""
    body: list[RenderableType] = []
    for i, item in enumerate(post.items):
        body.append(render_card(PaperCard(item.paper, rank=i + 1)))
        body.append(Text("Matched " + "; ".join(item.alerts), style="green"))
    title = f"{post.title} — {post.channel.channel}"
    return Panel(Group(*body), title=title, title_align="left", border_style="green")
