"""Reading list, cite and the .bib upload on Slack: the real bolt app and slack_sdk's
files_upload_v2 against the loopback fake (getUploadURLExternal, the upload URL,
completeUploadExternal)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import bibtexparser

from adapters.slack.blocks import ACTION_SAVE
from bot.models import PaperRecord
from runtime.core import Core
from tests.adapters.slack.conftest import SURVEY, Served, action_body
from tests.adapters.slack.fake_slack import FakeSlack
from tests.adapters.slack.test_app import run_command, wait_response


def save_buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        b["accessory"] for b in blocks if (b.get("accessory") or {}).get("action_id") == ACTION_SAVE
    ]


def add_arxiv_paper(core: Core) -> None:
    record = PaperRecord(
        title="Attention Is All You Need",
        source="test",
        paper_id="1706.03762",
        authors=("Ashish Vaswani", "Noam Shazeer"),
        published=date(2017, 6, 12),
        categories=("cs.CL",),
    )
    with core.db.uow() as uow:
        uow.papers.upsert_many([record], seen_at=datetime.now(UTC))


async def test_save_button_then_list_done_and_other_channels(
    served: Served, fake: FakeSlack
) -> None:
    found = await run_command(served, fake, "search cocktail party problem", "r1")
    buttons = save_buttons(found.blocks)
    assert buttons, "every card carries a Save button"
    await served.post(
        action_body(ACTION_SAVE, buttons[0]["value"], response_url=fake.response_url("r2"))
    )
    saved = (await wait_response(fake, "r2"))[0]
    assert saved.params["replace_original"] is False
    assert "Saved" in saved.text_dump() and SURVEY in saved.text_dump()

    listed = await run_command(served, fake, "list", "r3")
    dump = listed.text_dump()
    assert SURVEY in dump and "saved by <@U0ALICE>" in dump and "to read" in dump
    done = await run_command(served, fake, "list done 1", "r4")
    assert "discussed" in done.text_dump()
    assigned = await run_command(served, fake, "list assign 1 <@U0BOB|bob>", "r5")
    assert "presenter" in assigned.text_dump()
    listed = await run_command(served, fake, "list", "r6")
    assert "presented by <@U0BOB>" in listed.text_dump()

    other = await run_command(served, fake, "list", "r7", channel="C0OTHER")
    assert "empty" in other.text_dump() and SURVEY not in other.text_dump()
    refused = await run_command(served, fake, "list remove 1", "r8", channel="C0OTHER")
    assert "empty" in refused.text_dump()
    still = await run_command(served, fake, "list", "r9")
    assert SURVEY in still.text_dump()


async def test_assignee_text_is_never_a_broadcast(served: Served, fake: FakeSlack) -> None:
    found = await run_command(served, fake, "search cocktail party problem", "m1")
    value = save_buttons(found.blocks)[0]["value"]
    await served.post(action_body(ACTION_SAVE, value, response_url=fake.response_url("m2")))
    await wait_response(fake, "m2")
    await run_command(served, fake, "list assign 1 <!channel>", "m3")
    listed = await run_command(served, fake, "list", "m4")
    assert "<!channel>" not in listed.text_dump()


async def test_cite_gives_parseable_bibtex(served: Served, fake: FakeSlack, core: Core) -> None:
    add_arxiv_paper(core)
    call = await run_command(served, fake, "cite https://arxiv.org/abs/1706.03762v5", "c1")
    code = next(
        b["text"]["text"]
        for b in call.blocks
        if b.get("text", {}).get("text", "").startswith("```")
    )
    bib = code.strip("`").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    (entry,) = bibtexparser.parse_string(bib).entries
    assert entry.fields_dict["eprint"].value == "1706.03762"


async def test_list_export_uploads_a_bib_file(served: Served, fake: FakeSlack, core: Core) -> None:
    add_arxiv_paper(core)
    await run_command(served, fake, "save 1706.03762", "e1")
    call = await run_command(served, fake, "list export bibtex", "e2")
    assert "Uploaded reading-list.bib" in call.text_dump()
    (ask,) = fake.calls_to("files.getUploadURLExternal")
    assert ask.params["filename"] == "reading-list.bib"
    assert len(fake.calls_to("upload")) == 1
    (shared,) = fake.shared_files
    assert shared["channel"] == "C0GENERAL"
    (entry,) = bibtexparser.parse_string(shared["content"].decode("utf-8")).entries
    assert entry.fields_dict["eprint"].value == "1706.03762"


async def test_failed_upload_is_explained(served: Served, fake: FakeSlack, core: Core) -> None:
    add_arxiv_paper(core)
    await run_command(served, fake, "save 1706.03762", "f1")
    fake.fail("files.completeUploadExternal", error="not_in_channel")
    call = await run_command(served, fake, "list export", "f2")
    assert "could not upload" in call.text_dump() and "/invite @papers" in call.text_dump()
