"""More like this on Slack: the card button, its "⋯" menu on long lists, `/papers similar`
and paging, through the real bolt app against the loopback fake."""

from __future__ import annotations

from typing import Any

from adapters.slack.blocks import ACTION_NEXT
from adapters.slack.card_actions import ACTION_SIMILAR
from runtime.core import Core
from tests.adapters.similar_papers import (
    ACL_ID,
    ARXIV_ID,
    NEIGHBOURS,
    TITLE,
    UNRELATED,
    add_similar_papers,
)
from tests.adapters.slack.conftest import Served, action_body
from tests.adapters.slack.fake_slack import FakeSlack
from tests.adapters.slack.test_app import run_command, wait_response


def card_titles(blocks: list[dict[str, Any]]) -> list[str]:
    """The first line of every card section (the ones with an accessory)."""
    return [b["text"]["text"].split("\n")[0] for b in blocks if b.get("accessory")]


def similar_buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        e
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ACTION_SIMILAR
    ]


def assert_self_and_versions_absent(blocks: list[dict[str, Any]]) -> None:
    cards = "\n".join(card_titles(blocks))
    assert TITLE not in cards and ARXIV_ID not in cards and ACL_ID not in cards


async def test_similar_command_lists_neighbours_never_the_paper_or_its_acl_version(
    served: Served, fake: FakeSlack, core: Core
) -> None:
    add_similar_papers(core)
    call = await run_command(served, fake, f"similar {ARXIV_ID}", "s1")
    titles = card_titles(call.blocks)
    assert NEIGHBOURS[0] in titles[0] and any(NEIGHBOURS[1] in t for t in titles)
    assert_self_and_versions_absent(call.blocks)
    assert "like “" in call.text_dump() and TITLE in call.text_dump()
    # Every card carries its own More like this button, beside Save.
    assert len(similar_buttons(call.blocks)) == len(titles)

    by_acl = await run_command(served, fake, f"similar https://aclanthology.org/{ACL_ID}", "s2")
    assert_self_and_versions_absent(by_acl.blocks)
    by_title = await run_command(
        served, fake, 'similar "neural speaker diarization with permutation-free"', "s3"
    )
    assert_self_and_versions_absent(by_title.blocks)
    assert NEIGHBOURS[0] in card_titles(by_title.blocks)[0]


async def test_more_like_this_button_on_a_search_card(
    served: Served, fake: FakeSlack, core: Core
) -> None:
    add_similar_papers(core)
    found = await run_command(served, fake, "search self-attentive speaker diarization", "b1")
    first = similar_buttons(found.blocks)[0]
    assert NEIGHBOURS[0] in card_titles(found.blocks)[0]
    await served.post(
        action_body(ACTION_SIMILAR, first["value"], response_url=fake.response_url("b2"))
    )
    (answer,) = await wait_response(fake, "b2")
    assert answer.params["replace_original"] is False
    titles = card_titles(answer.blocks)
    assert titles and all(NEIGHBOURS[0] not in t for t in titles)
    # One work, one card: the arXiv preprint and its ACL version fold together.
    assert sum(TITLE in t for t in titles) == 1
    assert UNRELATED not in "\n".join(titles[:2])


async def test_a_forged_button_value_expires(served: Served, fake: FakeSlack) -> None:
    await served.post(
        action_body(ACTION_SIMILAR, "similar:x1", response_url=fake.response_url("f1"))
    )
    (answer,) = await wait_response(fake, "f1")
    assert "expired" in answer.text_dump()


async def test_similar_on_an_unknown_paper_says_so(served: Served, fake: FakeSlack) -> None:
    call = await run_command(served, fake, "similar 2999.99999", "u1")
    assert "don't know the paper" in call.text_dump()
    numbered = await run_command(served, fake, "similar 3", "u2")
    assert "console only" in numbered.text_dump()


async def test_similar_pages_with_next(served: Served, fake: FakeSlack) -> None:
    # The seeds: 195 papers; a speech-separation survey has plenty of neighbours.
    found = await run_command(served, fake, "search cocktail party problem", "p1")
    value = similar_buttons(found.blocks)[0]["value"]
    await served.post(action_body(ACTION_SIMILAR, value, response_url=fake.response_url("p2")))
    (first,) = await wait_response(fake, "p2")
    next_button = next(
        e
        for b in first.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ACTION_NEXT
    )
    await served.post(
        action_body(ACTION_NEXT, next_button["value"], response_url=fake.response_url("p3"))
    )
    (second,) = await wait_response(fake, "p3")
    assert second.params["replace_original"] is True
    assert set(card_titles(first.blocks)).isdisjoint(card_titles(second.blocks))
    assert (
        card_titles(second.blocks)[0].startswith("6. ") or "*6. " in card_titles(second.blocks)[0]
    )


def test_long_lists_put_save_and_more_like_this_in_one_menu() -> None:
    from adapters.slack.blocks import MAX_BLOCKS, render_reply
    from adapters.slack.card_actions import ACTION_CARD_MENU, card_action_command
    from bot.commands.types import Save, Similar
    from bot.models import Paper, PaperCard, Reply, ReplyKind

    cards = tuple(PaperCard(Paper(key=i, title=f"Paper {i}"), rank=i) for i in range(1, 26))
    blocks = render_reply(Reply(ReplyKind.TRENDING, "Top 25", cards=cards)).block_dicts()
    assert len(blocks) <= MAX_BLOCKS
    menus = [b["accessory"] for b in blocks if b.get("accessory")]
    assert len(menus) == 25 and all(m["action_id"] == ACTION_CARD_MENU for m in menus)
    values = [o["value"] for o in menus[0]["options"]]
    assert [card_action_command(v) for v in values] == [Save(paper_key=1), Similar(paper_key=1)]
    assert card_action_command("similar:") is None and card_action_command("drop:1") is None
