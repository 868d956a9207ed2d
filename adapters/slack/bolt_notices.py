"""Quiets the one bolt warning that every correct start of papers-bot would log.

bolt reads SLACK_BOT_TOKEN from the environment by itself, then warns "As you gave `client`
as well, `token` will be unused" because papers-bot hands it a client built from that very
token. True, and at every start it reads like a configuration error; every other bolt
warning still gets through.
"""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped


class _ClientTokenNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


_NOTICE = _ClientTokenNotice()


def quiet_client_token_notice() -> None:
    """Drop that warning from bolt's app logger (idempotent: a filter is added once)."""
    logging.getLogger(f"slack_bolt.{AsyncApp.__name__}").addFilter(_NOTICE)
