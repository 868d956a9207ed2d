"""More like this on Discord: `/papers similar` and the "More like N" buttons, through
discord.py's real command tree and components against the fake REST API."""

from __future__ import annotations

from adapters.discord.bot import PapersBot
from runtime.core import Core
from tests.adapters.discord.fake_discord import FakeDiscordAPI
from tests.adapters.discord.test_commands import _press, all_text, buttons, run_command
from tests.adapters.similar_papers import ACL_ID, ARXIV_ID, NEIGHBOURS, TITLE, add_similar_papers


def card_titles(data: dict[str, object]) -> list[str]:
    embeds = data["embeds"]
    assert isinstance(embeds, list)
    return [str(e.get("title", "")) for e in embeds[1:]]  # the first embed is the header


async def test_similar_command_and_more_like_buttons(
    bot: PapersBot, fake_api: FakeDiscordAPI, core: Core
) -> None:
    add_similar_papers(core)
    call = await run_command(bot, fake_api, "similar", options={"paper": ARXIV_ID})
    data = call.json["data"]
    titles = card_titles(data)
    assert NEIGHBOURS[0] in titles[0]
    assert not any(TITLE in t for t in titles)
    assert f"aclanthology.org/{ACL_ID}" not in all_text(data)
    saves = [b for b in buttons(data) if b["custom_id"].startswith("papers:save:")]
    likes = [b for b in buttons(data) if b["custom_id"].startswith("papers:similar:")]
    assert len(saves) == len(likes) == len(titles)
    assert [b["label"] for b in likes] == [f"More like {i}" for i in range(1, len(titles) + 1)]
    assert len(buttons(data)) <= 25 and len(data["components"]) <= 5

    # Pressing "More like 1" lists papers like the first neighbour: the original work
    # appears once (its two versions fold into one card), the neighbour not at all.
    pressed = await _press(bot, fake_api, data, likes[0]["custom_id"], 2)
    answer = pressed.json["data"]
    again = card_titles(answer)
    assert again and not any(NEIGHBOURS[0] in t for t in again)
    assert sum(TITLE in t for t in again) == 1


async def test_similar_by_title_and_unknown(
    bot: PapersBot, fake_api: FakeDiscordAPI, core: Core
) -> None:
    add_similar_papers(core)
    call = await run_command(
        bot, fake_api, "similar", options={"paper": "neural speaker diarization permutation-free"}
    )
    titles = card_titles(call.json["data"])
    assert titles and not any(TITLE in t for t in titles)
    unknown = await run_command(bot, fake_api, "similar", n=2, options={"paper": "2099.acl-main.1"})
    assert "don't know the paper" in all_text(unknown.json["data"])
