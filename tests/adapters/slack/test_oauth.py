"""Multi-workspace mode: the OAuth install flow end to end, with tokens encrypted at rest."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from slack_sdk.oauth.installation_store.models.installation import Installation
from sqlalchemy import select

from adapters.slack.app import SlackConfigError, build_slack_app
from adapters.slack.installation_store import (
    NS_BOT,
    NS_INSTALLATION,
    DbInstallationStore,
    DbOAuthStateStore,
)
from adapters.slack.runner import build_web_app
from runtime.core import Core, build_core
from storage.db import Database
from storage.kv_store import SqlKeyValueStore
from storage.tables import KeyValueRow
from tests.adapters.slack.conftest import SURVEY, Served, make_settings, slash_body
from tests.adapters.slack.fake_slack import FakeSlack

FERNET_KEY = "kP3gqkR6QmV1W3n6YwqI8lq2k4wz0x2JH9b8n5cP1aQ="
INSTALLED_TOKEN = "xoxb-oauth-installed-token-123456"


@pytest.fixture
def oauth_core(fake: FakeSlack, seeded_url: str) -> AsyncIterator[Core]:
    settings = make_settings(
        fake,
        seeded_url,
        SLACK_BOT_TOKEN="",
        SLACK_CLIENT_ID="111.222",
        SLACK_CLIENT_SECRET="client-secret-value",
        PAPERS_ENCRYPTION_KEY=FERNET_KEY,
    )
    core = build_core(settings)
    yield core  # type: ignore[misc]
    core.db.dispose()


async def test_install_flow_stores_an_encrypted_token_and_serves_the_team(
    fake: FakeSlack, oauth_core: Core
) -> None:
    bot = build_slack_app(oauth_core.commands, oauth_core.settings, kv=oauth_core.kv)
    assert bot.installation_store is not None
    server = TestServer(build_web_app(bot), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(server.make_url("/slack/install")) as resp:
                assert resp.status == 200
                page = await resp.text()
                cookie = resp.headers["Set-Cookie"].split(";")[0]
            match = re.search(r"state=([\w-]+)", page)
            assert match, page
            state = match.group(1)
            assert "client_id=111.222" in page
            callback = server.make_url("/slack/oauth_redirect").with_query(
                code="temp-code", state=state
            )
            async with session.get(callback, headers={"Cookie": cookie}) as resp:
                assert resp.status == 200, await resp.text()
            assert len(fake.calls_to("oauth.v2.access")) == 1

            # Replaying the same state fails: states are single-use.
            async with session.get(callback, headers={"Cookie": cookie}) as resp:
                assert resp.status >= 400

            # The installed team can now use /papers; its token comes from the store.
            served = Served(server, session)
            status, _ = await served.post(
                slash_body(
                    "cocktail party problem", response_url=fake.response_url("o1"), team="T0OAUTH"
                )
            )
            assert status == 200
            call = (
                await fake.wait_for(
                    lambda calls: [c for c in calls if c.path.endswith("/response/o1")]
                )
            )[0]
            assert SURVEY in call.text_dump()
            auth_tests = fake.calls_to("auth.test")
            assert auth_tests[-1].headers["Authorization"] == f"Bearer {INSTALLED_TOKEN}"
    finally:
        await server.close()

    found = await bot.installation_store.async_find_bot(enterprise_id=None, team_id="T0OAUTH")
    assert found is not None and found.bot_token == INSTALLED_TOKEN
    assert await bot.installation_store.bot_token("T0OAUTH") == INSTALLED_TOKEN
    with oauth_core.db.session() as session:
        rows = session.scalars(
            select(KeyValueRow).where(KeyValueRow.namespace.in_([NS_BOT, NS_INSTALLATION]))
        ).all()
        assert rows
        for row in rows:
            assert INSTALLED_TOKEN.encode() not in bytes(row.value)
            assert b"xoxb-" not in bytes(row.value)


async def test_unknown_team_is_not_served(fake: FakeSlack, oauth_core: Core) -> None:
    bot = build_slack_app(oauth_core.commands, oauth_core.settings, kv=oauth_core.kv)
    server = TestServer(build_web_app(bot), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            status, _ = await Served(server, session).post(
                slash_body("speech", response_url=fake.response_url("u"), team="T0STRANGER")
            )
    finally:
        await server.close()
    # bolt answers an uninstalled team itself with our text; the core never runs.
    assert status == 200
    (call,) = await fake.wait_for_calls("response_url")
    assert "not installed in this workspace" in call.text_dump()
    assert "Results" not in call.text_dump()


async def test_oauth_without_encryption_key_is_refused(fake: FakeSlack, oauth_core: Core) -> None:
    settings = oauth_core.settings.model_copy(update={"token_encryption_key": None})
    with pytest.raises(SlackConfigError, match="PAPERS_ENCRYPTION_KEY"):
        build_slack_app(oauth_core.commands, settings, kv=oauth_core.kv)


async def test_state_store_is_single_use(oauth_core: Core) -> None:
    store = DbOAuthStateStore(oauth_core.kv)
    state = await store.async_issue()
    assert await store.async_consume(state)
    assert not await store.async_consume(state)
    assert not await store.async_consume("never-issued")


async def test_installation_store_round_trip_on_each_backend(db: Database) -> None:
    store = DbInstallationStore(SqlKeyValueStore(db), FERNET_KEY)
    installation = Installation(
        app_id="A0PAPERS",
        team_id="T0ROUND",
        user_id="U0INSTALLER",
        bot_token="xoxb-round-trip-token-1",
        bot_id="B0",
        bot_user_id="U0BOT",
        bot_scopes=["commands", "chat:write"],
    )
    await store.async_save(installation)
    # Saving again (a reinstall) replaces rather than duplicates.
    await store.async_save(installation)
    found = await store.async_find_installation(enterprise_id=None, team_id="T0ROUND")
    assert found is not None and found.bot_token == "xoxb-round-trip-token-1"
    assert found.bot_scopes == ["commands", "chat:write"]
    assert await store.bot_token("T0ROUND") == "xoxb-round-trip-token-1"
    assert await store.bot_token("T0OTHER") is None
    # The wrong key reads nothing rather than garbage.
    other = DbInstallationStore(
        SqlKeyValueStore(db), "q0X1nYkAqZBXsBdH4lqXUlvJ0tT0b1n8wB1rJmKc2eQ="
    )
    assert await other.bot_token("T0ROUND") is None
    await store.async_delete_all(enterprise_id=None, team_id="T0ROUND")
    assert await store.bot_token("T0ROUND") is None
