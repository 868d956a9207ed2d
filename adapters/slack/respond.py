"""Answering an interaction through its response_url, shared by the app's listeners."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond

from adapters.slack.blocks import SlackMessage, render_reply
from bot.models import Reply, ReplyKind

log = logging.getLogger("adapters.slack.app")


async def send_response(respond: AsyncRespond, message: SlackMessage, **kwargs: Any) -> bool:
    """POST to the response_url; logs (never raises) when Slack refuses it."""
    try:
        result = await respond(text=message.text, blocks=message.block_dicts(), **kwargs)
    except (TimeoutError, OSError) as exc:
        log.warning("response_url post failed: %s", type(exc).__name__)
        return False
    if result.status_code >= 300:
        log.warning("response_url post answered HTTP %s", result.status_code)
        return False
    return True


def error_reply(text: str) -> SlackMessage:
    """A one-line error, rendered as every other reply is."""
    return render_reply(Reply(ReplyKind.ERROR, text))
