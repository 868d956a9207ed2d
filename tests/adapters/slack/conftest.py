"""Fixtures for the Slack adapter tests: the loopback fake, a seeded core, the served app.

Requests are signed exactly as Slack signs them (`v0:{ts}:{body}`, HMAC-SHA256 with the
signing secret) using slack_sdk's own `SignatureVerifier`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from slack_sdk.signature import SignatureVerifier

from adapters.slack.app import SlackBot, build_slack_app
from adapters.slack.runner import build_web_app
from bot.ingest.service import ingest_seeds
from bot.settings import Settings
from runtime.core import Core, build_core
from storage.db import Database
from tests.adapters.slack.fake_slack import TEAM_ID, FakeSlack

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-1234567890-0987654321-TESTtokenDoNotLog"
SEED_AS_OF = date(2025, 11, 7)
SURVEY = "Advances in Speech Separation: Techniques, Challenges, and Future Trends"


def sign(
    body: str, *, timestamp: str | None = None, secret: str = SIGNING_SECRET
) -> dict[str, str]:
    ts = timestamp if timestamp is not None else str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature or ""}


def slash_body(
    text: str,
    *,
    response_url: str,
    user: str = "U0ALICE",
    channel: str = "C0GENERAL",
    team: str = TEAM_ID,
) -> str:
    return urlencode(
        {
            "token": "verification-token-unused",
            "team_id": team,
            "team_domain": "test",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": "alice",
            "command": "/papers",
            "text": text,
            "api_app_id": "A0PAPERS",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        }
    )


def action_body(
    action_id: str,
    value: str,
    *,
    response_url: str,
    user: str = "U0ALICE",
    channel: str = "C0GENERAL",
) -> str:
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "test"},
        "user": {"id": user, "username": "alice", "team_id": TEAM_ID},
        "api_app_id": "A0PAPERS",
        "token": "verification-token-unused",
        "container": {
            "type": "message",
            "message_ts": "1700000000.000100",
            "channel_id": channel,
            "is_ephemeral": True,
        },
        "trigger_id": "1234.5678.abcd",
        "channel": {"id": channel, "name": "general"},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b1",
                "value": value,
                "action_ts": "1700000001.000200",
                "text": {"type": "plain_text", "text": "Next"},
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def event_body(event: dict[str, Any], *, team: str = TEAM_ID) -> str:
    return json.dumps(
        {
            "token": "verification-token-unused",
            "team_id": team,
            "api_app_id": "A0PAPERS",
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{int(time.time() * 1000)}",
            "event_time": int(time.time()),
            "authorizations": [
                {"team_id": team, "user_id": "UBOTPAPERS", "is_bot": True, "enterprise_id": None}
            ],
        }
    )


async def eventually(predicate: Callable[[], object], *, wait: float = 30.0) -> None:
    """Poll until `predicate()` holds (for effects the fake cannot signal, e.g. log lines).

    The bound only stops a broken test from hanging; nothing asserts on elapsed time.
    """
    deadline = time.monotonic() + wait
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.02)


def find_button(call_blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any] | None:
    for block in call_blocks:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("action_id") == action_id:
                return element
    return None


def make_settings(fake: FakeSlack, database_url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.api_url,
        "PAPERS_ARXIV_API_URL": fake.arxiv_url,
        "PAPERS_HTTP_HOST": "127.0.0.1",
    }
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def seed_database(database_url: str) -> None:
    database = Database(database_url)
    database.upgrade()
    try:
        ingest_seeds(database.uow, as_of=SEED_AS_OF, now=datetime.now(UTC))
    finally:
        database.dispose()


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A migrated SQLite file with the seeds ingested, built once and copied per test."""
    path = tmp_path_factory.mktemp("seeded") / "papers.db"
    seed_database(f"sqlite:///{path}")
    return path.read_bytes()


@pytest.fixture
def seeded_url(tmp_path: Any, seeded_template: bytes) -> str:
    path = tmp_path / "papers.db"
    path.write_bytes(seeded_template)
    return f"sqlite:///{path}"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = await FakeSlack().start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def settings(fake: FakeSlack, seeded_url: str) -> Settings:
    return make_settings(fake, seeded_url)


@pytest.fixture
def core(settings: Settings) -> Iterator[Core]:
    built = build_core(settings)
    try:
        yield built
    finally:
        built.db.dispose()


@pytest.fixture
def bot(core: Core, settings: Settings) -> SlackBot:
    return build_slack_app(core.commands, settings, kv=core.kv)


class Served:
    """The bot's aiohttp app on a loopback port, plus a client session to call it."""

    def __init__(self, server: TestServer, session: aiohttp.ClientSession) -> None:
        self.server = server
        self.session = session

    @property
    def events_url(self) -> str:
        return str(self.server.make_url("/slack/events"))

    async def post(
        self,
        body: str,
        *,
        content_type: str = "application/x-www-form-urlencoded",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        all_headers = {
            "Content-Type": content_type,
            **(headers if headers is not None else sign(body)),
        }
        async with self.session.post(self.events_url, data=body.encode(), headers=all_headers) as r:
            return r.status, await r.text()


@pytest.fixture
async def served(bot: SlackBot) -> AsyncIterator[Served]:
    server = TestServer(build_web_app(bot), host="127.0.0.1")
    await server.start_server()
    session = aiohttp.ClientSession()
    try:
        yield Served(server, session)
    finally:
        await session.close()
        await server.close()
