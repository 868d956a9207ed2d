"""Buttons drawn before a merge act on the surviving paper: a card's Save, 👍 and "More like
this" carry the key of a title-only paper that a later record folds into the paper with
its arXiv id. Through the real bolt app against the loopback fake."""

from __future__ import annotations

from collections.abc import Callable

from adapters.slack.blocks import ACTION_SAVE, ACTION_VOTE_UP
from adapters.slack.card_actions import ACTION_SIMILAR
from adapters.slack.sink import SlackSink
from bot.alerts.models import AlertPost
from bot.models import ChannelRef, Digest, PaperRecord, Platform, PostResult
from bot.settings import Settings
from bot.text import title_key
from runtime.core import Core
from tests.adapters.merged_papers import ARXIV_ID, merge_title_only
from tests.adapters.slack.conftest import SURVEY, Served, event_body, eventually
from tests.adapters.slack.fake_slack import TEAM_ID, FakeSlack
from tests.adapters.slack.test_app import run_command
from tests.adapters.slack.test_reading_list import save_buttons
from tests.adapters.slack.test_taste import press, slack_sink, vote_buttons, votes
from tests.adapters.taste_helpers import DIGEST_AT, add_papers, deliver_digest, last_digest

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


class MergingSink:
    """The Slack sink, with an ingest merging a paper of the digest while it is posted
    (after the run claimed the digest, before it records it as sent)."""

    def __init__(self, sink: SlackSink, merge: Callable[[], object]) -> None:
        self.sink = sink
        self.merge = merge

    async def post_digest(self, digest: Digest) -> PostResult:
        self.merge()
        return await self.sink.post_digest(digest)

    async def find_posted(self, channel: ChannelRef, delivery_id: int) -> str | None:
        return await self.sink.find_posted(channel, delivery_id)

    async def post_alerts(self, post: AlertPost) -> PostResult:
        return await self.sink.post_alerts(post)

    async def find_alert_posted(self, channel: ChannelRef, delivery_id: int) -> str | None:
        return await self.sink.find_alert_posted(channel, delivery_id)


async def test_a_digest_posted_across_a_merge_is_recorded_and_reacted_to_as_the_survivor(
    served: Served, fake: FakeSlack, core: Core, settings: Settings
) -> None:
    title = "Cocktail party speech separation, a title-only record"
    add_papers(core.db, DIGEST_AT.date(), "d1")
    record = PaperRecord(title=title, source="hf_page", upvotes=500, published=DIGEST_AT.date())
    with core.db.uow() as uow:
        uow.papers.upsert_many([record], seen_at=DIGEST_AT)
        (old,) = [p.key for p in uow.papers.with_title_keys([title_key(title)])]
    merged: list[int] = []
    sink = MergingSink(
        slack_sink(settings), lambda: merged.append(merge_title_only(core, old, title))
    )
    await deliver_digest(core.db, CHANNEL, sink)  # recorded as sent: no error on the old key
    (post,) = fake.calls_to("chat.postMessage")
    assert title in post.text_dump()
    digest_ts, keys = last_digest(core.db)
    (survivor,) = merged
    assert survivor in keys and old not in keys
    with core.db.uow() as uow:
        assert survivor in uow.deliveries.sent_paper_keys(CHANNEL)

    reaction = {
        "type": "reaction_added",
        "user": "U0CAROL",
        "reaction": "+1",
        "item": {"type": "message", "channel": CHANNEL.channel, "ts": digest_ts},
        "item_user": "UBOTPAPERS",
        "event_ts": "1700000002.000100",
    }
    status, _ = await served.post(event_body(reaction), content_type="application/json")
    assert status == 200
    await eventually(lambda: len(votes(core)) == len(keys))
    assert {v[0] for v in votes(core)} == set(keys)
