"""Votes and the votes port (channel taste, issue 13): the values, and the repository
declared beside the taste code that uses it, implemented by `storage/votes.py` and
`bot/testing/fake_votes.py`, reached as `UnitOfWork.votes` (`bot/ports.py`)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.models import ChannelRef

__all__ = ["HasVotes", "TasteSettings", "Vote", "VoteRepository", "VoteSource"]


class VoteSource(enum.StrEnum):
    """How a vote was cast. A button or command names one paper; a reaction names a whole
    digest message, so it counts less and never replaces a vote on one paper."""

    BUTTON = "button"
    REACTION = "reaction"


@dataclass(frozen=True, slots=True)
class Vote:
    """One person's 👍 (+1) or 👎 (-1) on one paper in one channel. Never shown to others."""

    channel: ChannelRef
    paper_key: int
    user: str
    value: int
    voted_at: datetime
    source: VoteSource = VoteSource.BUTTON
    # A reaction on a digest of n papers votes for each with weight 1/n.
    weight: float = 1.0
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class TasteSettings:
    """A channel's taste switch (`taste off` returns its digest to plain trending)."""

    enabled: bool = True


class VoteRepository(Protocol):
    """Each channel's votes and taste switch (issue 13): one vote per (channel, paper,
    person); a new vote replaces the old. Who voted is stored to make that rule hold and
    is never read back for display."""

    def get(self, channel: ChannelRef, paper_key: int, user: str) -> Vote | None:
        """This person's vote on this paper in this channel, if any."""
        ...

    def put(self, vote: Vote) -> None:
        """Record the vote, replacing this person's earlier vote on the paper here."""
        ...

    def retract(
        self, channel: ChannelRef, paper_keys: Sequence[int], user: str, *, source: VoteSource
    ) -> int:
        """Delete this person's votes of `source` on these papers. Returns how many."""
        ...

    def for_channel(self, channel: ChannelRef) -> list[Vote]:
        """The channel's votes, oldest first."""
        ...

    def reset(self, channel: ChannelRef) -> int:
        """Forget every vote of the channel (`taste reset`). Returns how many."""
        ...

    def forget_workspace(self, platform: str, workspace: str) -> int:
        """Delete every vote and taste setting of a workspace or guild (app uninstalled)."""
        ...

    def settings(self, channel: ChannelRef) -> TasteSettings:
        """The channel's taste switch (on unless `taste off`)."""
        ...

    def set_enabled(self, channel: ChannelRef, enabled: bool, *, now: datetime) -> None:
        """Turn the channel's taste on or off."""
        ...

    def digest_papers(self, channel: ChannelRef, message_id: str) -> tuple[int, ...]:
        """The papers of the digest posted in `channel` as message `message_id` (the
        delivery ledger's message id), or () when that message is no digest."""
        ...


class HasVotes(Protocol):
    """The votes member of `bot.ports.UnitOfWork`, declared here with the port it returns."""

    @property
    def votes(self) -> VoteRepository: ...
