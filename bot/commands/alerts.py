"""The alert commands (issue 14): follow an author, save a search, list and remove alerts.

A followed name is looked up among the authors of the papers we have
(`bot.follow.names`): one person is followed at once; a name several people share gets
the candidates, each with their recent papers, and the `#N` form to pick one. A name
nobody has yet is followed as typed, so the first paper by that person still alerts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from bot.alerts.models import AlertStatus
from bot.commands.types import AlertMatches, AlertSearch, FollowAuthor, Following, Unfollow
from bot.follow.matching import Alert, AlertKind, compile_alert
from bot.follow.names import parse_name
from bot.follow.people import Candidate, candidates, choose
from bot.models import ChannelRef, Paper, PaperCard, Reply, ReplyKind
from bot.ports import SearchEngine, UnitOfWorkFactory
from bot.text import shorten

# A channel with more alerts than this is better served by a digest with keywords.
MAX_ALERTS_PER_CHANNEL = 50
# Papers of that surname read to tell people apart; enough for the common names' top few.
_CANDIDATE_PAPERS = 300
_SHOWN_CANDIDATES = 5
_TITLE = "Alerts"
# Cards a "Show all" answer holds; a platform message holds fewer, and says so.
SHOW_ALL_MAX = 50


def _describe(alert: Alert) -> str:
    return f"author {alert.query}" if alert.kind is AlertKind.AUTHOR else f"search “{alert.query}”"


def _waiting(count: int) -> str:
    """The paused channel's held messages, said so that a manager knows resuming sends them."""
    if not count:
        return ""
    messages = "alert message waits" if count == 1 else "alert messages wait"
    return f"{count} {messages} to be posted. "


def _candidate_line(number: int, candidate: Candidate[Paper]) -> str:
    papers = "paper" if candidate.papers == 1 else "papers"
    recent = "; ".join(
        f"{shorten(p.title, 70)} ({p.published.isoformat() if p.published else 'undated'})"
        for p in candidate.recent[:2]
    )
    return f"#{number} {candidate.name} — {candidate.papers} {papers}: {recent}"


class AlertCommands:
    """Handlers of `follow`, `alert`, `following` and `unfollow` for one channel at a time."""

    def __init__(
        self, uow: UnitOfWorkFactory, search: SearchEngine, clock: Callable[[], datetime]
    ) -> None:
        self.uow = uow
        self.search = search
        self.clock = clock

    def _people(self, name: str) -> list[Candidate[Paper]]:
        person = parse_name(name)
        if person is None:
            return []
        results = self.search.search(f'author:"{person.surname}"', limit=_CANDIDATE_PAPERS)
        entries = ((author, card.paper) for card in results.cards for author in card.paper.authors)
        return candidates(name, entries)

    def _add(
        self, channel: ChannelRef, kind: AlertKind, query: str, user: str
    ) -> tuple[bool, Reply | None, str]:
        """Add the alert; (added?, a refusal, a sentence when this resumed paused alerts).

        Adding an alert, even one the channel has, is how a manager says the channel
        works again after its alerts were paused (posting there had failed for good).
        The messages that waited for that are queued again, for the next alert run."""
        with self.uow() as uow:
            existing = uow.alerts.for_channel(channel)
            if len(existing) >= MAX_ALERTS_PER_CHANNEL and all(
                (a.kind, a.query) != (kind, query) for a in existing
            ):
                refusal = Reply(
                    ReplyKind.ERROR,
                    f"This channel has {len(existing)} alerts, the most it may have; "
                    "remove one with `unfollow N` first.",
                    title=_TITLE,
                )
                return False, refusal, ""
            _alert, added = uow.alerts.add(channel, kind, query, created_by=user)
            pause = uow.alerts.resume(channel)
            waiting = uow.alert_ledger.release(channel, now=self.clock())
        resumed = (
            ""
            if pause is None
            else f" Alerts here were paused since {pause.since:%d %b %Y} because posting "
            f"failed ({pause.reason}); they are on again."
        )
        if waiting:
            messages = "alert message" if waiting == 1 else "alert messages"
            resumed += f" {waiting} {messages} that could not be posted will follow shortly."
        return added, None, resumed

    def follow(self, command: FollowAuthor, channel: ChannelRef, user: str) -> Reply:
        if parse_name(command.name) is None:
            return Reply(
                ReplyKind.ERROR,
                f"“{shorten(command.name, 40)}” is not a name I can read; "
                'try e.g. `follow author "Yann LeCun"`.',
                title=_TITLE,
            )
        found = self._people(command.name)
        picked: Candidate[Paper] | None
        if command.choice is not None:
            if command.choice > len(found):
                return Reply(
                    ReplyKind.ERROR,
                    f"There {'is' if len(found) == 1 else 'are'} only {len(found)} "
                    f"{'person' if len(found) == 1 else 'people'} named “{command.name}”; "
                    f'run `follow author "{command.name}"` to see them.',
                    title=_TITLE,
                )
            picked = found[command.choice - 1]
        else:
            picked = choose(command.name, found)
            if picked is None and found:
                return self._ask(command.name, found)
        name = picked.name if picked is not None else command.name
        added, refusal, resumed = self._add(channel, AlertKind.AUTHOR, name, user)
        if refusal is not None:
            return refusal
        if not added:
            text = f"This channel already follows {name}.{resumed}"
            return Reply(ReplyKind.INFO, text, title=_TITLE)
        if picked is None:
            text = (
                f"Following {name}. No paper by them is here yet; "
                "their new papers will be posted in this channel."
            )
        else:
            latest = picked.recent[0].title if picked.recent else None
            text = (
                f"Following {name} ({picked.papers} paper{'s' if picked.papers != 1 else ''} "
                "so far" + (f"; latest: {shorten(latest, 80)}" if latest else "") + "). "
                "Their new papers will be posted in this channel."
            )
        return Reply(ReplyKind.SUBSCRIPTION, text + resumed, notes=command.notes, title=_TITLE)

    def _ask(self, name: str, found: Sequence[Candidate[Paper]]) -> Reply:
        shown = found[:_SHOWN_CANDIDATES]
        lines = [_candidate_line(i + 1, c) for i, c in enumerate(shown)]
        more = len(found) - len(shown)
        if more > 0:
            lines.append(f"…and {more} more with fewer papers.")
        text = (
            f"“{name}” may mean {len(found)} people. Which one?\n"
            + "\n".join(lines)
            + f'\nType `follow author "{name}" #N` with the number, e.g. #1.'
        )
        return Reply(ReplyKind.INFO, text, title=_TITLE)

    def alert(self, command: AlertSearch, channel: ChannelRef, user: str) -> Reply:
        try:
            compile_alert(Alert(0, channel.key, AlertKind.SEARCH, command.query))
        except ValueError:
            return Reply(
                ReplyKind.ERROR,
                f"“{shorten(command.query, 60)}” has no word or author to watch for; "
                "try e.g. `alert diffusion speech`.",
                title=_TITLE,
            )
        added, refusal, resumed = self._add(channel, AlertKind.SEARCH, command.query, user)
        if refusal is not None:
            return refusal
        if not added:
            text = f"This channel already has the alert “{command.query}”.{resumed}"
            return Reply(ReplyKind.INFO, text, title=_TITLE)
        text = f"Alert saved: new papers matching “{command.query}” will be posted here."
        text += resumed
        return Reply(ReplyKind.SUBSCRIPTION, text, notes=command.notes, title=_TITLE)

    def following(self, _command: Following, channel: ChannelRef) -> Reply:
        with self.uow() as uow:
            alerts = uow.alerts.for_channel(channel)
            pause = uow.alerts.paused(channel)
            waiting = (
                0 if pause is None else uow.alert_ledger.count(AlertStatus.PAUSED, channel=channel)
            )
        if not alerts:
            return Reply(
                ReplyKind.INFO,
                'This channel has no alerts. Try `follow author "Yann LeCun"` or '
                "`alert diffusion speech`.",
                title=_TITLE,
            )
        lines = [f"{i + 1}. {_describe(a)}" for i, a in enumerate(alerts)]
        text = "Alerts in this channel:\n" + "\n".join(lines)
        text += "\nRemove one with `unfollow N`."
        if pause is not None:
            text += (
                f"\nPAUSED since {pause.since:%d %b %Y}: posting here failed ({pause.reason}). "
                f"{_waiting(waiting)}Add an alert again (`follow author …` or `alert …`) "
                "to resume them."
            )
        return Reply(ReplyKind.SUBSCRIPTION, text, title=_TITLE)

    def unfollow(self, command: Unfollow, channel: ChannelRef) -> Reply:
        with self.uow() as uow:
            alerts = uow.alerts.for_channel(channel)
            if command.number > len(alerts):
                count = len(alerts)
                text = (
                    "This channel has no alerts."
                    if count == 0
                    else f"There is no alert {command.number}: this channel has {count}; "
                    "see `following`."
                )
                return Reply(ReplyKind.ERROR, text, title=_TITLE)
            alert = alerts[command.number - 1]
            uow.alerts.remove(alert.id)
        return Reply(
            ReplyKind.SUBSCRIPTION,
            f"Removed alert {command.number}: {_describe(alert)}.",
            title=_TITLE,
        )

    def show_all(self, command: AlertMatches, channel: ChannelRef) -> Reply:
        """Every paper of an alert message, for its "Show all" button."""
        with self.uow() as uow:
            delivery = uow.alert_ledger.get(command.delivery_id)
            if delivery is None or delivery.channel.key != channel.key:
                return Reply(
                    ReplyKind.ERROR, "That alert message is no longer known here.", title=_TITLE
                )
            items = uow.alert_ledger.items_many([delivery.id])[delivery.id]
            papers = {p.key: p for p in uow.papers.get_many([k for k, _ in items])}
        cards = tuple(
            PaperCard(papers[key], rank=i + 1) for i, (key, _) in enumerate(items) if key in papers
        )
        text = f"All {len(cards)} new papers of this alert message"
        notes: tuple[str, ...] = ()
        if len(cards) > SHOW_ALL_MAX:
            notes = (f"Showing the first {SHOW_ALL_MAX}; search for the rest.",)
        return Reply(ReplyKind.SEARCH, text, cards=cards[:SHOW_ALL_MAX], notes=notes, title=_TITLE)
