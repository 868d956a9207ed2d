"""Log output: JSON off a terminal, readable text on one, and secrets never written."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from bot.logging_setup import REDACTED, RedactingFilter, configure_logging, use_json_logs
from bot.settings import Settings

BOT_TOKEN = "xoxb-1111111111-2222222222-AbCdEfGhIjKlMnOpQrStUvWx"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DISCORD_TOKEN = "MTA5OTg3NjU0MzIxMDk4NzY1NA.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"
# Not configured anywhere: caught only because it looks like a Slack user token.
STRAY_TOKEN = "xoxp-9999999999-8888888888-ZyXwVuTsRqPoNmLk"


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def settings(**values: Any) -> Settings:
    base: dict[str, Any] = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "DISCORD_TOKEN": DISCORD_TOKEN,
        "PAPERS_LOG_FORMAT": "json",
    }
    base.update(values)
    return Settings(_env_file=None, **base)  # type: ignore[call-arg]


def configured(**values: Any) -> io.StringIO:
    stream = io.StringIO()
    configure_logging(settings(**values), stream=stream)
    return stream


def boom(token: str) -> None:
    raise RuntimeError(f"auth failed for token {token} (and {STRAY_TOKEN})")


def assert_clean(text: str) -> None:
    for secret in (BOT_TOKEN, SIGNING_SECRET, DISCORD_TOKEN, STRAY_TOKEN):
        assert secret not in text
    assert REDACTED in text


def test_json_lines_redact_message_args_and_traceback() -> None:
    stream = configured()
    log = logging.getLogger("papers.test")
    log.info("posting with %s and %s", BOT_TOKEN, STRAY_TOKEN, extra={"platform": "slack"})
    try:
        boom(DISCORD_TOKEN)
    except RuntimeError:
        log.exception("request failed, signing secret %s", SIGNING_SECRET)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "info"
    assert first["logger"] == "papers.test"
    assert first["platform"] == "slack"
    assert "posting with" in first["msg"]
    assert "RuntimeError" in second["exc"]
    assert "Traceback" in second["exc"]
    assert_clean(stream.getvalue())
    assert_clean(second["exc"])


def test_text_format_redacts_traceback_too() -> None:
    stream = configured(PAPERS_LOG_FORMAT="text")
    log = logging.getLogger("papers.test")
    try:
        boom(BOT_TOKEN)
    except RuntimeError:
        log.exception("failed")
    out = stream.getvalue()
    assert "Traceback" in out
    assert not out.lstrip().startswith("{")
    assert_clean(out)


def test_stack_info_and_bearer_headers_are_redacted() -> None:
    stream = configured()
    logging.getLogger("papers.test").warning(
        "header Authorization: Bearer %s", "abcdefghijk12345", stack_info=True
    )
    record = json.loads(stream.getvalue())
    assert "abcdefghijk12345" not in stream.getvalue()
    assert "stack" in record


def test_discord_interaction_tokens_stay_out_of_debug_logs() -> None:
    # discord.py logs every gateway event, and each follow-up webhook URL, at DEBUG; both
    # carry the interaction token, which lets anyone answer as the bot for 15 minutes.
    interaction_token = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXRpc2g"
    stream = configured(PAPERS_LOG_LEVEL="DEBUG")
    logging.getLogger("discord.gateway").debug(
        "WebSocket Event: %s", {"t": "INTERACTION_CREATE", "d": {"token": interaction_token}}
    )
    logging.getLogger("discord.webhook.async_").debug(
        "Webhook with POST https://discord.com/api/v10/webhooks/1/%s", interaction_token
    )
    logging.getLogger("papers.test").debug("our own debug lines still show")
    assert interaction_token not in stream.getvalue()
    assert "our own debug lines still show" in stream.getvalue()


def test_database_password_is_redacted() -> None:
    stream = configured(DATABASE_URL="postgresql://bot:hunter2-pg-pass@db/papers")
    logging.getLogger("papers.test").error("cannot connect: password=hunter2-pg-pass")
    assert "hunter2-pg-pass" not in stream.getvalue()


def test_bad_format_string_does_not_raise() -> None:
    stream = configured()
    logging.getLogger("papers.test").info("two %s %s", "args-only-one")
    assert "args-only-one" in stream.getvalue()


def test_auto_format_follows_stdout_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeTty(io.StringIO):
        def isatty(self) -> bool:
            return True

    auto = settings(PAPERS_LOG_FORMAT="auto")
    monkeypatch.setattr("sys.stdout", io.StringIO())
    assert use_json_logs(auto)
    monkeypatch.setattr("sys.stdout", FakeTty())
    assert not use_json_logs(auto)
    assert use_json_logs(settings(PAPERS_LOG_FORMAT="json"))
    assert not use_json_logs(settings(PAPERS_LOG_FORMAT="text"))


def test_filter_skips_tiny_secrets() -> None:
    filt = RedactingFilter(["abc", "longer-secret"])
    assert filt.redact("abc longer-secret") == f"abc {REDACTED}"
