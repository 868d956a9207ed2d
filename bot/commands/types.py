"""Typed commands: what a user asked for, as frozen values the core can act on.

Text (Slack, console) becomes one of these through `bot.commands.parser.parse`; Discord
builds them straight from its typed options. Each class says what it needs around it:
`needs_manage` (only people who manage the channel may run it), `channel_only` (it belongs
to a channel, not a DM) and `verb` (its name in help and its metrics label).

Adding a command is one class here, one parser entry and one handler in the core.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import ClassVar

from bot.models import Cadence, Weekday

__all__ = [
    "AlertMatches",
    "AlertSearch",
    "AssignSaved",
    "CastVote",
    "Cite",
    "Command",
    "ExportList",
    "FollowAuthor",
    "Following",
    "Help",
    "Invalid",
    "MarkDone",
    "RemoveSaved",
    "ResetTaste",
    "Save",
    "Search",
    "SetTaste",
    "ShowList",
    "ShowTaste",
    "Similar",
    "Subscribe",
    "Subscriptions",
    "Trending",
    "Unfollow",
    "Unsubscribe",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """Base of every command; `notes` are remarks the reply carries (clamped input…)."""

    verb: ClassVar[str] = "other"
    needs_manage: ClassVar[bool] = False
    channel_only: ClassVar[bool] = False

    notes: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The metrics label: a word from a small fixed set, never user text."""
        return self.verb


@dataclass(frozen=True, slots=True, kw_only=True)
class Search(Command):
    """Search the papers. `explicit` is False when the user typed no verb at all."""

    verb: ClassVar[str] = "search"

    query: str
    explicit: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Trending(Command):
    verb: ClassVar[str] = "trending"

    count: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscribe(Command):
    """Create or change the channel's digest. None means "not given": keep what is set
    (or the default, for a new subscription)."""

    verb: ClassVar[str] = "subscribe"
    needs_manage: ClassVar[bool] = True
    channel_only: ClassVar[bool] = True

    at: time | None = None
    timezone: str | None = None
    weekdays: tuple[Weekday, ...] | None = None
    keywords: tuple[str, ...] | None = None
    top_n: int | None = None
    min_upvotes: int | None = None
    cadence: Cadence | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Unsubscribe(Command):
    verb: ClassVar[str] = "unsubscribe"
    needs_manage: ClassVar[bool] = True
    channel_only: ClassVar[bool] = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscriptions(Command):
    verb: ClassVar[str] = "subscriptions"
    channel_only: ClassVar[bool] = True


# -- alerts (issue 14): follow an author, save a search, list and remove them -------------


@dataclass(frozen=True, slots=True, kw_only=True)
class FollowAuthor(Command):
    """Follow an author; `choice` is the candidate number when the name means several people."""

    verb: ClassVar[str] = "follow"
    needs_manage: ClassVar[bool] = True
    channel_only: ClassVar[bool] = True

    name: str
    choice: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertSearch(Command):
    """A saved search: new papers matching `query` (the `search` syntax) are posted."""

    verb: ClassVar[str] = "alert"
    needs_manage: ClassVar[bool] = True
    channel_only: ClassVar[bool] = True

    query: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Following(Command):
    verb: ClassVar[str] = "following"
    channel_only: ClassVar[bool] = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Unfollow(Command):
    """Remove the channel's alert number `number`, as `following` lists them."""

    verb: ClassVar[str] = "unfollow"
    needs_manage: ClassVar[bool] = True
    channel_only: ClassVar[bool] = True

    number: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertMatches(Command):
    """Every paper of one alert message (its "Show all" button); only in that channel."""

    verb: ClassVar[str] = "alert-papers"

    delivery_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Help(Command):
    verb: ClassVar[str] = "help"


# -- Reading list and citations (issue 14) ----------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Save(Command):
    """Put a paper on the channel's reading list: `ref` is an id or a link; a Save button
    names the stored paper by `paper_key` instead."""

    verb: ClassVar[str] = "save"

    ref: str = ""
    paper_key: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ShowList(Command):
    verb: ClassVar[str] = "list"


@dataclass(frozen=True, slots=True, kw_only=True)
class MarkDone(Command):
    """Mark entry `position` (as `list` numbers it) as discussed."""

    verb: ClassVar[str] = "list"

    position: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveSaved(Command):
    verb: ClassVar[str] = "list"

    position: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AssignSaved(Command):
    """Name who presents entry `position` at the journal club (`user`: a platform user id)."""

    verb: ClassVar[str] = "list"

    position: int
    user: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportList(Command):
    """The whole list as a `.bib` file."""

    verb: ClassVar[str] = "list"


@dataclass(frozen=True, slots=True, kw_only=True)
class Cite(Command):
    """BibTeX for one paper: `ref` is an id or a link; the console names a card's paper by
    `paper_key` (`cite 2`)."""

    verb: ClassVar[str] = "cite"

    ref: str = ""
    paper_key: int | None = None


# -- More like this (issue 12) ----------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Similar(Command):
    """Papers like one paper: `ref` is an id, a link or a title; a "More like this" button
    names the stored paper by `paper_key`; `number` is a card number shown before, which
    only the console can map to a paper (`similar 3`)."""

    verb: ClassVar[str] = "similar"

    ref: str = ""
    paper_key: int | None = None
    number: int | None = None


# -- Channel taste (issue 13) ---------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CastVote(Command):
    """A 👍 (`value` 1) or 👎 (-1) on one paper: a card button names it by `paper_key`,
    text (`vote up ID`) by `ref`. Pressing the same vote again takes it back."""

    verb: ClassVar[str] = "vote"
    channel_only: ClassVar[bool] = True

    value: int
    ref: str = ""
    paper_key: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ShowTaste(Command):
    """What the channel likes and dislikes, its vote counts and since when."""

    verb: ClassVar[str] = "taste"
    channel_only: ClassVar[bool] = True


@dataclass(frozen=True, slots=True, kw_only=True)
class ResetTaste(Command):
    """Forget every vote of the channel."""

    verb: ClassVar[str] = "taste"
    needs_manage: ClassVar[bool] = True
    channel_only: ClassVar[bool] = True


@dataclass(frozen=True, slots=True, kw_only=True)
class SetTaste(Command):
    """`taste off` (digests rank as plain trending) or `taste on`; votes are kept."""

    verb: ClassVar[str] = "taste"
    needs_manage: ClassVar[bool] = True
    channel_only: ClassVar[bool] = True

    enabled: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Invalid(Command):
    """Input that names no runnable command; `error` is the one line the user sees.

    `attempted` is the verb it was meant for ("other" if none), so metrics still count a
    bad `subscribe` as a rejected subscribe.
    """

    error: str
    attempted: str = "other"

    @property
    def label(self) -> str:
        return self.attempted
