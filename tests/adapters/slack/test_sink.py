"""SlackSink posts digests with metadata, finds them again, and classifies failures."""

from __future__ import annotations

from datetime import date

import pytest
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.installation_store import DbInstallationStore
from adapters.slack.sink import SlackSink, SlackUnavailable, build_slack_sink, sink_client
from bot.models import ChannelRef, Digest, Paper, PaperCard, Platform
from bot.settings import Settings
from storage.db import Database
from storage.kv_store import SqlKeyValueStore
from tests.adapters.slack.conftest import BOT_TOKEN, make_settings
from tests.adapters.slack.fake_slack import FakeSlack

FERNET_KEY = "kP3gqkR6QmV1W3n6YwqI8lq2k4wz0x2JH9b8n5cP1aQ="


def digest(channel: str = "C0DIGEST", delivery_id: int = 11, team: str = "T0TEST") -> Digest:
    cards = tuple(
        PaperCard(Paper(key=i, title=f"Paper {i} <!channel>", paper_id=f"2501.0000{i}"), rank=i)
        for i in range(1, 4)
    )
    return Digest(
        delivery_id=delivery_id,
        channel=ChannelRef(Platform.SLACK, channel, team),
        digest_date=date(2025, 11, 7),
        cards=cards,
        title="Trending papers",
    )


@pytest.fixture
def sink_settings(fake: FakeSlack, sqlite_url: str) -> Settings:
    return make_settings(fake, sqlite_url)


async def test_post_carries_metadata_and_find_posted_sees_it(
    fake: FakeSlack, sink_settings: Settings
) -> None:
    sink = build_slack_sink(sink_settings, None)
    assert sink is not None
    result = await sink.post_digest(digest())
    assert result.ok and result.message_id
    post = fake.calls_to("chat.postMessage")[0]
    assert post.params["metadata"] == {
        "event_type": "papers_digest",
        "event_payload": {"delivery_id": 11},
    }
    assert post.headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    assert "&lt;!channel&gt;" in post.text_dump()
    channel = digest().channel
    assert await sink.find_posted(channel, 11) == result.message_id
    assert await sink.find_posted(channel, 12) is None
    history = fake.calls_to("conversations.history")[0]
    assert str(history.params["include_all_metadata"]).lower() in {"1", "true"}


async def test_429_is_waited_out_per_retry_after(fake: FakeSlack, sink_settings: Settings) -> None:
    sink = build_slack_sink(sink_settings, None)
    assert sink is not None
    fake.fail("chat.postMessage", status=429, retry_after=1)
    result = await sink.post_digest(digest())
    assert result.ok
    assert len(fake.calls_to("chat.postMessage")) == 2


async def test_persistent_429_is_transient_with_retry_after(fake: FakeSlack) -> None:
    client = AsyncWebClient(
        token=BOT_TOKEN,
        base_url=fake.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=0)],
    )
    fake.fail("chat.postMessage", status=429, retry_after=7, times=5)
    result = await SlackSink(client).post_digest(digest())
    assert not result.ok and not result.permanent
    assert result.reason == "ratelimited"
    assert result.retry_after == 7.0


async def test_server_error_is_transient(fake: FakeSlack, sink_settings: Settings) -> None:
    sink = build_slack_sink(sink_settings, None)
    assert sink is not None
    fake.fail("chat.postMessage", status=500)
    result = await sink.post_digest(digest())
    assert not result.ok and not result.permanent
    assert result.reason == "http_500"
    # A post was made once: 5xx is left to the digest engine's backoff, never doubled here.
    assert len(fake.calls_to("chat.postMessage")) == 1


@pytest.mark.parametrize(
    "error", ["channel_not_found", "not_in_channel", "is_archived", "account_inactive"]
)
async def test_permanent_errors(fake: FakeSlack, sink_settings: Settings, error: str) -> None:
    sink = build_slack_sink(sink_settings, None)
    assert sink is not None
    fake.channel_errors["C0DIGEST"] = error
    result = await sink.post_digest(digest())
    assert (result.ok, result.permanent, result.reason) == (False, True, error)
    assert await sink.find_posted(digest().channel, 11) is None


async def test_invalid_auth_is_permanent(fake: FakeSlack, sink_settings: Settings) -> None:
    fake.valid_tokens = {"xoxb-some-other-token"}
    sink = build_slack_sink(sink_settings, None)
    assert sink is not None
    result = await sink.post_digest(digest())
    assert (result.permanent, result.reason) == (True, "invalid_auth")


async def test_history_outage_raises_instead_of_guessing(
    fake: FakeSlack, sink_settings: Settings
) -> None:
    sink = build_slack_sink(sink_settings, None)
    assert sink is not None
    fake.fail("conversations.history", status=503)
    with pytest.raises(SlackUnavailable):
        await sink.find_posted(digest().channel, 11)


async def test_unreachable_slack_is_transient(sink_settings: Settings) -> None:
    settings = sink_settings.model_copy(update={"slack_api_url": "http://127.0.0.1:9/api/"})
    result = await SlackSink(sink_client(settings, BOT_TOKEN)).post_digest(digest())
    assert not result.ok and not result.permanent


async def test_multi_workspace_sink_uses_each_teams_token(fake: FakeSlack, sqlite_url: str) -> None:
    database = Database(sqlite_url)
    database.upgrade()
    settings = make_settings(
        fake,
        sqlite_url,
        SLACK_BOT_TOKEN="",
        SLACK_CLIENT_ID="111.222",
        SLACK_CLIENT_SECRET="client-secret-value",
        PAPERS_ENCRYPTION_KEY=FERNET_KEY,
    )
    store = DbInstallationStore(SqlKeyValueStore(database), FERNET_KEY)
    for team, token in (("T0AAA", "xoxb-team-a-token-000"), ("T0BBB", "xoxb-team-b-token-000")):
        await store.async_save(
            Installation(
                app_id="A0PAPERS",
                team_id=team,
                user_id="U0INSTALLER",
                bot_token=token,
                bot_id="B0",
                bot_user_id="U0BOT",
            )
        )

    sink = build_slack_sink(settings, SqlKeyValueStore(database))
    assert sink is not None
    assert (await sink.post_digest(digest(team="T0BBB"))).ok
    assert (await sink.post_digest(digest(team="T0AAA", delivery_id=12))).ok
    auth = [c.headers["Authorization"] for c in fake.calls_to("chat.postMessage")]
    assert auth == ["Bearer xoxb-team-b-token-000", "Bearer xoxb-team-a-token-000"]
    missing = await sink.post_digest(digest(team="T0NOPE"))
    assert (missing.ok, missing.permanent, missing.reason) == (False, True, "not_installed")
    database.dispose()


def test_no_sink_without_slack(sqlite_url: str) -> None:
    settings = Settings(_env_file=None, DATABASE_URL=sqlite_url)  # type: ignore[call-arg]
    assert build_slack_sink(settings, None) is None
