"""Buttons drawn before a merge act on the surviving paper: a card's Save, 👍 and "More like
this" carry the key of a title-only paper that a later record folds into the paper with
its arXiv id. Through the real bolt app against the loopback fake."""

from __future__ import annotations

from adapters.slack.blocks import ACTION_SAVE, ACTION_VOTE_UP
from adapters.slack.card_actions import ACTION_SIMILAR
from bot.models import ChannelRef, Platform
from runtime.core import Core
from tests.adapters.merged_papers import ARXIV_ID, merge_title_only
from tests.adapters.slack.conftest import SURVEY, Served
from tests.adapters.slack.fake_slack import TEAM_ID, FakeSlack
from tests.adapters.slack.test_app import run_command
from tests.adapters.slack.test_reading_list import save_buttons
from tests.adapters.slack.test_taste import press, vote_buttons, votes

CHANNEL = ChannelRef(Platform.SLACK, "C0GENERAL", TEAM_ID)


async def test_old_buttons_act_on_the_surviving_paper(
    served: Served, fake: FakeSlack, core: Core
) -> None:
    found = await run_command(served, fake, "search cocktail party problem", "r1")
    old = save_buttons(found.blocks)[0]["value"]
    assert vote_buttons(found.blocks, ACTION_VOTE_UP)[0]["value"] == old
    survivor = merge_title_only(core, int(old), SURVEY)

    saved = await press(served, fake, ACTION_SAVE, old, "r2")
    assert "Saved" in saved and "no longer stored" not in saved
    with core.db.uow() as uow:
        assert [e.paper_key for e in uow.reading_list.entries(CHANNEL)] == [survivor]
    listed = await run_command(served, fake, "list", "r3")
    assert ARXIV_ID in listed.text_dump() or SURVEY in listed.text_dump()

    voted = await press(served, fake, ACTION_VOTE_UP, old, "r4")
    assert "👍 noted" in voted
    assert votes(core) == [(survivor, "U0ALICE", 1, "button")]

    similar = await press(served, fake, ACTION_SIMILAR, f"similar:{old}", "r5")
    assert "like “" in similar and "no longer stored" not in similar


async def test_a_button_for_a_paper_that_is_gone_says_so(served: Served, fake: FakeSlack) -> None:
    answer = await press(served, fake, ACTION_SAVE, "987654", "g1")
    assert "That paper is no longer stored." in answer
