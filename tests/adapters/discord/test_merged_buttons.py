"""Buttons and the vote menu drawn before a merge act on the surviving paper on Discord:
a card's 👍, "More like this" and a 👍 / 👎 menu option carry the key of a title-only
paper that a later record folds into the paper with its arXiv id (Save: see
test_reading_list). Through discord.py's component dispatch against the loopback fake."""

from __future__ import annotations

from adapters.discord.bot import PapersBot
from runtime.core import Core
from tests.adapters.discord.conftest import USER_ID
from tests.adapters.discord.fake_discord import FakeDiscordAPI
from tests.adapters.discord.test_commands import (
    CALLBACK,
    SURVEY,
    _press,
    all_text,
    buttons,
    run_command,
)
from tests.adapters.discord.test_taste import answer, votes
from tests.adapters.discord.test_vote_menu import choose
from tests.adapters.merged_papers import merge_title_only


async def test_vote_and_more_like_this_drawn_before_a_merge_act_on_the_survivor(
    bot: PapersBot, fake_api: FakeDiscordAPI, core: Core
) -> None:
    found = await run_command(bot, fake_api, "search", options={"query": "cocktail party problem"})
    data = found.json["data"]
    ids = [b["custom_id"] for b in buttons(data)]
    up = next(i for i in ids if i.startswith("papers:vote:up:"))
    old = int(up.rsplit(":", 1)[1])
    similar = f"papers:similar:{old}"
    assert similar in ids
    survivor = merge_title_only(core, old, SURVEY)

    voted = all_text(await answer(fake_api, await _press(bot, fake_api, data, up, 2)))
    assert "👍 noted" in voted and "no longer stored" not in voted
    assert votes(core) == [(survivor, USER_ID, 1, "button")]

    liked = all_text(await answer(fake_api, await _press(bot, fake_api, data, similar, 3)))
    assert f"like “{SURVEY}”" in liked and "no longer stored" not in liked

    # An old vote menu's option names the old key the same way.
    option = {"label": f"👎 1 · {SURVEY}", "value": f"down:{old}"}
    menu_row = {
        "type": 1,
        "components": [{"type": 3, "custom_id": "papers:votes", "options": [option]}],
    }
    choose(bot, fake_api, {"content": "", "embeds": [], "components": [menu_row]}, f"down:{old}")
    menu = all_text(await answer(fake_api, await fake_api.wait_for_call("POST", CALLBACK, 4)))
    assert "Changed your vote" in menu and "no longer stored" not in menu
    assert votes(core) == [(survivor, USER_ID, -1, "button")]
