"""In-memory votes and taste switches (issue 13), behind `FakeDatabase`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.models import ChannelRef
from bot.taste.votes_port import TasteSettings, Vote, VoteSource
from bot.testing.fake_repositories import FakeState


class FakeVoteRepository:
    def __init__(self, state: FakeState) -> None:
        self.state = state

    def get(self, channel: ChannelRef, paper_key: int, user: str) -> Vote | None:
        return self.state.votes.get((channel.key, paper_key, user))

    def put(self, vote: Vote) -> None:
        # Re-inserting moves the vote to the end: for_channel lists oldest first.
        self.state.votes.pop((vote.channel.key, vote.paper_key, vote.user), None)
        self.state.votes[(vote.channel.key, vote.paper_key, vote.user)] = vote

    def retract(
        self, channel: ChannelRef, paper_keys: Sequence[int], user: str, *, source: VoteSource
    ) -> int:
        gone = 0
        for key in paper_keys:
            vote = self.state.votes.get((channel.key, key, user))
            if vote is not None and vote.source is source:
                del self.state.votes[(channel.key, key, user)]
                gone += 1
        return gone

    def for_channel(self, channel: ChannelRef) -> list[Vote]:
        votes = [v for (c, _, _), v in self.state.votes.items() if c == channel.key]
        return sorted(votes, key=lambda v: v.voted_at)

    def reset(self, channel: ChannelRef) -> int:
        keys = [k for k in self.state.votes if k[0] == channel.key]
        for k in keys:
            del self.state.votes[k]
        return len(keys)

    def forget_workspace(self, platform: str, workspace: str) -> int:
        def here(channel: ChannelRef) -> bool:
            return channel.platform.value == platform and (channel.workspace or "") == workspace

        keys = [k for k, v in self.state.votes.items() if here(v.channel)]
        for k in keys:
            del self.state.votes[k]
        self.state.taste_off = {c for c in self.state.taste_off if not here(c)}
        return len(keys)

    def settings(self, channel: ChannelRef) -> TasteSettings:
        return TasteSettings(enabled=channel not in self.state.taste_off)

    def set_enabled(self, channel: ChannelRef, enabled: bool, *, now: datetime) -> None:
        if enabled:
            self.state.taste_off.discard(channel)
        else:
            self.state.taste_off.add(channel)

    def digest_papers(self, channel: ChannelRef, message_id: str) -> tuple[int, ...]:
        for delivery in self.state.deliveries.values():
            sub = self.state.subscriptions.get(delivery.subscription_id)
            if delivery.message_id == message_id and sub is not None and sub.channel == channel:
                return delivery.paper_keys
        return ()
