"""`MessageSink` for Slack: posts digests with chat.postMessage and finds earlier posts.

Each post carries message `metadata` (`papers_digest` with the delivery id), so after a
crash the digest engine can ask `find_posted` whether a pending delivery already reached
the channel (`conversations.history` with `include_all_metadata`) instead of resending.
A 429 is waited out as `Retry-After` asks (slack_sdk's rate-limit retry handler); errors
that no retry can fix come back as `PostResult(permanent=True)` with Slack's reason.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.alert_blocks import render_alerts
from adapters.slack.blocks import SlackMessage, render_digest
from adapters.slack.config import SlackSettings
from adapters.slack.translate import slack_error_code
from bot.alerts.models import AlertPost
from bot.models import ChannelRef, Digest, PostResult
from bot.ports import KeyValueStore

log = logging.getLogger(__name__)

EVENT_TYPE = "papers_digest"
ALERT_EVENT_TYPE = "papers_alert"  # alert deliveries number their rows on their own
# Errors after which posting to this channel can never succeed without a human.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "account_inactive",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "missing_scope",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_non_threadable_channel",
        "ekm_access_denied",
        "team_access_not_granted",
        "no_permission",
        "not_installed",
    }
)
HISTORY_PAGES = 3
HISTORY_PAGE_SIZE = 200

TokenResolver = Callable[[str | None], Awaitable[str | None]]


class SlackUnavailable(ConnectionError):
    """Slack could not be asked right now (5xx, timeout); the caller should retry later."""


class SlackSink:
    """Posts digests to Slack channels.

    Single workspace: give `client` (an AsyncWebClient with the bot token). Multi-workspace:
    give `token_for`, which maps `ChannelRef.workspace` (the team id) to that team's bot
    token, and `client_factory`, which builds a client for a token.
    """

    def __init__(
        self,
        client: AsyncWebClient | None = None,
        *,
        token_for: TokenResolver | None = None,
        client_factory: Callable[[str], AsyncWebClient] | None = None,
    ) -> None:
        if client is None and (token_for is None or client_factory is None):
            raise ValueError("SlackSink needs a client, or token_for and client_factory")
        self._client = client
        self._token_for = token_for
        self._client_factory = client_factory
        self._clients: dict[str, AsyncWebClient] = {}

    async def _client_for(self, channel: ChannelRef) -> AsyncWebClient | None:
        if self._token_for is None or self._client_factory is None:
            return self._client
        token = await self._token_for(channel.workspace)
        if token is None:
            return self._client
        client = self._clients.get(token)
        if client is None:
            client = self._clients[token] = self._client_factory(token)
        return client

    async def post_digest(self, digest: Digest) -> PostResult:
        return await self._post(
            digest.channel, digest.delivery_id, render_digest(digest), EVENT_TYPE
        )

    async def post_alerts(self, post: AlertPost) -> PostResult:
        return await self._post(
            post.channel, post.delivery_id, render_alerts(post), ALERT_EVENT_TYPE
        )

    async def _post(
        self, channel: ChannelRef, delivery_id: int, message: SlackMessage, event_type: str
    ) -> PostResult:
        client = await self._client_for(channel)
        if client is None:
            return PostResult(ok=False, reason="not_installed", permanent=True)
        try:
            response = await client.chat_postMessage(
                channel=channel.channel,
                text=message.text,
                blocks=message.block_dicts(),
                metadata={
                    "event_type": event_type,
                    "event_payload": {"delivery_id": delivery_id},
                },
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            return self._failure(exc, channel, delivery_id)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            log.warning(
                "%s post failed: %s",
                event_type,
                type(exc).__name__,
                extra={"channel": channel.key, "delivery_id": delivery_id},
            )
            return PostResult(ok=False, reason=f"network: {type(exc).__name__}")
        return PostResult(ok=True, message_id=str(response.get("ts")))

    def _failure(self, exc: SlackApiError, channel: ChannelRef, delivery_id: int) -> PostResult:
        code = slack_error_code(exc)
        status = exc.response.status_code if exc.response is not None else 0
        retry_after: float | None = None
        if status == 429:
            header = (exc.response.headers or {}).get("retry-after") or (
                exc.response.headers or {}
            ).get("Retry-After")
            try:
                retry_after = float(header) if header is not None else 1.0
            except (TypeError, ValueError):
                retry_after = 1.0
        permanent = code in PERMANENT_ERRORS
        log.warning(
            "post to Slack failed: %s%s",
            code,
            " (permanent)" if permanent else "",
            extra={"channel": channel.key, "delivery_id": delivery_id},
        )
        return PostResult(ok=False, reason=code, permanent=permanent, retry_after=retry_after)

    async def find_posted(self, channel: ChannelRef, delivery_id: int) -> str | None:
        return await self._find(channel, delivery_id, EVENT_TYPE)

    async def find_alert_posted(self, channel: ChannelRef, delivery_id: int) -> str | None:
        return await self._find(channel, delivery_id, ALERT_EVENT_TYPE)

    async def _find(self, channel: ChannelRef, delivery_id: int, event_type: str) -> str | None:
        """The ts of an earlier post of `delivery_id` in the channel's recent history.

        Returns None when it is not there (or the channel cannot be read for a permanent
        reason: posting will then fail permanently too). Raises `SlackUnavailable` when
        Slack cannot answer now, because "not found" would cause a duplicate post.
        """
        client = await self._client_for(channel)
        if client is None:
            return None
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            try:
                kwargs: dict[str, Any] = {
                    "channel": channel.channel,
                    "include_all_metadata": True,
                    "limit": HISTORY_PAGE_SIZE,
                }
                if cursor:
                    kwargs["cursor"] = cursor
                response = await client.conversations_history(**kwargs)
            except SlackApiError as exc:
                code = slack_error_code(exc)
                if code in PERMANENT_ERRORS:
                    return None
                raise SlackUnavailable(f"conversations.history failed: {code}") from exc
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                raise SlackUnavailable(
                    f"conversations.history failed: {type(exc).__name__}"
                ) from exc
            for message in response.get("messages") or []:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == event_type and str(
                    payload.get("delivery_id")
                ) == str(delivery_id):
                    return str(message.get("ts"))
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not response.get("has_more") or not cursor:
                break
        return None


def sink_client(settings: SlackSettings, token: str | None) -> AsyncWebClient:
    """A client for digest posts: 429s waited out per Retry-After, nothing else retried.

    A connection error is not retried here, unlike interactive replies: the post may have
    landed, and the digest engine resolves that with `find_posted` before a resend.
    """
    from adapters.slack.app import api_base_url

    return AsyncWebClient(
        token=token,
        base_url=api_base_url(settings),
        timeout=15,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=3)],
    )


def build_slack_sink(settings: SlackSettings, kv: KeyValueStore | None = None) -> SlackSink | None:
    """The Slack sink for the configured mode, or None when Slack is not configured."""
    from adapters.slack.app import build_installation_store, is_oauth_mode

    if is_oauth_mode(settings):
        if kv is None:
            raise ValueError("multi-workspace Slack needs the key-value store (its installations)")
        store = build_installation_store(settings, kv)
        return SlackSink(
            token_for=store.bot_token,
            client_factory=lambda token: sink_client(settings, token),
        )
    if settings.slack_bot_token is None:
        return None
    return SlackSink(sink_client(settings, settings.slack_bot_token.get_secret_value()))
