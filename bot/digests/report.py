"""What one digest run did: its plan line by line, and the counts it reports and logs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from bot.models import ChannelRef, Paper

Action = Literal["send", "empty", "skip", "taken", "resend", "retry", "no-sink"]


@dataclass(frozen=True, slots=True)
class PlannedDigest:
    """One line of a run's plan, for reports and `--dry-run`."""

    subscription_id: int
    channel: ChannelRef
    digest_date: date | None
    action: Action
    papers: tuple[Paper, ...] = ()
    note: str = ""
    # Channel taste (issue 13): why each paper was chosen, parallel to `papers` (or empty).
    why: tuple[str | None, ...] = ()
    # The subscription topic each paper matched, in `papers` order (empty: no topics).
    topics: tuple[str | None, ...] = ()


@dataclass
class RunReport:
    now: datetime
    worker: str
    dry_run: bool = False
    sent: int = 0
    failed: int = 0
    empty: int = 0
    skipped: int = 0
    recovered: int = 0  # pending rows of dead workers found already posted
    resent: int = 0  # pending rows of dead workers that had to be sent again
    taken: int = 0  # due, but another run had already claimed that date
    unresolved: int = 0  # left pending: the platform could not say whether it was posted
    retrying: int = 0  # failed transiently; a later tick the same local day tries again
    retried: int = 0  # earlier transient failures taken up again by this run
    paused: list[int] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    planned: list[PlannedDigest] = field(default_factory=list)

    def count_failure(self, reason: str | None) -> None:
        """One delivery recorded as `failed`, tallied by its reason."""
        self.failed += 1
        key = reason or "unknown"
        self.failures[key] = self.failures.get(key, 0) + 1

    def summary(self) -> str:
        head = "dry run: " if self.dry_run else ""
        if self.dry_run:
            counts = {a: 0 for a in ("send", "empty", "skip", "taken", "no-sink")}
            for item in self.planned:
                counts[item.action] = counts.get(item.action, 0) + 1
            return head + ", ".join(f"{k} {v}" for k, v in counts.items())
        parts = [
            f"sent {self.sent}",
            f"failed {self.failed}",
            f"empty {self.empty}",
            f"skipped {self.skipped}",
        ]
        if self.recovered or self.resent:
            parts.append(f"recovered {self.recovered} (resent {self.resent})")
        if self.taken:
            parts.append(f"already claimed {self.taken}")
        if self.unresolved:
            parts.append(f"left pending {self.unresolved}")
        if self.retried:
            parts.append(f"retried {self.retried}")
        if self.retrying:
            parts.append(f"retry later {self.retrying}")
        if self.paused:
            parts.append(f"paused {len(self.paused)}")
        return head + ", ".join(parts)

    def as_dict(self) -> dict[str, object]:
        return {
            "now": self.now.isoformat(),
            "worker": self.worker,
            "dry_run": self.dry_run,
            "sent": self.sent,
            "failed": self.failed,
            "empty": self.empty,
            "skipped": self.skipped,
            "recovered": self.recovered,
            "resent": self.resent,
            "taken": self.taken,
            "unresolved": self.unresolved,
            "retrying": self.retrying,
            "retried": self.retried,
            "paused": list(self.paused),
            "failures": dict(self.failures),
        }
