"""Logging: JSON lines when stdout is not a terminal, and secrets redacted everywhere.

The redaction filter masks every configured secret and anything shaped like a Slack or
Discord token (or an HTTP bearer credential) in the message, its arguments, the
exception traceback and the stack, before any handler formats the record.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from bot.settings import Settings

REDACTED = "[redacted]"
_TOKEN_SHAPES = re.compile(
    r"(xox[abposre]-[A-Za-z0-9-]{8,}|xapp-[A-Za-z0-9-]{8,}"
    r"|[MNO][A-Za-z\d_-]{23,27}\.[A-Za-z\d_-]{6}\.[A-Za-z\d_-]{27,}"
    r"|(?<=Bearer )[A-Za-z0-9._~+/=-]{8,}|(?<=Bot )[A-Za-z0-9._~+/=-]{20,})"
)
# Structured fields that adapters attach with `extra=`; they are copied into JSON lines.
EXTRA_KEYS = ("platform", "channel", "delivery_id", "command", "outcome", "workspace", "ref")


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is masked whole. Very short
        # values are skipped: masking "abc" everywhere would shred ordinary text.
        self.secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return _TOKEN_SHAPES.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # A bad format string must not turn a log call into a crash at the call site.
            message = f"{record.msg!s} {record.args!r}"
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key in EXTRA_KEYS:
            value = record.__dict__.get(key)
            if isinstance(value, str):
                setattr(record, key, self.redact(value))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            data["exc"] = record.exc_text
        if record.stack_info:
            data["stack"] = record.stack_info
        for key in EXTRA_KEYS:
            if hasattr(record, key):
                data[key] = getattr(record, key)
        return json.dumps(data, ensure_ascii=False, default=str)


def use_json_logs(settings: Settings) -> bool:
    if settings.log_format != "auto":
        return settings.log_format == "json"
    # Terminals get readable lines; anything else (containers, journald, files) gets JSON.
    isatty = getattr(sys.stdout, "isatty", None)
    return not (isatty is not None and isatty())


def configure_logging(settings: Settings, *, stream: Any = None) -> None:
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        JsonFormatter()
        if use_json_logs(settings)
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(RedactingFilter(settings.secret_values()))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    # Library loggers that echo credentials at DEBUG stay at INFO: request headers, and
    # Discord interaction tokens (in every gateway event and in follow-up webhook URLs).
    for name in (
        "slack_sdk",
        "slack_bolt",
        "discord.http",
        "discord.gateway",
        "discord.webhook",
        "httpx",
        "httpcore",
        "aiohttp",
    ):
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))
