"""Reading list, cite and the .bib attachment on Discord, through discord.py's real code
paths against the fake REST API (which parses the multipart body of a discord.File)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import bibtexparser

from adapters.discord.bot import PapersBot
from bot.models import ChannelRef, PaperRecord, Platform
from runtime.core import Core
from tests.adapters.discord.conftest import (
    CHANNEL_ID,
    GUILD_ID,
    USER_ID,
    command,
    feed,
    interaction,
)
from tests.adapters.discord.fake_discord import FakeDiscordAPI
from tests.adapters.discord.test_commands import (
    CALLBACK,
    EPHEMERAL,
    FOLLOWUP,
    SURVEY,
    _press,
    all_text,
    buttons,
    run_command,
)
from tests.adapters.merged_papers import merge_title_only

OTHER_USER = "600000000000000002"


def add_arxiv_paper(core: Core) -> None:
    record = PaperRecord(
        title="Attention Is All You Need",
        source="test",
        paper_id="1706.03762",
        authors=("Ashish Vaswani",),
        published=date(2017, 6, 12),
        categories=("cs.CL",),
    )
    with core.db.uow() as uow:
        uow.papers.upsert_many([record], seen_at=datetime.now(UTC))


def list_data(**options: Any) -> dict[str, Any]:
    data = command("list", **{k: v for k, v in options.items() if k != "user"})
    if "user" in options:
        data["options"][0]["options"].append({"name": "user", "type": 6, "value": options["user"]})
        data["resolved"] = {
            "users": {
                options["user"]: {
                    "id": options["user"],
                    "username": "bob",
                    "discriminator": "0",
                    "global_name": "Bob",
                    "avatar": None,
                }
            }
        }
    return data


async def test_save_button_list_done_assign(bot: PapersBot, fake_api: FakeDiscordAPI) -> None:
    found = await run_command(bot, fake_api, "search", options={"query": "cocktail party problem"})
    data = found.json["data"]
    saves = [b for b in buttons(data) if b["custom_id"].startswith("papers:save:")]
    assert len(saves) == len(data["embeds"]) - 1  # one per card (the first embed is the header)
    call = await _press(bot, fake_api, data, saves[0]["custom_id"], 2)
    saved = call.json["data"]
    assert "Saved" in all_text(saved) and saved["flags"] & EPHEMERAL

    feed(bot, interaction(2, command("list")))
    listed = (await fake_api.wait_for_call("POST", CALLBACK, 3)).json["data"]
    text = all_text(listed)
    assert "1." in text and f"saved by <@{USER_ID}>" in text and "to read" in text
    assert listed["allowed_mentions"] == {"parse": []}

    feed(bot, interaction(2, list_data(action="done", number=1)))
    done = (await fake_api.wait_for_call("POST", CALLBACK, 4)).json["data"]
    assert "discussed" in all_text(done)
    feed(bot, interaction(2, list_data(action="assign", number=1, user=OTHER_USER)))
    await fake_api.wait_for_call("POST", CALLBACK, 5)
    feed(bot, interaction(2, command("list")))
    listed = (await fake_api.wait_for_call("POST", CALLBACK, 6)).json["data"]
    assert f"presented by <@{OTHER_USER}>" in all_text(listed)
    assert "discussed" in all_text(listed)

    # A DM is another channel: it neither sees nor changes the server channel's list.
    feed(bot, interaction(2, list_data(action="remove", number=1), guild=False))
    refused = (await fake_api.wait_for_call("POST", CALLBACK, 7)).json["data"]
    assert "empty" in all_text(refused)
    feed(bot, interaction(2, command("list")))
    assert SURVEY in all_text((await fake_api.wait_for_call("POST", CALLBACK, 8)).json["data"])


async def test_cite_and_export_attach_a_bib_file(
    bot: PapersBot, fake_api: FakeDiscordAPI, core: Core
) -> None:
    add_arxiv_paper(core)
    cited = await run_command(bot, fake_api, "cite", options={"paper": "arXiv:1706.03762"})
    description = cited.json["data"]["embeds"][-1]["description"]
    assert description.startswith("```bibtex\n")
    (entry,) = bibtexparser.parse_string(description.removeprefix("```bibtex\n")[:-3]).entries
    assert entry.fields_dict["eprint"].value == "1706.03762"

    await run_command(bot, fake_api, "save", n=2, options={"paper": "1706.03762"})
    exported = await run_command(bot, fake_api, "list", n=3, options={"action": "export"})
    assert not exported.json["data"].get("flags", 0) & EPHEMERAL  # the file is for the channel
    follow = await fake_api.wait_for_call("POST", FOLLOWUP)
    assert follow.headers["Content-Type"].startswith("multipart/form-data")
    ((name, content),) = follow.files
    assert name == "reading-list.bib"
    (entry,) = bibtexparser.parse_string(content.decode("utf-8")).entries
    assert entry.fields_dict["eprint"].value == "1706.03762"
    assert follow.json["allowed_mentions"] == {"parse": []}


def menu_data(message: dict[str, Any]) -> dict[str, Any]:
    """`data` of the "Paper card" message context-menu command on `message`."""
    return {
        "id": "990000000000000002",
        "name": "Paper card",
        "type": 3,
        "target_id": message["id"],
        "resolved": {"messages": {message["id"]: message}},
    }


async def test_paper_card_menu_remembers_the_first_share(
    bot: PapersBot, fake_api: FakeDiscordAPI, core: Core
) -> None:
    add_arxiv_paper(core)
    author = {
        "id": OTHER_USER,
        "username": "bob",
        "discriminator": "0",
        "global_name": "Bob",
        "avatar": None,
    }
    text = "have you read https://huggingface.co/papers/1706.03762 ?"
    first = fake_api.message(CHANNEL_ID, {"content": text}, author=author)
    feed(bot, interaction(2, menu_data(first)))
    data = (await fake_api.wait_for_call("POST", CALLBACK, 1)).json["data"]
    assert "Attention Is All You Need" in all_text(data)
    assert "First shared" not in all_text(data)
    assert any(b["custom_id"].startswith("papers:save:") for b in buttons(data))

    later = fake_api.message(CHANNEL_ID, {"content": "https://arxiv.org/abs/1706.03762v7"})
    feed(bot, interaction(2, menu_data(later)))
    data = (await fake_api.wait_for_call("POST", CALLBACK, 2)).json["data"]
    assert f"First shared here by <@{OTHER_USER}> on " in all_text(data)
    assert data["allowed_mentions"] == {"parse": []}

    nothing = fake_api.message(CHANNEL_ID, {"content": "no links here"})
    feed(bot, interaction(2, menu_data(nothing)))
    data = (await fake_api.wait_for_call("POST", CALLBACK, 3)).json["data"]
    assert "no link to a paper" in all_text(data)


async def test_a_save_button_drawn_before_a_merge_saves_the_surviving_paper(
    bot: PapersBot, fake_api: FakeDiscordAPI, core: Core
) -> None:
    found = await run_command(bot, fake_api, "search", options={"query": "cocktail party problem"})
    data = found.json["data"]
    save = next(b for b in buttons(data) if b["custom_id"].startswith("papers:save:"))
    old = int(save["custom_id"].rsplit(":", 1)[1])
    survivor = merge_title_only(core, old, SURVEY)
    saved = (await _press(bot, fake_api, data, save["custom_id"], 2)).json["data"]
    assert "Saved" in all_text(saved) and "no longer stored" not in all_text(saved)
    with core.db.uow() as uow:
        entries = uow.reading_list.entries(ChannelRef(Platform.DISCORD, CHANNEL_ID, GUILD_ID))
    assert [e.paper_key for e in entries] == [survivor]
