"""Handlers of the channel-taste commands (issue 13): votes, `taste`, `taste reset|off|on`.

Votes are per channel: the same person may like a paper in one channel and not in another.
Every answer about votes is ephemeral and counts only; no reply ever names who voted.
Reactions are not commands: the adapters call `TasteCommands.react` with the message the
reaction is on, and only reactions on the bot's own digest messages count.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from bot.commands.reading import PaperFetcher, resolve_paper
from bot.commands.types import CastVote, Command, ResetTaste, SetTaste, ShowTaste
from bot.models import ChannelRef, CommandRequest, Paper, Reply, ReplyKind
from bot.paper_keys import paper_by_key
from bot.ports import UnitOfWork, UnitOfWorkFactory
from bot.taste.channel import TasteRanker, effective_votes, votes_to_papers
from bot.taste.model import TasteModel, VotedPaper
from bot.taste.votes_port import Vote, VoteSource
from bot.text import clean_text, plural, shorten

__all__ = ["TasteCommands"]

TITLE_SHOWN = 90
TERMS_SHOWN = 8
PAPERS_SHOWN = 3
# Recent papers the `taste` summary contrasts the channel's votes with (its background).
BACKGROUND_DAYS = 14
BACKGROUND_PAPERS = 500
THUMB = {1: "👍", -1: "👎"}


def _title(paper: Paper) -> str:
    return shorten(clean_text(paper.title), TITLE_SHOWN)


def _day(moment: datetime) -> str:
    return f"{moment.day} {moment:%b %Y}"


def _channel(request: CommandRequest) -> ChannelRef:
    return ChannelRef(request.platform, request.channel, request.workspace)


class TasteCommands:
    """The handlers, registered in `CommandCore` by command class, and the reaction hook."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Callable[[], datetime],
        ranker: TasteRanker | None = None,
        fetch: PaperFetcher | None = None,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.ranker = ranker or TasteRanker()
        self.fetch = fetch

    def handlers(self) -> dict[type[Command], Callable[[Any, CommandRequest], Reply]]:
        return {
            CastVote: self.vote,
            ShowTaste: self.show,
            ResetTaste: self.reset,
            SetTaste: self.set_enabled,
        }

    # -- votes --------------------------------------------------------------------------

    def vote(self, command: CastVote, request: CommandRequest) -> Reply:
        channel = _channel(request)
        if command.paper_key is not None:
            paper: Paper | str = paper_by_key(self.uow, command.paper_key)
        else:
            paper = resolve_paper(self.uow, command.ref, self.fetch)
        if isinstance(paper, str):
            return Reply(ReplyKind.ERROR, paper, title="Taste")
        value = 1 if command.value > 0 else -1
        with self.uow() as uow:
            before = uow.votes.get(channel, paper.key, request.user)
            uow.votes.put(Vote(channel, paper.key, request.user, value, self.clock()))
            votes = uow.votes.for_channel(channel)
            enabled = uow.votes.settings(channel).enabled
        thumb = THUMB[value]
        if before is not None and before.value == value:
            text = f"You had already given “{_title(paper)}” {thumb} in this channel."
        elif before is not None:
            text = f"Changed your vote on “{_title(paper)}” to {thumb}."
        else:
            text = f"{thumb} noted for “{_title(paper)}”."
        return Reply(ReplyKind.TASTE, text, notes=self._progress(votes, enabled), title="Taste")

    def _progress(self, votes: Sequence[Vote], enabled: bool) -> tuple[str, ...]:
        if not enabled:
            return ("Taste is off here (`taste on` turns it back on); votes are still kept.",)
        missing = self.ranker.min_votes - effective_votes(votes)
        if missing > 0:
            return (
                f"Digests here start ranking by the channel's votes after "
                f"{plural(missing, 'more vote')}.",
            )
        return ()

    def react(
        self, channel: ChannelRef, message_id: str, user: str, value: int, *, added: bool
    ) -> int:
        """A 👍/👎 reaction added to or removed from a message. Returns the papers it
        touched: 0 when the message is not one of our digests.

        A reaction names the whole digest, so it votes on each of its n papers with weight
        1/n, never replaces a vote cast on one paper with a button, and its removal takes
        back only what that reaction gave.
        """
        value = 1 if value > 0 else -1
        with self.uow() as uow:
            keys = self._voted_papers(uow, uow.votes.digest_papers(channel, message_id))
            if not keys:
                return 0
            existing = {k: uow.votes.get(channel, k, user) for k in keys}
            if not added:
                mine = [
                    k
                    for k, vote in existing.items()
                    if vote is not None
                    and vote.source is VoteSource.REACTION
                    and vote.value == value
                ]
                return uow.votes.retract(channel, mine, user, source=VoteSource.REACTION)
            now = self.clock()
            touched = 0
            for key, vote in existing.items():
                if vote is not None and vote.source is VoteSource.BUTTON:
                    continue
                uow.votes.put(
                    Vote(
                        channel,
                        key,
                        user,
                        value,
                        now,
                        source=VoteSource.REACTION,
                        weight=1.0 / len(keys),
                        message_id=message_id,
                    )
                )
                touched += 1
            return touched

    @staticmethod
    def _voted_papers(uow: UnitOfWork, keys: Sequence[int]) -> list[int]:
        """A digest's stored keys as papers to vote on: a key merged away since leads to
        its survivor (once, if the digest named both), and one with no paper is skipped
        (a vote names a stored paper)."""
        found = (uow.papers.get(key) for key in keys)
        return list(dict.fromkeys(paper.key for paper in found if paper is not None))

    def forget_workspace(self, platform: str, workspace: str) -> int:
        """Delete every vote of a workspace or guild (the app was uninstalled)."""
        with self.uow() as uow:
            return uow.votes.forget_workspace(platform, workspace)

    # -- commands -------------------------------------------------------------------------

    def reset(self, command: ResetTaste, request: CommandRequest) -> Reply:
        with self.uow() as uow:
            gone = uow.votes.reset(_channel(request))
        if not gone:
            return Reply(ReplyKind.INFO, "This channel has no votes to forget.", title="Taste")
        return Reply(
            ReplyKind.TASTE,
            f"Forgot this channel's {plural(gone, 'vote')}. Digests rank as plain trending "
            "until the channel votes again.",
            title="Taste",
            ephemeral=False,
        )

    def set_enabled(self, command: SetTaste, request: CommandRequest) -> Reply:
        with self.uow() as uow:
            uow.votes.set_enabled(_channel(request), command.enabled, now=self.clock())
        if command.enabled:
            text = "Taste is on: this channel's digests rank by its 👍 and 👎."
        else:
            text = (
                "Taste is off: this channel's digests rank as plain trending. Votes are kept; "
                "`taste on` uses them again, `taste reset` forgets them."
            )
        return Reply(ReplyKind.TASTE, text, title="Taste", ephemeral=False)

    def show(self, command: ShowTaste, request: CommandRequest) -> Reply:
        channel = _channel(request)
        now = self.clock()
        with self.uow() as uow:
            votes = uow.votes.for_channel(channel)
            enabled = uow.votes.settings(channel).enabled
            papers = {p.key: p for p in uow.papers.get_many(sorted({v.paper_key for v in votes}))}
            background = (
                uow.papers.published_since(
                    date.fromordinal(now.toordinal()) - timedelta(days=BACKGROUND_DAYS)
                )
                if votes
                else []
            )
        if not votes:
            return Reply(
                ReplyKind.INFO,
                "This channel has no votes yet. Press 👍 or 👎 on digest and search cards "
                "(or react :+1: / :-1: on a digest); after "
                f"{plural(self.ranker.min_votes, 'vote')} its digests rank by what it likes.",
                title="Taste",
            )
        voted = votes_to_papers(votes, papers)
        ups = sum(1 for v in votes if v.value > 0)
        downs = len(votes) - ups
        lines = [
            f"{plural(ups, 'vote')} 👍 and {downs} 👎 on {plural(len(voted), 'paper')}, "
            f"since {_day(min(v.voted_at for v in votes))}. Taste is "
            + ("on." if enabled else "off (digests rank as plain trending)."),
        ]
        lines += self._describe(voted, votes, papers, background[:BACKGROUND_PAPERS])
        notes = self._progress(votes, enabled) if enabled else ()
        return Reply(ReplyKind.TASTE, "\n".join(lines), notes=notes, title="Channel taste")

    def _describe(
        self,
        voted: list[VotedPaper],
        votes: Sequence[Vote],
        papers: dict[int, Paper],
        background: Sequence[Paper],
    ) -> list[str]:
        lines: list[str] = []
        model: TasteModel | None = None
        pool = [*papers.values(), *background]
        if effective_votes(votes) >= self.ranker.min_votes and len(pool) > 1:
            space = self.ranker.space(pool)
            model = self.ranker.model(space, votes, papers, background=background)
        if model is not None:
            weights = model.term_weights()
            likes = [t for t, w in weights[: TERMS_SHOWN * 2] if w > 0][:TERMS_SHOWN]
            dislikes = [t for t, w in reversed(weights[-TERMS_SHOWN * 2 :]) if w < 0]
            if likes:
                lines.append("Likes: " + ", ".join(likes))
            if dislikes[:TERMS_SHOWN]:
                lines.append("Dislikes: " + ", ".join(dislikes[:TERMS_SHOWN]))
        liked = sorted((v for v in voted if v.score > 0), key=lambda v: -v.score)
        disliked = sorted((v for v in voted if v.score < 0), key=lambda v: v.score)
        if liked:
            lines.append(
                "Most liked: " + "; ".join(f"“{_title(v.paper)}”" for v in liked[:PAPERS_SHOWN])
            )
        if disliked:
            lines.append(
                "Least liked: " + "; ".join(f"“{_title(v.paper)}”" for v in disliked[:PAPERS_SHOWN])
            )
        return lines
