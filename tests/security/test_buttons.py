"""Button values are hostile input: both decoders reject anything we would not produce."""

from __future__ import annotations

import json

import pytest

from adapters.discord.views import _TEMPLATE, page_offset
from adapters.slack.blocks import decode_button, encode_cursor
from bot.models import PageCursor
from bot.paging import MAX_OFFSET


@pytest.mark.parametrize(
    "offset",
    [True, False, -1, -(2**63), 2**63, 1_000_000_000_000, MAX_OFFSET + 1, 1.0, "5", None, [1]],
)
def test_slack_decoder_rejects_hostile_offsets(offset: object) -> None:
    value = json.dumps({"c": "search", "q": "diffusion", "o": offset})
    assert decode_button(value) is None


@pytest.mark.parametrize("count", [True, -1, 2**63, 1.5, "10"])
def test_slack_decoder_rejects_hostile_counts(count: object) -> None:
    assert decode_button(json.dumps({"c": "trending", "n": count})) is None


def test_slack_decoder_keeps_real_cursors() -> None:
    value = encode_cursor(PageCursor("search", "diffusion", 10, 5, 40))
    state = decode_button(value)
    assert state is not None and (state.query, state.offset) == ("diffusion", 10)


@pytest.mark.parametrize("offset", ["999999999", "1001", "5000"])
def test_discord_page_id_with_absurd_offset_is_refused(offset: str) -> None:
    match = _TEMPLATE.fullmatch(f"papers:page:search:{offset}:q:diffusion")
    assert match is not None and page_offset(match) is None


def test_discord_page_id_with_real_offset_is_kept() -> None:
    match = _TEMPLATE.fullmatch("papers:page:search:15:q:diffusion")
    assert match is not None and page_offset(match) == 15
