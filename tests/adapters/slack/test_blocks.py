"""Block Kit output stays within Slack's limits and escapes every piece of paper text.

The JSON is parsed back into slack_sdk's block models and validated with their own
validators, so the limits checked are slack_sdk's, not a copy of them.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from slack_sdk.models.blocks import Block, HeaderBlock, SectionBlock

from adapters.slack.blocks import (
    ACTION_NEXT,
    ACTION_PREVIOUS,
    ACTION_SHARE,
    MAX_BLOCKS,
    MESSAGE_CHAR_BUDGET,
    decode_button,
    render_digest,
    render_reply,
    render_unfurl,
)
from adapters.slack.mrkdwn import escape
from bot.commands.help import HELP_TEXT
from bot.models import (
    ChannelRef,
    Digest,
    PageCursor,
    Paper,
    PaperCard,
    Platform,
    Reply,
    ReplyKind,
)

NASTY_TITLE = "<!channel> " + "Very Long Title & <b>bold</b> " * 12  # ~370 characters


def nasty_paper(key: int = 1) -> Paper:
    return Paper(
        key=key,
        title=NASTY_TITLE,
        paper_id=f"2410.{17000 + key:05d}",
        abstract="We ping <!here> and <@U123|boss> & <https://evil.example|click>. " * 80,
        authors=tuple(f"Author <!everyone> Number {i}" for i in range(200)),
        published=date(2024, 10, 22),
        upvotes=42,
        github_repo="https://github.com/org/repo",
    )


def validate(blocks: list[dict[str, Any]]) -> list[Block]:
    assert len(blocks) <= MAX_BLOCKS
    parsed = []
    for data in blocks:
        block = Block.parse(data)
        assert block is not None and type(block) is not Block, data
        block.validate_json()  # raises SlackObjectFormationError beyond a limit
        if isinstance(block, HeaderBlock):
            assert len(block.text.text) <= 150
        if isinstance(block, SectionBlock) and block.text is not None:
            assert len(block.text.text) <= 3000
        parsed.append(block)
    return parsed


def mrkdwn_texts(blocks: list[dict[str, Any]]) -> list[str]:
    texts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                texts.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return texts


def assert_no_live_markup(blocks: list[dict[str, Any]], fallback: str) -> None:
    for text in [*mrkdwn_texts(blocks), fallback]:
        for bad in ("<!channel>", "<!here>", "<!everyone>", "<@U123", "<https://evil"):
            assert bad not in text, text


def search_reply(cards: list[PaperCard], total: int = 40, offset: int = 5) -> Reply:
    return Reply(
        ReplyKind.SEARCH,
        "Results for “<!channel> & friends”",
        cards=tuple(cards),
        cursor=PageCursor("search", "<!channel> & friends", offset, 5, total),
        notes=("Your query was 5,000 characters long; <!here> only the first 256 were used.",),
        title="Search " + "<!channel> " * 30,
    )


def test_search_reply_with_hostile_paper_fits_and_pings_no_one() -> None:
    cards = [PaperCard(nasty_paper(i), score=1.0, rank=i + 1) for i in range(5)]
    message = render_reply(search_reply(cards))
    blocks = message.block_dicts()
    validate(blocks)
    assert message.total_chars() <= MESSAGE_CHAR_BUDGET
    assert_no_live_markup(blocks, message.text)
    dump = json.dumps(blocks, ensure_ascii=False)
    assert "&lt;!channel&gt;" in dump
    assert "et al." in dump
    assert "Author &lt;!everyone&gt; Number 3" not in dump  # only the first three authors
    assert "▲ 42" in dump
    assert "<https://arxiv.org/abs/2410.17001|arXiv>" in dump
    assert "<https://github.com/org/repo|Code>" in dump
    # The message's own buttons come last, after each card's "More like this" row.
    actions = [b for b in blocks if b["type"] == "actions"][-1]["elements"]
    assert [a["action_id"] for a in actions] == [ACTION_PREVIOUS, ACTION_NEXT, ACTION_SHARE]
    assert decode_button(actions[1]["value"]).offset == 10  # type: ignore[union-attr]
    assert decode_button(actions[0]["value"]).offset == 0  # type: ignore[union-attr]


def test_twenty_five_trending_cards_still_fit() -> None:
    cards = [PaperCard(nasty_paper(i), rank=i + 1) for i in range(25)]
    reply = Reply(
        ReplyKind.TRENDING, "Top 25 trending papers", cards=tuple(cards), title="Trending"
    )
    message = render_reply(reply)
    validate(message.block_dicts())
    assert message.total_chars() <= MESSAGE_CHAR_BUDGET
    assert len(message.block_dicts()) <= MAX_BLOCKS


def test_far_too_many_cards_are_dropped_with_a_note() -> None:
    cards = [PaperCard(nasty_paper(i), rank=i + 1) for i in range(120)]
    message = render_reply(Reply(ReplyKind.TRENDING, "Lots", cards=tuple(cards), title="T"))
    blocks = message.block_dicts()
    validate(blocks)
    assert message.total_chars() <= MESSAGE_CHAR_BUDGET
    assert "more not shown" in json.dumps(blocks, ensure_ascii=False)


def test_digest_fits_and_escapes() -> None:
    digest = Digest(
        delivery_id=7,
        channel=ChannelRef(Platform.SLACK, "C1", "T1"),
        digest_date=date(2025, 11, 7),
        cards=tuple(PaperCard(nasty_paper(i), rank=i + 1) for i in range(10)),
        title="Daily papers <!channel> " + "x" * 300,
        more_url="https://huggingface.co/papers",
    )
    message = render_digest(digest)
    blocks = message.block_dicts()
    validate(blocks)
    assert_no_live_markup(blocks, message.text)
    assert blocks[0]["type"] == "header"
    assert "2025-11-07" in json.dumps(blocks, ensure_ascii=False)
    assert "<https://huggingface.co/papers|More trending papers →>" in json.dumps(
        blocks, ensure_ascii=False
    )


def test_paper_without_links_or_authors_renders() -> None:
    paper = Paper(key=1, title="Only a title")
    message = render_reply(
        Reply(ReplyKind.SEARCH, "One result", cards=(PaperCard(paper),), title="Search")
    )
    validate(message.block_dicts())
    assert "*Only a title*" in json.dumps(message.block_dicts(), ensure_ascii=False)


def test_error_reply_is_escaped_and_has_no_buttons() -> None:
    message = render_reply(Reply(ReplyKind.ERROR, "Unknown timezone '<!channel>'"))
    blocks = message.block_dicts()
    validate(blocks)
    assert all(b["type"] != "actions" for b in blocks)
    assert "&lt;!channel&gt;" in blocks[0]["text"]["text"]


def test_unfurl_is_valid_blocks() -> None:
    unfurl = render_unfurl(PaperCard(nasty_paper()))
    validate(unfurl["blocks"])
    assert_no_live_markup(unfurl["blocks"], "")


@pytest.mark.parametrize(
    "value",
    [None, "", "{", "[]", '{"c":"drop"}', '{"c":"search","o":-5}', '{"c":"search","q":3}'],
)
def test_malformed_button_values_are_rejected(value: str | None) -> None:
    assert decode_button(value) is None


def test_escape_covers_slack_control_characters() -> None:
    assert escape("a & <b> > c") == "a &amp; &lt;b&gt; &gt; c"


def test_help_is_rendered_as_the_cores_own_mrkdwn() -> None:
    message = render_reply(Reply(ReplyKind.HELP, HELP_TEXT, title="papers-bot help"))
    blocks = message.block_dicts()
    validate(blocks)
    section = next(b for b in blocks if b["type"] == "section")
    # Slack mrkdwn is what the help is written in: `*papers-bot*` is bold here, unescaped.
    assert section["text"] == {"type": "mrkdwn", "text": HELP_TEXT}
