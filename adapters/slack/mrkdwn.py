"""Untrusted text made safe for Slack mrkdwn: escaping, links and user mentions.

Every piece of paper metadata and user input passes through here before it reaches a
block, so a title can never ping `@channel` or smuggle a link (docs/security.md).
"""

from __future__ import annotations

import re

from bot.text import clean_text, shorten
from bot.text import safe_url as safe_http_url

__all__ = ["escape", "link", "safe_text", "safe_url", "user_mention"]

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")


def escape(text: str) -> str:
    """Escape mrkdwn control characters (Slack's documented set: & < >)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def safe_text(text: str | None, limit: int) -> str:
    """Normalise, shorten, then escape one piece of untrusted text for mrkdwn."""
    if not text:
        return ""
    return escape(shorten(clean_text(text), limit))


def safe_url(url: str | None) -> str | None:
    """A URL fit for `<url|label>` (see `bot.text.safe_url`), escaped for mrkdwn."""
    href = safe_http_url(url)
    return escape(href) if href else None


def link(url: str | None, label: str) -> str:
    """mrkdwn link with an already-escaped label; plain label when the URL is unusable."""
    href = safe_url(url)
    return f"<{href}|{label}>" if href else label


def user_mention(user_id: str | None) -> str:
    """`<@U123>` for a real Slack user id; anything else is escaped text, never a mention."""
    if user_id and _USER_ID.match(user_id):
        return f"<@{user_id}>"
    return escape(user_id or "someone")
