"""Alert messages on Slack through the real slack_sdk and bolt against the loopback fake:
the message of a few papers, the burst summary with its "Show all" button, and the click
answered on the action's response_url to the clicker only."""

from __future__ import annotations

from adapters.slack.alert_blocks import ACTION_ALERTS_ALL
from adapters.slack.sink import build_slack_sink
from bot.alerts.ledger import AlertReport
from bot.alerts.runner import AlertRunner
from bot.models import Platform
from bot.settings import Settings
from runtime.core import Core
from tests.adapters.alert_papers import ingest_matching
from tests.adapters.slack.conftest import Served, action_body, find_button
from tests.adapters.slack.fake_slack import TEAM_ID, Call, FakeSlack
from tests.adapters.slack.test_app import run_command, wait_response

CHANNEL = "C0ALERTS"


async def deliver(core: Core, settings: Settings) -> AlertReport:
    sink = build_slack_sink(settings, core.kv)
    assert sink is not None
    runner = AlertRunner(
        core.db.uow, {Platform.SLACK: sink}, worker_id="w-test", per_channel_interval=0.0
    )
    return await runner.run()


def alert_posts(fake: FakeSlack) -> list[Call]:
    return [c for c in fake.calls_to("chat.postMessage") if c.params.get("channel") == CHANNEL]


async def test_a_few_papers_are_listed_with_the_alerts_they_matched(
    served: Served, fake: FakeSlack, core: Core, settings: Settings
) -> None:
    await run_command(served, fake, "alert quasiparticle braiding", "a1", channel=CHANNEL)
    await run_command(served, fake, 'follow author "Ada Lovelace"', "a2", channel=CHANNEL)
    titles = ingest_matching(core, 2)
    report = await deliver(core, settings)
    assert (report.planned, report.sent) == (1, 1)
    (post,) = alert_posts(fake)
    assert post.params["metadata"]["event_type"] == "papers_alert"
    dump = post.text_dump()
    assert "2 new papers match this channel" in dump
    assert all(t in dump for t in titles)
    matched = [
        e["text"]
        for b in post.blocks
        if b["type"] == "context"
        for e in b["elements"]
        if e["text"].startswith("Matched ")
    ]
    assert matched == ["Matched search “quasiparticle braiding”; author Ada Lovelace"] * 2
    assert find_button(post.blocks, ACTION_ALERTS_ALL) is None
    # Nothing new: the next run posts nothing.
    assert (await deliver(core, settings)).sent == 0
    assert len(alert_posts(fake)) == 1


async def test_a_burst_is_one_summary_and_show_all_answers_the_clicker_only(
    served: Served, fake: FakeSlack, core: Core, settings: Settings
) -> None:
    await run_command(served, fake, "alert quasiparticle braiding", "b1", channel=CHANNEL)
    titles = ingest_matching(core, 14)
    report = await deliver(core, settings)
    assert (report.planned, report.sent) == (1, 1)
    (post,) = alert_posts(fake)
    dump = post.text_dump()
    assert "14 new papers match" in dump and "…and 11 more" in dump
    assert sum(t in dump for t in titles) == 3
    button = find_button(post.blocks, ACTION_ALERTS_ALL)
    assert button is not None and button["text"]["text"] == "Show all 14"

    status, _ = await served.post(
        action_body(
            ACTION_ALERTS_ALL,
            button["value"],
            response_url=fake.response_url("s1"),
            channel=CHANNEL,
        )
    )
    assert status == 200
    (answer,) = await wait_response(fake, "s1")
    assert answer.params["response_type"] == "ephemeral"
    assert answer.params["replace_original"] is False
    shown = answer.text_dump()
    assert "All 14 new papers" in shown and all(t in shown for t in titles)
    # Nothing was posted to the channel for the click.
    assert len(alert_posts(fake)) == 1


async def test_show_all_of_another_channel_or_a_forged_value_shows_nothing(
    served: Served, fake: FakeSlack, core: Core, settings: Settings
) -> None:
    await run_command(served, fake, "alert quasiparticle braiding", "c1", channel=CHANNEL)
    ingest_matching(core, 12)
    await deliver(core, settings)
    button = find_button(alert_posts(fake)[0].blocks, ACTION_ALERTS_ALL)
    assert button is not None
    await served.post(
        action_body(
            ACTION_ALERTS_ALL, button["value"], response_url=fake.response_url("c2"), channel="C0X"
        )
    )
    (other,) = await wait_response(fake, "c2")
    assert "no longer known" in other.text_dump() and "Quasiparticle" not in other.text_dump()
    assert other.params["response_type"] == "ephemeral"
    await served.post(
        action_body(ACTION_ALERTS_ALL, "12;drop", response_url=fake.response_url("c3"))
    )
    (forged,) = await wait_response(fake, "c3")
    assert "expired" in forged.text_dump()


async def test_a_channel_the_bot_was_removed_from_is_paused_then_resumed(
    served: Served, fake: FakeSlack, core: Core, settings: Settings
) -> None:
    await run_command(served, fake, "alert quasiparticle braiding", "p1", channel=CHANNEL)
    fake.channel_errors[CHANNEL] = "not_in_channel"
    ingest_matching(core, 1)
    report = await deliver(core, settings)
    assert (report.failed, report.held, report.paused) == (0, 1, [f"slack:{TEAM_ID}:{CHANNEL}"])
    listed = await run_command(served, fake, "following", "p2", channel=CHANNEL)
    assert "PAUSED since" in listed.text_dump() and "(not_in_channel)" in listed.text_dump()
    assert "1 alert message waits to be posted" in listed.text_dump()
    # The bot is invited back and a manager re-adds the alert: deliveries resume, and
    # the refused message, which waited, goes out too (after a look in the channel's
    # history, since it was tried: in either order with the new one).
    del fake.channel_errors[CHANNEL]
    again = await run_command(served, fake, "alert quasiparticle braiding", "p3", channel=CHANNEL)
    assert "they are on again" in again.text_dump()
    assert "1 alert message that could not be posted will follow shortly" in again.text_dump()
    tried = len(alert_posts(fake))  # the refused attempt
    titles = ingest_matching(core, 2)  # the first paper again, and one new
    report = await deliver(core, settings)
    assert (report.sent, report.paused) == (2, [])
    waited, new = sorted(alert_posts(fake)[tried:], key=lambda p: titles[0] not in p.text_dump())
    assert titles[0] in waited.text_dump() and titles[1] not in waited.text_dump()
    assert titles[1] in new.text_dump() and titles[0] not in new.text_dump()
    assert (await deliver(core, settings)).sent == 0
