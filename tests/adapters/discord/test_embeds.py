"""Rendering stays within Discord's embed limits whatever the input (DESIGN.md §4)."""

from __future__ import annotations

from datetime import date

import discord
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.discord import embeds
from bot.models import ChannelRef, Digest, Paper, PaperCard, Platform, Reply, ReplyKind


def check_limits(message: embeds.RenderedMessage) -> None:
    assert 1 <= len(message.embeds) <= 10
    assert sum(len(e) for e in message.embeds) <= 6000
    assert message.content is None or len(message.content) <= 2000
    for embed in message.embeds:
        assert len(embed.title or "") <= 256
        assert len(embed.description or "") <= 4096
        assert len(embed.fields) <= 25
        for f in embed.fields:
            assert len(f.name or "") <= 256 and len(f.value or "") <= 1024
        assert len(embed.footer.text or "") <= 2048


def paper(i: int, title: str = "", abstract: str = "", authors: int = 3) -> Paper:
    return Paper(
        key=i,
        title=title or f"Paper {i}",
        paper_id=f"2411.{i:05d}",
        abstract=abstract or None,
        authors=tuple(f"Author {j}" for j in range(authors)),
        published=date(2025, 11, 7),
        upvotes=i,
        github_repo="https://github.com/x/y",
    )


def test_many_huge_cards_are_split_and_trimmed() -> None:
    cards = tuple(
        PaperCard(paper(i, "T" * 1000, "word " * 3000, authors=400), rank=i + 1) for i in range(25)
    )
    reply = Reply(ReplyKind.TRENDING, "x" * 9000, cards=cards, notes=("n" * 500,), title="T" * 300)
    messages = embeds.render_reply(reply)
    for message in messages:
        check_limits(message)
    rendered_cards = sum(len(m.embeds) for m in messages) - 3  # header text needs 3 embeds
    assert rendered_cards == 25
    assert len(messages) >= 3


def test_card_embed_contents() -> None:
    card = PaperCard(paper(7, "A *bold* claim", "Uses x_1 and x_2."), rank=2)
    embed = embeds.card_embed(card)
    assert embed.title == "2. A *bold* claim"
    assert embed.url == "https://arxiv.org/abs/2411.00007"
    assert "x\\_1" in (embed.description or "")  # markdown in paper text is shown literally
    links = next(f.value for f in embed.fields if f.name == "Links")
    assert "[Code](https://github.com/x/y)" in (links or "")


def test_help_bold_is_converted_from_slack_mrkdwn() -> None:
    assert embeds.mrkdwn_to_markdown("*papers-bot* finds") == "**papers-bot** finds"
    # Code spans, products, lone asterisks and existing Discord bold are left alone.
    for text in ("`*x*` keep", "2*3*4", "a * b * c", "**done**", "* item"):
        assert embeds.mrkdwn_to_markdown(text) == text
    reply = Reply(ReplyKind.HELP, "*Usage*\n   `/papers search *QUERY*` — find", title="Help")
    (message,) = embeds.render_reply(reply)
    assert message.embeds[0].description == "**Usage**\n   `/papers search *QUERY*` — find"


def test_other_replies_keep_asterisks_literal() -> None:
    reply = Reply(ReplyKind.SEARCH, "No papers match “*diffusion*”.")
    (message,) = embeds.render_reply(reply)
    assert message.embeds[0].description == "No papers match “*diffusion*”."


def test_notes_are_shown() -> None:
    reply = Reply(ReplyKind.SEARCH, "Results", notes=("Your query was shortened.",))
    (message,) = embeds.render_reply(reply)
    assert "Your query was shortened." in (message.embeds[0].description or "")


def test_digest_header_in_content_and_marker_in_footer() -> None:
    digest = Digest(
        delivery_id=9,
        channel=ChannelRef(Platform.DISCORD, "1", "2"),
        digest_date=date(2025, 11, 7),
        cards=tuple(PaperCard(paper(i), rank=i + 1) for i in range(10)),
        title="Trending papers",
    )
    (message,) = embeds.render_digest(digest)
    check_limits(message)
    assert len(message.embeds) == 10
    assert message.embeds[-1].footer.text == embeds.digest_marker(9)


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(max_size=6000),
    titles=st.lists(st.text(min_size=1, max_size=600), max_size=25),
    abstract=st.text(max_size=5000),
)
def test_any_reply_fits(text: str, titles: list[str], abstract: str) -> None:
    cards = tuple(PaperCard(paper(i, t, abstract), rank=i) for i, t in enumerate(titles))
    for message in embeds.render_reply(Reply(ReplyKind.SEARCH, text, cards=cards, title=text)):
        check_limits(message)
        for embed in message.embeds:
            discord.Embed.from_dict(embed.to_dict())
