"""The real bolt app over HTTP and `async_dispatch`, against the loopback fake Slack API."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime

import pytest
from slack_bolt.request.async_request import AsyncBoltRequest

from adapters.slack.app import SlackBot, build_slack_app
from adapters.slack.blocks import ACTION_NEXT, ACTION_SHARE
from bot.models import PaperRecord
from runtime.core import Core
from tests.adapters.slack.conftest import (
    BOT_TOKEN,
    SIGNING_SECRET,
    SURVEY,
    Served,
    action_body,
    event_body,
    eventually,
    find_button,
    make_settings,
    sign,
    slash_body,
)
from tests.adapters.slack.fake_slack import BOT_USER_ID, Call, FakeSlack
from tests.storage.helpers import list_subscriptions


def responses(fake: FakeSlack, rid: str) -> list[Call]:
    return [c for c in fake.calls if c.method == "response_url" and c.path.endswith(f"/{rid}")]


async def wait_response(fake: FakeSlack, rid: str, count: int = 1) -> list[Call]:
    return await fake.wait_for(
        lambda _calls: (found := responses(fake, rid))[count - 1 :] and found
    )


async def run_command(served: Served, fake: FakeSlack, text: str, rid: str, **kw: str) -> Call:
    status, body = await served.post(slash_body(text, response_url=fake.response_url(rid), **kw))
    assert status == 200, body
    return (await wait_response(fake, rid))[-1]


# -- slash commands -------------------------------------------------------------------


async def test_search_over_http_answers_with_the_survey(served: Served, fake: FakeSlack) -> None:
    status, body = await served.post(
        slash_body("search cocktail party problem", response_url=fake.response_url("s1"))
    )
    # The ack is an empty 200; the answer follows on the response_url.
    assert (status, body) == (200, "")
    call = (await wait_response(fake, "s1"))[0]
    assert call.params["response_type"] == "ephemeral"
    assert SURVEY in call.text_dump()
    assert find_button(call.blocks, ACTION_SHARE) is not None


async def test_search_through_async_dispatch(bot: SlackBot, fake: FakeSlack) -> None:
    body = slash_body("cocktail party problem", response_url=fake.response_url("d1"))
    headers = {"content-type": "application/x-www-form-urlencoded", **sign(body)}
    response = await bot.app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
    assert response.status == 200
    call = (await wait_response(fake, "d1"))[0]
    assert SURVEY in call.text_dump()


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda body: sign(body, secret="not-the-secret"), id="forged"),
        pytest.param(lambda body: sign(body, timestamp=str(int(time.time()) - 6 * 60)), id="stale"),
        pytest.param(lambda body: sign(body, timestamp="yesterday"), id="garbled"),
        pytest.param(lambda body: sign(body, timestamp="1e9"), id="float-ish"),
        pytest.param(lambda body: {}, id="unsigned"),
        pytest.param(
            lambda body: {**sign(body), "X-Slack-Signature": "v0=zz"}, id="malformed-signature"
        ),
    ],
)
async def test_bad_signatures_get_401_and_never_reach_a_handler(
    served: Served, bot: SlackBot, fake: FakeSlack, headers: object
) -> None:
    body = slash_body("search cocktail party problem", response_url=fake.response_url("bad"))
    bad_headers = headers(body)  # type: ignore[operator]
    status, _ = await served.post(body, headers=bad_headers)
    assert status == 401
    dispatched = await bot.app.async_dispatch(
        AsyncBoltRequest(
            body=body,
            headers={"content-type": "application/x-www-form-urlencoded", **bad_headers},
        )
    )
    assert dispatched.status == 401
    # A genuine request afterwards is answered; the rejected ones never were, and never
    # even reached authorization (auth.test runs once, for the genuine request).
    await run_command(served, fake, "search speech", "good")
    assert responses(fake, "bad") == []
    assert len(fake.calls_to("auth.test")) == 1


async def test_empty_text_gives_help(served: Served, fake: FakeSlack) -> None:
    call = await run_command(served, fake, "", "h1")
    assert "/papers search" in call.text_dump()
    assert call.params["response_type"] == "ephemeral"


async def test_very_long_query_is_handled_with_a_note(served: Served, fake: FakeSlack) -> None:
    query = "speech separation " + "x" * 5000
    call = await run_command(served, fake, query, "long")
    dump = call.text_dump()
    assert "only the first" in dump
    context = [b for b in call.blocks if b["type"] == "context"]
    assert context, call.blocks


async def test_rtl_and_zero_width_characters_are_normalised(
    served: Served, fake: FakeSlack
) -> None:
    text = "search \u202ecock\u200btail\u200f party\u2066 prob\ufefflem"
    call = await run_command(served, fake, text, "rtl")
    dump = call.text_dump()
    assert SURVEY in dump
    for ch in ("\u202e", "\u200b", "\u200f", "\u2066", "\ufeff"):
        assert ch not in json.loads(dump)["text"]


async def test_unknown_timezone_and_bad_time_come_back_as_clear_errors(
    served: Served, fake: FakeSlack, core: Core
) -> None:
    call = await run_command(served, fake, "subscribe 09:00 Mars/Olympus", "tz")
    assert ":warning:" in call.text_dump()
    assert "Mars/Olympus" in call.text_dump()
    call = await run_command(served, fake, "subscribe 27:99 UTC", "time")
    assert ":warning:" in call.text_dump()
    with core.db.uow() as uow:
        assert uow.subscriptions.count() == 0


async def test_subscribe_stores_one_subscription_for_the_workspace_channel(
    served: Served, fake: FakeSlack, core: Core
) -> None:
    call = await run_command(
        served, fake, "subscribe 09:00 Europe/Berlin diffusion, speech", "sub", channel="C0ML"
    )
    assert "Subscribed" in call.text_dump()
    assert call.params["response_type"] == "ephemeral"
    with core.db.uow() as uow:
        subs = list_subscriptions(uow, platform="slack")
    assert len(subs) == 1
    spec = subs[0].spec
    assert (spec.channel.workspace, spec.channel.channel) == ("T0TEST", "C0ML")
    assert spec.timezone == "Europe/Berlin"
    assert spec.keywords == ("diffusion", "speech")
    assert [int(d) for d in spec.weekdays] == [0, 1, 2, 3, 4]
    call = await run_command(served, fake, "subscriptions", "list", channel="C0ML")
    assert "09:00 Europe/Berlin" in call.text_dump()


async def test_admins_only_checks_users_info(fake: FakeSlack, core: Core, seeded_url: str) -> None:
    from aiohttp.test_utils import TestServer

    from adapters.slack.runner import build_web_app

    fake.users.update(
        {"U0ADMIN": {"is_admin": True}, "U0MEMBER": {"is_admin": False, "is_owner": False}}
    )
    settings = make_settings(fake, seeded_url, PAPERS_SLACK_ADMINS_ONLY="true")
    bot = build_slack_app(core.commands, settings, kv=core.kv)
    server = TestServer(build_web_app(bot), host="127.0.0.1")
    await server.start_server()
    import aiohttp

    async with aiohttp.ClientSession() as session:
        served = Served(server, session)
        call = await run_command(served, fake, "subscribe 09:00 UTC", "m", user="U0MEMBER")
        assert "Only people who manage" in call.text_dump()
        call = await run_command(served, fake, "subscribe 09:00 UTC", "a", user="U0ADMIN")
        assert "Subscribed" in call.text_dump()
        # Searches never need the permission lookup.
        before = len(fake.calls_to("users.info"))
        await run_command(served, fake, "search speech", "s", user="U0MEMBER")
        assert len(fake.calls_to("users.info")) == before
    await server.close()
    assert [c.params["user"] for c in fake.calls_to("users.info")] == ["U0MEMBER", "U0ADMIN"]
    with core.db.uow() as uow:
        assert uow.subscriptions.count() == 1


# -- buttons ---------------------------------------------------------------------------


async def test_next_button_shows_the_next_page(served: Served, fake: FakeSlack) -> None:
    first = await run_command(served, fake, "search speech", "p1")
    assert "Results 1–5" in first.text_dump()
    button = find_button(first.blocks, ACTION_NEXT)
    assert button is not None
    status, _ = await served.post(
        action_body(ACTION_NEXT, button["value"], response_url=fake.response_url("p2"))
    )
    assert status == 200
    second = (await wait_response(fake, "p2"))[0]
    assert second.params["replace_original"] is True
    assert "Results 6–10" in second.text_dump()
    assert find_button(second.blocks, "papers_previous") is not None


async def test_garbled_button_value_gets_a_clear_message(served: Served, fake: FakeSlack) -> None:
    await served.post(action_body(ACTION_NEXT, "{not json", response_url=fake.response_url("g")))
    call = (await wait_response(fake, "g"))[0]
    assert "expired" in call.text_dump()


async def test_share_posts_to_the_channel(served: Served, fake: FakeSlack) -> None:
    first = await run_command(served, fake, "search cocktail party problem", "sh")
    button = find_button(first.blocks, ACTION_SHARE)
    assert button is not None
    await served.post(
        action_body(ACTION_SHARE, button["value"], response_url=fake.response_url("sh2"))
    )
    posts = await fake.wait_for_calls("chat.postMessage")
    assert posts[0].params["channel"] == "C0GENERAL"
    assert SURVEY in posts[0].text_dump()
    assert "<@U0ALICE>" in posts[0].text_dump()
    assert find_button(posts[0].blocks, ACTION_NEXT) is None
    confirmation = (await wait_response(fake, "sh2"))[0]
    assert "Shared" in confirmation.text_dump()


@pytest.mark.parametrize(
    ("error", "expected"),
    [("not_in_channel", "/invite @papers"), ("channel_not_found", "can't see that channel")],
)
async def test_share_into_a_closed_channel_explains_why(
    served: Served, fake: FakeSlack, error: str, expected: str
) -> None:
    first = await run_command(served, fake, "search speech", "x1")
    button = find_button(first.blocks, ACTION_SHARE)
    assert button is not None
    fake.channel_errors["C0GENERAL"] = error
    await served.post(
        action_body(ACTION_SHARE, button["value"], response_url=fake.response_url("x2"))
    )
    call = (await wait_response(fake, "x2"))[0]
    assert expected in call.text_dump()
    assert call.params["replace_original"] is False


async def test_share_survives_a_rate_limit(served: Served, fake: FakeSlack) -> None:
    first = await run_command(served, fake, "search speech", "r1")
    button = find_button(first.blocks, ACTION_SHARE)
    assert button is not None
    fake.fail("chat.postMessage", status=429, retry_after=1)
    await served.post(
        action_body(ACTION_SHARE, button["value"], response_url=fake.response_url("r2"))
    )
    call = (await wait_response(fake, "r2"))[0]
    assert "Shared" in call.text_dump()
    assert len(fake.calls_to("chat.postMessage")) == 2


async def test_share_still_rate_limited_after_retries_says_so(
    served: Served, fake: FakeSlack
) -> None:
    first = await run_command(served, fake, "search speech", "rl1")
    button = find_button(first.blocks, ACTION_SHARE)
    assert button is not None
    # Every attempt (the first and both retries) answers 429: the user learns why.
    fake.fail("chat.postMessage", status=429, retry_after=0, times=3)
    await served.post(
        action_body(ACTION_SHARE, button["value"], response_url=fake.response_url("rl2"))
    )
    call = (await wait_response(fake, "rl2"))[0]
    assert "rate-limiting" in call.text_dump()
    assert call.params["replace_original"] is False
    assert len(fake.calls_to("chat.postMessage")) == 3


# -- events ----------------------------------------------------------------------------


async def test_app_mention_runs_a_search_in_thread(served: Served, fake: FakeSlack) -> None:
    event = {
        "type": "app_mention",
        "user": "U0ALICE",
        "text": f"<@{BOT_USER_ID}> cocktail party problem",
        "ts": "1700000000.000100",
        "channel": "C0GENERAL",
        "event_ts": "1700000000.000100",
    }
    body = event_body(event)
    status, _ = await served.post(body, content_type="application/json")
    assert status == 200
    post = (await fake.wait_for_calls("chat.postMessage"))[0]
    assert post.params["thread_ts"] == "1700000000.000100"
    assert SURVEY in post.text_dump()


async def test_mention_into_a_missing_channel_is_logged_clearly(
    served: Served, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fake.channel_errors["C0GONE"] = "channel_not_found"
    event = {
        "type": "app_mention",
        "user": "U0ALICE",
        "text": f"<@{BOT_USER_ID}> diffusion",
        "ts": "1700000000.000300",
        "channel": "C0GONE",
        "event_ts": "1700000000.000300",
    }
    await served.post(event_body(event), content_type="application/json")
    await fake.wait_for_calls("chat.postMessage")
    await eventually(lambda: "channel_not_found" in caplog.text)
    assert "can't see that channel" in caplog.text


async def test_link_shared_unfurls_known_papers(
    served: Served, fake: FakeSlack, core: Core
) -> None:
    with core.db.uow() as uow:
        uow.papers.upsert_many(
            [
                PaperRecord(
                    title="Attention <!channel> Is All You Need",
                    source="test",
                    paper_id="1706.03762",
                    authors=("Ashish Vaswani", "Noam Shazeer"),
                    abstract="Transformers & more.",
                    upvotes=99,
                )
            ],
            seen_at=datetime.now(UTC),
        )
    known = "https://arxiv.org/abs/1706.03762v7"
    hf = "https://huggingface.co/papers/1706.03762"
    unknown = "https://arxiv.org/abs/2101.00001"
    event = {
        "type": "link_shared",
        "channel": "C0GENERAL",
        "user": "U0ALICE",
        "message_ts": "1700000000.000500",
        "links": [
            {"domain": "arxiv.org", "url": known},
            {"domain": "huggingface.co", "url": hf},
            {"domain": "arxiv.org", "url": unknown},
        ],
        "source": "conversations_history",
        "unfurl_id": "C0GENERAL.1700000000.000500.abc",
        "event_ts": "1700000000.000600",
    }
    await served.post(event_body(event), content_type="application/json")
    call = (await fake.wait_for_calls("chat.unfurl"))[0]
    assert call.params["channel"] == "C0GENERAL"
    assert call.params["ts"] == "1700000000.000500"
    unfurls = call.params["unfurls"]
    assert set(unfurls) == {known, hf}
    text = json.dumps(unfurls[known])
    assert "Attention &lt;!channel&gt; Is All You Need" in text
    assert "<!channel>" not in text
    assert "Transformers &amp; more." in text


async def test_link_shared_with_no_known_paper_calls_nothing(
    served: Served, fake: FakeSlack
) -> None:
    event = {
        "type": "link_shared",
        "channel": "C0GENERAL",
        "user": "U0ALICE",
        "message_ts": "1700000000.000700",
        "links": [{"domain": "arxiv.org", "url": "https://arxiv.org/abs/2101.00001"}],
        "event_ts": "1700000000.000800",
    }
    status, _ = await served.post(event_body(event), content_type="application/json")
    assert status == 200
    # A later search is answered; by then the link event has long been handled.
    await run_command(served, fake, "search speech", "after")
    assert fake.calls_to("chat.unfurl") == []


# -- secrets ---------------------------------------------------------------------------


async def test_tokens_never_appear_in_logs(
    served: Served, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await run_command(served, fake, "search cocktail party problem", "l1")
    await served.post(
        slash_body("search x", response_url=fake.response_url("l2")),
        headers=sign("other body", timestamp="garbage"),
    )
    fake.channel_errors["C0GONE"] = "not_in_channel"
    event = {
        "type": "app_mention",
        "user": "U0ALICE",
        "text": f"<@{BOT_USER_ID}> speech",
        "ts": "1700000000.000900",
        "channel": "C0GONE",
        "event_ts": "1700000000.000900",
    }
    await served.post(event_body(event), content_type="application/json")
    await eventually(lambda: "not_in_channel" in caplog.text)
    assert caplog.records
    assert BOT_TOKEN not in caplog.text
    assert SIGNING_SECRET not in caplog.text


async def test_a_typo_of_a_verb_is_answered_with_did_you_mean(
    served: Served, fake: FakeSlack
) -> None:
    call = await run_command(served, fake, "trendng", "typo")
    assert "did you mean `trending`?" in call.text_dump()
    call = await run_command(served, fake, "search llm since:2025-13-45", "date")
    assert "not a valid date" in call.text_dump()


async def test_weekly_subscribe_and_subscriptions_show_the_cadence(
    served: Served, fake: FakeSlack, core: Core
) -> None:
    call = await run_command(
        served, fake, "subscribe weekly fri 16:00 Europe/Berlin", "weekly", channel="C0WK"
    )
    assert "week" in call.text_dump()
    with core.db.uow() as uow:
        subs = list_subscriptions(uow, platform="slack")
    assert subs[0].spec.cadence.value == "weekly" and [int(d) for d in subs[0].spec.weekdays] == [4]
    call = await run_command(served, fake, "subscriptions", "list-weekly", channel="C0WK")
    assert "weekly on Fri" in call.text_dump() and "Next digest: Fri" in call.text_dump()


async def test_a_start_with_the_bot_token_in_the_environment_warns_of_nothing(
    fake: FakeSlack,
    core: Core,
    seeded_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # bolt reads SLACK_BOT_TOKEN itself and would warn that our client's token wins.
    settings = make_settings(fake, seeded_url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")
    with caplog.at_level(logging.WARNING):
        build_slack_app(core.commands, settings, kv=core.kv)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
