"""`DiscordSink`: the digest `MessageSink` for Discord channels.

Sends with discord.py's own HTTP client, so its rate-limit handling (per-route buckets,
`retry_after` on 429, global limits) applies unchanged. Outcomes map to `PostResult`:
- posted → `ok`, `message_id` of the first message;
- 403 Forbidden (bot removed, missing access or permissions) and 404 Not Found (channel
  deleted) → permanent, reason `forbidden: …` / `not_found: …`, so the subscription is
  paused after repeated failures instead of retried forever;
- 5xx, network errors, a 429 longer than the client is willing to wait → not permanent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import aiohttp
import discord

from adapters.discord.alert_embeds import alert_marker, alert_nonce, render_alerts
from adapters.discord.config import DiscordSettings
from adapters.discord.embeds import RenderedMessage, digest_marker, render_digest
from adapters.discord.views import alerts_view, card_view
from bot.alerts.models import AlertPost
from bot.models import ChannelRef, Digest, Platform, PostResult

if TYPE_CHECKING:
    from discord.abc import Snowflake

log = logging.getLogger(__name__)

NONE_MENTIONS = discord.AllowedMentions.none()
# How far back `find_posted` looks for an earlier post of a delivery.
HISTORY_LOOKBACK = 50


def digest_nonce(delivery_id: int, part: int = 0) -> str:
    """A nonce fixed by the delivery (Discord allows 25 chars), one per message of a digest."""
    return f"pd{delivery_id}.{part}"


def _error_text(exc: discord.HTTPException) -> str:
    text = exc.text or exc.response.reason or ""
    code = f" (code {exc.code})" if exc.code else ""
    return f"{text}{code}".strip() or str(exc.status)


class DiscordSink:
    """Posts digests through a discord.py client that has logged in (HTTP is enough).

    Idempotent resend: each message is sent with a `nonce` derived from the delivery id,
    and discord.py then sets `enforce_nonce`. Discord remembers the nonces of an author's
    recent messages (a window of a few minutes); a second create with the same nonce inside
    that window returns the message that already exists instead of posting a duplicate. So
    a retry after a timeout, or a restart that resends a `pending` delivery soon after a
    crash, cannot double-post. Discord offers no lookup *by* nonce (messages fetched later
    do not carry it), so for resends outside that window `find_posted` scans the channel's
    recent history for the bot's own message whose footer names the delivery.
    """

    def __init__(self, client: discord.Client) -> None:
        self.client = client

    def _channel(self, channel: ChannelRef) -> discord.PartialMessageable:
        guild_id = int(channel.workspace) if channel.workspace else None
        return self.client.get_partial_messageable(int(channel.channel), guild_id=guild_id)

    async def post_digest(self, digest: Digest) -> PostResult:
        messages = render_digest(digest)
        # The cards' Save and More-like buttons go under the digest's last message.
        view = card_view(digest.cards)
        return await self._send(
            digest.channel, messages, digest_nonce, digest.delivery_id, view=view
        )

    async def post_alerts(self, post: AlertPost) -> PostResult:
        view = alerts_view(post.delivery_id, len(post.items)) if post.burst else None
        return await self._send(
            post.channel, render_alerts(post), alert_nonce, post.delivery_id, view=view
        )

    async def _send(
        self,
        channel: ChannelRef,
        messages: list[RenderedMessage],
        nonce: Callable[[int, int], str],
        delivery_id: int,
        *,
        view: discord.ui.View | None = None,
    ) -> PostResult:
        if channel.platform is not Platform.DISCORD:
            return PostResult(
                ok=False, permanent=True, reason=f"wrong_platform: {channel.platform}"
            )
        try:
            target = self._channel(channel)
        except ValueError:
            return PostResult(
                ok=False,
                permanent=True,
                reason=f"not_found: bad channel id {channel.channel!r}",
            )
        first_id: str | None = None
        try:
            for part, message in enumerate(messages):
                kwargs = {
                    "content": message.content,
                    "embeds": message.embeds,
                    "nonce": nonce(delivery_id, part),
                    "allowed_mentions": NONE_MENTIONS,
                }
                if view is not None and part == len(messages) - 1:
                    sent = await target.send(**kwargs, view=view)  # type: ignore[call-overload]
                else:
                    sent = await target.send(**kwargs)  # type: ignore[call-overload]
                first_id = first_id or str(sent.id)
        except discord.Forbidden as exc:
            return PostResult(ok=False, permanent=True, reason=f"forbidden: {_error_text(exc)}")
        except discord.NotFound as exc:
            return PostResult(ok=False, permanent=True, reason=f"not_found: {_error_text(exc)}")
        except discord.RateLimited as exc:
            return PostResult(
                ok=False, reason="rate_limited", retry_after=exc.retry_after, permanent=False
            )
        except discord.DiscordServerError as exc:
            return PostResult(ok=False, reason=f"server_error: {exc.status} {_error_text(exc)}")
        except discord.HTTPException as exc:
            # Any other 4xx means Discord rejected this payload; resending it cannot help.
            return PostResult(
                ok=False, permanent=True, reason=f"http_{exc.status}: {_error_text(exc)}"
            )
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return PostResult(ok=False, reason=f"network: {type(exc).__name__}: {exc}")
        return PostResult(ok=True, message_id=first_id)

    async def find_alert_posted(self, channel: ChannelRef, delivery_id: int) -> str | None:
        return await self._find(channel, alert_marker(delivery_id))

    async def find_posted(self, channel: ChannelRef, delivery_id: int) -> str | None:
        """The bot's recent message whose footer names this delivery, or None.

        None also when the history cannot be read (no Read Message History permission,
        channel gone, Discord unavailable): the resend is still protected by the nonce
        within Discord's nonce window.
        """
        return await self._find(channel, digest_marker(delivery_id))

    async def _find(self, channel: ChannelRef, marker: str) -> str | None:
        me: Snowflake | None = self.client.user
        if me is None:
            return None
        try:
            async for message in self._channel(channel).history(limit=HISTORY_LOOKBACK):
                if message.author.id != me.id:
                    continue
                for embed in message.embeds:
                    footer = embed.footer.text or ""
                    if footer == marker or footer.startswith(f"{marker} ("):
                        return str(message.id)
        except (
            discord.HTTPException,
            aiohttp.ClientError,
            ValueError,
        ) as exc:
            log.warning("find_posted: cannot read history of %s: %s", channel.key, exc)
        return None


def build_discord_sink(
    settings: DiscordSettings, client: discord.Client | None
) -> DiscordSink | None:
    """The Discord sink when Discord is configured and a client exists, else None."""
    if not settings.discord_enabled or client is None:
        return None
    return DiscordSink(client)
