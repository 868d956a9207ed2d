"""Channel taste on Slack (issue 13): 👍/👎 buttons, thumbs reactions on a digest, reset and
uninstall, through the real bolt app, the real digest runner and slack_sdk against the
loopback fake."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from adapters.slack.blocks import ACTION_VOTE_DOWN, ACTION_VOTE_UP
from adapters.slack.sink import SlackSink, sink_client
from bot.digests.runner import DigestRunner
from bot.digests.schedule import next_run_after
from bot.models import ChannelRef, PaperRecord, Platform, SubscriptionSpec, Weekday
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

CHANNEL = ChannelRef(Platform.SLACK, "C0GENERAL", TEAM_ID)
DIGEST_AT = datetime(2025, 11, 7, 9, 5, tzinfo=UTC)


def vote_buttons(blocks: list[dict[str, Any]], action_id: str) -> list[dict[str, Any]]:
    return [
        element
        for block in blocks
        if block.get("type") == "actions"
        for element in block.get("elements", [])
        if element.get("action_id") == action_id
    ]


def votes(core: Core, channel: ChannelRef = CHANNEL) -> list[tuple[int, str, int, str]]:
    with core.db.uow() as uow:
        return sorted(
            (v.paper_key, v.user, v.value, v.source.value) for v in uow.votes.for_channel(channel)
        )


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


SPEECH = "speech separation of overlapping talkers with a neural mask estimator"
PROTEIN = "protein structure prediction with equivariant graph networks"


def add_papers(core: Core, day: date, prefix: str) -> None:
    """Four speech and four protein papers published on `day`; speech is hotter."""
    records = [
        PaperRecord(
            title=f"{prefix} {topic.split(' with ')[0].title()} {i}",
            source="test",
            paper_id=f"2511.{prefix_number(prefix)}{n:03d}",
            abstract=f"We study {topic}. Variant {i} of the method.",
            authors=("A. Author",),
            published=day,
            upvotes=upvotes,
        )
        for n, (topic, i, upvotes) in enumerate(
            [(SPEECH, i, 90 - i) for i in range(4)] + [(PROTEIN, i, 40 - i) for i in range(4)]
        )
    ]
    with core.db.uow() as uow:
        uow.papers.upsert_many(records, seen_at=datetime.combine(day, time(0), tzinfo=UTC))


def prefix_number(prefix: str) -> int:
    return sum(ord(c) for c in prefix) % 90 + 10


async def deliver_digest(core: Core, settings: Settings, at: datetime = DIGEST_AT) -> None:
    """Subscribe the channel (once) and run the real digest runner into the fake."""
    with core.db.uow() as uow:
        if uow.subscriptions.for_channel(CHANNEL) is None:
            spec = SubscriptionSpec(
                channel=CHANNEL, at=time(9, 0), timezone="UTC", weekdays=tuple(Weekday)
            )
            uow.subscriptions.upsert(
                spec, next_run_at=next_run_after(spec, at - timedelta(hours=1))
            )
    runner = DigestRunner(
        core.db.uow,
        {Platform.SLACK: SlackSink(sink_client(settings, BOT_TOKEN))},
        worker_id="test",
        clock=lambda: at,
        per_channel_interval=0,
    )
    report = await runner.run_due(at)
    assert report.sent == 1, report.summary()


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
    add_papers(core, DIGEST_AT.date(), "d1")
    await deliver_digest(core, settings)
    (post,) = fake.calls_to("chat.postMessage")
    digest_ts = _digest_ts(core)
    digest_keys = _digest_keys(core)
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


def _digest_ts(core: Core) -> str:
    with core.db.uow() as uow:
        sub = uow.subscriptions.for_channel(CHANNEL)
        assert sub is not None
    from sqlalchemy import select

    from storage.tables import DeliveryRow

    with core.db.uow() as uow:
        ts = uow.session.scalar(select(DeliveryRow.message_id))
    assert ts
    return str(ts)


def _digest_keys(core: Core) -> list[int]:
    from sqlalchemy import select

    from storage.tables import DeliveryRow

    with core.db.uow() as uow:
        keys = uow.session.scalar(select(DeliveryRow.paper_keys))
    return [int(k) for k in keys or ()]


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
    add_papers(core, DIGEST_AT.date(), "d1")
    await deliver_digest(core, settings)
    first = fake.calls_to("chat.postMessage")[0].text_dump()
    assert first.index("Speech Separation") < first.index("Protein Structure"), "trending order"
    for i, key in enumerate(_digest_keys(core)):
        with core.db.uow() as uow:
            (paper,) = uow.papers.get_many([key])
        action = ACTION_VOTE_UP if "Protein" in paper.title else ACTION_VOTE_DOWN
        for user in ("U0ALICE", "U0BOB"):
            await press(served, fake, action, str(key), f"v{i}{user}", user=user)

    next_day = DIGEST_AT + timedelta(days=1)
    add_papers(core, next_day.date(), "d2")
    await deliver_digest(core, settings, next_day)
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
    d1 = {int(k) for k in _digest_keys(core)}
    with core.db.uow() as uow:
        sent = uow.deliveries.sent_paper_keys(CHANNEL)
    assert d1 < sent and len(sent) == 10, "never the same paper twice"
