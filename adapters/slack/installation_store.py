"""OAuth installation and state stores for multi-workspace Slack, kept in our database.

Both live in the key-value port (`bot.ports.KeyValueStore`, the `kv_store` table).
Installations hold bot tokens, so their JSON is encrypted at rest with Fernet
(`PAPERS_ENCRYPTION_KEY`); a database dump alone reveals no token. The port is
synchronous, so every call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from bot.ports import KeyValueStore

log = logging.getLogger(__name__)

NS_BOT = "slack_bot"
NS_INSTALLATION = "slack_installation"
NS_STATE = "slack_oauth_state"
STATE_TTL = timedelta(minutes=10)
_NONE = "-"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _team_key(enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool) -> str:
    # An org-wide install is one installation for every workspace of the enterprise.
    team = _NONE if is_enterprise_install else (team_id or _NONE)
    return f"{enterprise_id or _NONE}:{team}"


class SealedValues:
    """The key-value port with every value encrypted by Fernet before it is stored."""

    def __init__(self, kv: KeyValueStore, fernet: Fernet) -> None:
        self.kv = kv
        self.fernet = fernet

    def put(self, namespace: str, name: str, value: bytes) -> None:
        self.kv.put(namespace, name, self.fernet.encrypt(value))

    def get(self, namespace: str, name: str) -> bytes | None:
        data = self.kv.get(namespace, name)
        if data is None:
            return None
        try:
            return self.fernet.decrypt(data)
        except InvalidToken:
            # Wrong key (rotated without re-encrypting): treat as not installed, loudly.
            log.error("cannot decrypt %s/%s: PAPERS_ENCRYPTION_KEY does not match", namespace, name)
            return None

    def delete(self, namespace: str, name: str) -> None:
        self.kv.delete(namespace, name)

    def delete_prefix(self, namespace: str, prefix: str) -> None:
        self.kv.delete_prefix(namespace, prefix)


class DbInstallationStore(AsyncInstallationStore):
    """bolt installation store: the latest installation and bot per workspace, encrypted."""

    def __init__(self, kv: KeyValueStore, encryption_key: str) -> None:
        self.kv = SealedValues(kv, Fernet(encryption_key.encode()))
        self._logger = log

    @property
    def logger(self) -> logging.Logger:
        return self._logger

    async def async_save(self, installation: Installation) -> None:
        await asyncio.to_thread(self._save, installation)

    def _save(self, installation: Installation) -> None:
        team = _team_key(
            installation.enterprise_id,
            installation.team_id,
            bool(installation.is_enterprise_install),
        )
        data = json.dumps(installation.to_dict_for_copying(), default=_json_default).encode()
        self.kv.put(NS_INSTALLATION, f"{team}:{_NONE}", data)
        if installation.user_id:
            self.kv.put(NS_INSTALLATION, f"{team}:{installation.user_id}", data)
        bot = installation.to_bot()
        if bot is not None:
            self._save_bot(bot)
        log.info("saved Slack installation for %s", team)

    async def async_save_bot(self, bot: Bot) -> None:
        await asyncio.to_thread(self._save_bot, bot)

    def _save_bot(self, bot: Bot) -> None:
        team = _team_key(bot.enterprise_id, bot.team_id, bool(bot.is_enterprise_install))
        data = json.dumps(bot.to_dict_for_copying(), default=_json_default).encode()
        self.kv.put(NS_BOT, team, data)

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        team = _team_key(enterprise_id, team_id, bool(is_enterprise_install))
        raw = await asyncio.to_thread(self.kv.get, NS_BOT, team)
        if raw is None:
            return None
        return Bot(**json.loads(raw))

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        team = _team_key(enterprise_id, team_id, bool(is_enterprise_install))
        raw = await asyncio.to_thread(self.kv.get, NS_INSTALLATION, f"{team}:{user_id or _NONE}")
        if raw is None:
            return None
        return Installation(**json.loads(raw))

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(self.kv.delete, NS_BOT, _team_key(enterprise_id, team_id, False))

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        team = _team_key(enterprise_id, team_id, False)
        prefix = f"{team}:{user_id}" if user_id else f"{team}:"
        await asyncio.to_thread(self.kv.delete_prefix, NS_INSTALLATION, prefix)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        await self.async_delete_installation(enterprise_id=enterprise_id, team_id=team_id)

    async def bot_token(self, team_id: str | None) -> str | None:
        """The bot token of a workspace (ChannelRef.workspace), for the digest sink."""
        bot = await self.async_find_bot(enterprise_id=None, team_id=team_id)
        return bot.bot_token if bot else None


class DbOAuthStateStore(AsyncOAuthStateStore):
    """One-time OAuth `state` values, valid for ten minutes, shared by all replicas."""

    def __init__(self, kv: KeyValueStore) -> None:
        self.kv = kv

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(24)
        await asyncio.to_thread(self.kv.put, NS_STATE, state, b"1")
        return state

    async def async_consume(self, state: str) -> bool:
        if not state or len(state) > 200:
            return False
        found = await asyncio.to_thread(self.kv.pop, NS_STATE, state)
        if found is None:
            return False
        _, issued = found
        return datetime.now(UTC) - issued <= STATE_TTL
