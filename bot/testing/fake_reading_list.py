"""In-memory reading lists and first shares (issue 14), behind `FakeDatabase`."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.models import ChannelRef, FirstShare, SavedPaper, SavedStatus
from bot.testing.fake_repositories import FakeState


class FakeReadingList:
    def __init__(self, state: FakeState) -> None:
        self.state = state

    def add(self, channel: ChannelRef, paper_key: int, *, user: str, now: datetime) -> bool:
        entries = self.state.saved.setdefault(channel.key, [])
        if any(e.paper_key == paper_key for e in entries):
            return False
        entries.append(SavedPaper(channel.key, paper_key, user, now))
        return True

    def entries(self, channel: ChannelRef) -> list[SavedPaper]:
        return list(self.state.saved.get(channel.key, []))

    def update(
        self,
        channel: ChannelRef,
        paper_key: int,
        *,
        status: SavedStatus | None = None,
        assignee: str | None = None,
    ) -> bool:
        entries = self.state.saved.get(channel.key, [])
        for i, entry in enumerate(entries):
            if entry.paper_key == paper_key:
                entries[i] = replace(
                    entry,
                    status=status or entry.status,
                    assignee=assignee if assignee is not None else entry.assignee,
                )
                return True
        return False

    def remove(self, channel: ChannelRef, paper_key: int) -> bool:
        entries = self.state.saved.get(channel.key, [])
        kept = [e for e in entries if e.paper_key != paper_key]
        self.state.saved[channel.key] = kept
        return len(kept) != len(entries)


class FakeShareLog:
    def __init__(self, state: FakeState) -> None:
        self.state = state

    def record(
        self, channel: ChannelRef, paper_key: int, *, user: str, now: datetime
    ) -> FirstShare:
        return self.state.shares.setdefault(
            (channel.key, paper_key), FirstShare(channel.key, paper_key, user, now)
        )
