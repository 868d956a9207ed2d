"""Channel taste on Slack (issue 13): 👍/👎 buttons, thumbs reactions on a digest, reset and
uninstall, through the real bolt app, the real digest runner and slack_sdk against the
loopback fake."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from adapters.slack.blocks import ACTION_VOTE_DOWN, ACTION_VOTE_UP
from adapters.slack.sink import SlackSink, sink_client
from bot.models import ChannelRef, Platform
from bot.settings import Settings
from runtime.core import Core
from tests.adapters.slack.conftest import (
    BOT_TOKEN,
    Served,
    action_body,
    event_body,
    eventually,
)
from tests.adapters.slack.fake_slack import TEAM_ID, FakeSlack
from tests.adapters.slack.test_app import run_command, wait_response
from tests.adapters.taste_helpers import (
    DIGEST_AT,
    add_papers,
    deliver_digest,
    last_digest,
    stored_votes,
)

CHANNEL = ChannelRef(Platform.SLACK, "C0GENERAL", TEAM_ID)


def vote_buttons(blocks: list[dict[str, Any]], action_id: str) -> list[dict[str, Any]]:
    return [
        element
        for block in blocks
        if block.get("type") == "actions"
        for element in block.get("elements", [])
        if element.get("action_id") == action_id
    ]


def votes(core: Core, channel: ChannelRef = CHANNEL) -> list[tuple[int, str, int, str]]:
    return stored_votes(core.db, channel)


async def press(
    served: Served, fake: FakeSlack, action: str, value: str, rid: str, **kw: str
) -> str:
    status, body = await served.post(
        action_body(action, value, response_url=fake.response_url(rid), **kw)
    )
    assert status == 200, body
    reply = (await wait_response(fake, rid))[-1]
    assert reply.params["replace_original"] is False
    return reply.text_dump()


def slack_sink(settings: Settings) -> SlackSink:
    return SlackSink(sink_client(settings, BOT_TOKEN))


async def test_vote_buttons_on_search_cards_record_and_replace(
    served: Served, fake: FakeSlack, core: Core
) -> None:
    found = await run_command(served, fake, "search cocktail party problem", "r1")
    ups = vote_buttons(found.blocks, ACTION_VOTE_UP)
    downs = vote_buttons(found.blocks, ACTION_VOTE_DOWN)
    assert ups and len(ups) == len(downs), "every card carries 👍 and 👎"
    key = ups[0]["value"]

    text = await press(served, fake, ACTION_VOTE_UP, key, "r2")
    assert "👍 noted" in text
    assert votes(core) == [(int(key), "U0ALICE", 1, "button")]

    # A changed vote replaces the old one: still one vote per person per paper.
    text = await press(served, fake, ACTION_VOTE_DOWN, key, "r3")
    assert "Changed your vote" in text
    assert votes(core) == [(int(key), "U0ALICE", -1, "button")]

    await press(served, fake, ACTION_VOTE_UP, key, "r4", user="U0BOB")
    assert votes(core) == [(int(key), "U0ALICE", -1, "button"), (int(key), "U0BOB", 1, "button")]
    # Votes are per channel.
    assert votes(core, ChannelRef(Platform.SLACK, "C0OTHER", TEAM_ID)) == []

    summary = await run_command(served, fake, "taste", "r5")
    dump = summary.text_dump()
    assert "1 vote 👍 and 1 👎 on 1 paper" in dump
    assert "U0ALICE" not in dump and "U0BOB" not in dump, "voters are never shown"


async def test_reactions_on_a_digest_vote_and_their_removal_takes_them_back(
    served: Served, fake: FakeSlack, core: Core, settings: Settings
) -> None:
    add_papers(core.db, DIGEST_AT.date(), "d1")
    await deliver_digest(core.db, CHANNEL, slack_sink(settings))
    (post,) = fake.calls_to("chat.postMessage")
    digest_ts, digest_keys = last_digest(core.db)
    assert len(digest_keys) > 1
    # The digest's cards carry the buttons too.
    assert vote_buttons(post.blocks, ACTION_VOTE_UP)

    def reaction(kind: str, name: str, ts: str = digest_ts, user: str = "U0CAROL") -> str:
        return event_body(
            {
                "type": kind,
                "user": user,
                "reaction": name,
                "item": {"type": "message", "channel": CHANNEL.channel, "ts": ts},
                "item_user": "UBOTPAPERS",
                "event_ts": "1700000002.000100",
            }
        )

    status, _ = await served.post(
        reaction("reaction_added", "+1::skin-tone-3"), content_type="application/json"
    )
    assert status == 200
    await eventually(lambda: len(votes(core)) == len(digest_keys))
    assert {v[2] for v in votes(core)} == {1} and {v[3] for v in votes(core)} == {"reaction"}

    # A button vote on one paper is more specific than a reaction on the whole digest.
    await press(served, fake, ACTION_VOTE_DOWN, str(digest_keys[0]), "r1", user="U0CAROL")
    status, _ = await served.post(
        reaction("reaction_removed", "+1"), content_type="application/json"
    )
    assert status == 200
    await eventually(lambda: len(votes(core)) == 1)
    assert votes(core) == [(digest_keys[0], "U0CAROL", -1, "button")]

    # Other reactions, and reactions on messages that are no digest, do not vote.
    for body in (
        reaction("reaction_added", "tada"),
        reaction("reaction_added", "-1", ts="1.000001"),
    ):
        status, _ = await served.post(body, content_type="application/json")
        assert status == 200
    status, _ = await served.post(
        reaction("reaction_added", "thumbsdown", user="U0DAN"), content_type="application/json"
    )
    await eventually(lambda: len(votes(core)) == 1 + len(digest_keys))
    assert all(v[2] == -1 for v in votes(core))


async def test_taste_reset_and_uninstall_delete_the_votes(
    served: Served, fake: FakeSlack, core: Core
) -> None:
    found = await run_command(served, fake, "search cocktail party problem", "r1")
    for i, button in enumerate(vote_buttons(found.blocks, ACTION_VOTE_UP)[:2]):
        await press(served, fake, ACTION_VOTE_UP, button["value"], f"v{i}")
    assert len(votes(core)) == 2

    off = await run_command(served, fake, "taste off", "r2")
    assert "Taste is off" in off.text_dump()
    with core.db.uow() as uow:
        assert uow.votes.settings(CHANNEL).enabled is False
    reset = await run_command(served, fake, "taste reset", "r3")
    assert "Forgot this channel's 2 votes" in reset.text_dump()
    assert votes(core) == []

    await press(
        served,
        fake,
        ACTION_VOTE_DOWN,
        found and vote_buttons(found.blocks, ACTION_VOTE_DOWN)[0]["value"],
        "r4",
    )
    assert len(votes(core)) == 1
    status, _ = await served.post(
        event_body({"type": "app_uninstalled", "event_ts": "1700000003.000100"}),
        content_type="application/json",
    )
    assert status == 200
    await eventually(lambda: votes(core) == [])
    with core.db.uow() as uow:
        assert uow.votes.settings(CHANNEL).enabled is True, "the taste switch is gone too"


async def test_the_next_digest_is_ordered_by_the_votes_and_says_why(
    served: Served, fake: FakeSlack, core: Core, settings: Settings
) -> None:
    add_papers(core.db, DIGEST_AT.date(), "d1")
    await deliver_digest(core.db, CHANNEL, slack_sink(settings))
    first = fake.calls_to("chat.postMessage")[0].text_dump()
    assert first.index("Speech Separation") < first.index("Protein Structure"), "trending order"
    d1 = last_digest(core.db)[1]
    for i, key in enumerate(d1):
        with core.db.uow() as uow:
            (paper,) = uow.papers.get_many([key])
        action = ACTION_VOTE_UP if "Protein" in paper.title else ACTION_VOTE_DOWN
        for user in ("U0ALICE", "U0BOB", "U0CAROL"):
            await press(served, fake, action, str(key), f"v{i}{user}", user=user)

    next_day = DIGEST_AT + timedelta(days=1)
    add_papers(core.db, next_day.date(), "d2")
    await deliver_digest(core.db, CHANNEL, slack_sink(settings), next_day)
    second = fake.calls_to("chat.postMessage")[1]
    sections = [
        b["text"]["text"] for b in second.blocks if b.get("type") == "section" and "accessory" in b
    ]
    assert len(sections) == 5
    # The channel liked protein papers: they now come first, each saying why ...
    assert all("Protein Structure" in text for text in sections[:4])
    assert all("like “" in text or "taste for" in text for text in sections[:4])
    # ... and one slot in five explores outside the taste, labelled as such.
    assert "Speech Separation" in sections[4] and "exploring" in sections[4]
    with core.db.uow() as uow:
        sent = uow.deliveries.sent_paper_keys(CHANNEL)
    assert set(d1) < sent and len(sent) == 10, "never the same paper twice"
