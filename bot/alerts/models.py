"""The values alert delivery passes around: batches, planned messages, ledger rows, posts.

A *batch* is the new papers of one ingest run. Planning matches it against every alert
and gives each channel with matches one *delivery* (one message) whose *items* are its
papers, each naming the alerts it matched. The ledger keeps one item per (channel,
paper) for ever, which is what makes a paper reach a channel at most once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from bot.follow.matching import Alert, AlertKind
from bot.models import ChannelRef, Paper

__all__ = [
    "AlertBatch",
    "AlertDelivery",
    "AlertFinish",
    "AlertItem",
    "AlertPost",
    "AlertStatus",
    "ChannelPlan",
    "PlannedItem",
    "describe_alert",
]


class AlertStatus(enum.StrEnum):
    """queued (planned, no worker yet) -> pending (a worker posts it) -> a final state;
    `retrying` waits for `retry_at`, then is pending again. `paused` waits for its channel:
    posting there failed for good, and a manager resuming the channel's alerts queues it
    again (its papers are still owed to the channel)."""

    QUEUED = "queued"
    PENDING = "pending"
    SENT = "sent"
    RETRYING = "retrying"
    FAILED = "failed"
    PAUSED = "paused"


def describe_alert(alert: Alert) -> str:
    """How a message names an alert: `author Yann LeCun`, `search “diffusion speech”`."""
    return f"author {alert.query}" if alert.kind is AlertKind.AUTHOR else f"search “{alert.query}”"


@dataclass(frozen=True, slots=True)
class AlertBatch:
    """The new papers of one ingest run, waiting to be matched."""

    id: int
    paper_keys: tuple[int, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PlannedItem:
    paper_key: int
    alerts: tuple[str, ...]  # `describe_alert` of every alert of the channel it matched


@dataclass(frozen=True, slots=True)
class ChannelPlan:
    """One channel's message for one batch, before the ledger drops papers it already had."""

    channel: ChannelRef
    items: tuple[PlannedItem, ...]


@dataclass(frozen=True, slots=True)
class AlertDelivery:
    """One ledger row: one message to one channel for one batch."""

    id: int
    batch_id: int
    channel: ChannelRef
    status: AlertStatus
    created_at: datetime
    message_id: str | None = None
    reason: str | None = None
    attempts: int = 0
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    retry_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AlertFinish:
    """One outcome for `AlertLedger.finish_many`; only `pending` rows change."""

    delivery_id: int
    status: AlertStatus
    message_id: str | None = None
    reason: str | None = None
    retry_at: datetime | None = None
    attempts: int | None = None


@dataclass(frozen=True, slots=True)
class AlertPause:
    """Why a channel's alerts are paused (the platform's error, e.g. `channel_not_found`)."""

    reason: str
    since: datetime


@dataclass(frozen=True, slots=True)
class AlertItem:
    """A paper in an alert message, with the channel's alerts it matched."""

    paper: Paper
    alerts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AlertPost:
    """One alert message with every paper of its delivery. A burst (more papers than
    `shown`) is a summary of the first `shown` with a "show all" button on Slack and
    Discord; the console prints them all."""

    delivery_id: int
    channel: ChannelRef
    items: tuple[AlertItem, ...]
    shown: int

    @property
    def burst(self) -> bool:
        return len(self.items) > self.shown

    @property
    def shown_items(self) -> tuple[AlertItem, ...]:
        return self.items[: self.shown]

    @property
    def title(self) -> str:
        count = len(self.items)
        papers = "new paper matches" if count == 1 else "new papers match"
        return f"{count} {papers} this channel's alerts"
