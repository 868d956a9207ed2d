"""Translation between Slack payloads and the core: requests in, clear error texts out.

Slack sends slash commands, block actions and events in three shapes; each becomes one
frozen `CommandRequest` (team → workspace). Text is normalised with `clean_text` here as
well as in the core, so adapters never pass raw RTL or zero-width characters along.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.types import Command
from bot.models import CommandRequest, Platform
from bot.text import clean_text

log = logging.getLogger(__name__)

# Slack's own cap on slash command text is about 4000 characters; anything longer is not
# from Slack, and cutting early keeps normalisation cheap. The core notes the truncation.
MAX_TEXT = 8000
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")

SLACK_ERROR_TEXT = {
    "channel_not_found": "I can't see that channel. If it is private, invite me first "
    "with `/invite @papers`.",
    "not_in_channel": "I'm not a member of this channel. Invite me with `/invite @papers` "
    "and try again.",
    "is_archived": "This channel is archived, so I can't post in it.",
    "ratelimited": "Slack is rate-limiting me right now. Please try again in a minute.",
    "invalid_auth": "My Slack credentials are not valid. Please ask an admin to reinstall the app.",
    "account_inactive": "My Slack credentials are no longer active. Please ask an admin to "
    "reinstall the app.",
    "token_revoked": "My Slack credentials were revoked. Please ask an admin to reinstall the app.",
    "missing_scope": "I'm missing a Slack permission for this. Please ask an admin to "
    "reinstall the app.",
    "msg_too_long": "That reply was too long for Slack.",
    "invalid_blocks": "Slack rejected the formatting of that reply.",
}


def slack_error_code(error: SlackApiError) -> str:
    """The Slack error code of an API failure (`ratelimited` for a bare HTTP 429)."""
    response = error.response
    if response is not None and response.status_code == 429:
        return "ratelimited"
    data = response.data if response is not None else None
    code = data.get("error") if isinstance(data, dict) else None
    if code:
        return str(code)
    status = response.status_code if response is not None else 0
    return f"http_{status}"


def describe_slack_error(code: str) -> str:
    """A sentence a user can act on, for a Slack API error code."""
    return SLACK_ERROR_TEXT.get(code, f"Slack answered with an error ({code}). Please try again.")


def normalise(text: str | None) -> str:
    return clean_text((text or "")[:MAX_TEXT])


def is_direct_message(channel_id: str, channel_name: str | None = None) -> bool:
    return channel_id.startswith("D") or channel_name in {"directmessage", "privategroup-dm"}


def command_request(
    body: dict[str, Any], *, command: Command, can_manage: bool, offset: int = 0
) -> CommandRequest:
    """A slash command body (form fields) as a core request; `command` is its parsed text."""
    channel = str(body.get("channel_id") or "")
    return CommandRequest(
        platform=Platform.SLACK,
        channel=channel,
        user=str(body.get("user_id") or ""),
        command=command,
        workspace=body.get("team_id") or None,
        can_manage=can_manage,
        is_direct_message=is_direct_message(channel, body.get("channel_name")),
        offset=offset,
    )


def action_request(body: dict[str, Any], *, command: Command, offset: int = 0) -> CommandRequest:
    """A block action (button press) as a core request; paging never changes anything."""
    channel = str(
        (body.get("channel") or {}).get("id") or body.get("container", {}).get("channel_id", "")
    )
    team = (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id")
    return CommandRequest(
        platform=Platform.SLACK,
        channel=channel,
        user=str((body.get("user") or {}).get("id") or ""),
        command=command,
        workspace=team or None,
        can_manage=False,
        is_direct_message=is_direct_message(channel),
        offset=offset,
    )


def mention_text(event: dict[str, Any]) -> str:
    """The command text of `@papers diffusion models` (app_mention): the mention dropped."""
    return normalise(_MENTION.sub(" ", event.get("text") or ""))


def mention_request(
    event: dict[str, Any], *, team_id: str | None, command: Command, can_manage: bool
) -> CommandRequest:
    """An app_mention as a core request; `command` is its parsed `mention_text`."""
    channel = str(event.get("channel") or "")
    return CommandRequest(
        platform=Platform.SLACK,
        channel=channel,
        user=str(event.get("user") or ""),
        command=command,
        workspace=team_id or event.get("team") or None,
        can_manage=can_manage,
        is_direct_message=is_direct_message(channel),
    )


async def user_can_manage(client: AsyncWebClient, user_id: str, *, admins_only: bool) -> bool:
    """Whether a user may change the channel's subscription.

    By default any member of the channel may (they ran the command in it). With
    PAPERS_SLACK_ADMINS_ONLY only workspace admins and owners may, per `users.info`.
    """
    if not admins_only:
        return True
    if not user_id:
        return False
    try:
        response = await client.users_info(user=user_id)
    except SlackApiError as exc:
        log.warning("users.info failed for a permission check: %s", slack_error_code(exc))
        return False
    user = response.get("user") or {}
    return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
