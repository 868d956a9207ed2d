"""Handlers of the reading-list and citation commands (issue 14): save, list, cite.

A channel's list is keyed by `ChannelRef.key` (platform, workspace or guild, channel), so a
command only ever sees and changes the list of the channel it was run in. Entries are
numbered as `list` shows them (in the order they were saved); `list done N` and friends
take those numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.cite.bibtex import bibtex, bibtex_entry
from bot.commands.types import (
    AssignSaved,
    Cite,
    Command,
    ExportList,
    MarkDone,
    RemoveSaved,
    Save,
    ShowList,
)
from bot.links import LinkKind, parse_paper_link
from bot.models import (
    Attachment,
    ChannelRef,
    CommandRequest,
    ListedPaper,
    Paper,
    Reply,
    ReplyKind,
    SavedPaper,
    SavedStatus,
)
from bot.paper_keys import paper_by_key
from bot.ports import UnitOfWork, UnitOfWorkFactory
from bot.text import clean_text, shorten

__all__ = ["PaperFetcher", "ReadingListCommands", "resolve_paper"]

TITLE_SHOWN = 120
EXPORT_FILENAME = "reading-list.bib"
# Fetches a paper that is not stored yet (by arXiv id), stores it and returns it; None when
# the source does not know it. Wired in by the runtime; tests pass a loopback one.
PaperFetcher = Callable[[str], Paper | None]


def resolve_paper(
    uow: UnitOfWorkFactory, ref: str, fetch: PaperFetcher | None = None
) -> Paper | str:
    """The paper `ref` names (an arXiv or ACL id or link), or one line saying why not.

    An arXiv paper that is not stored yet is fetched with `fetch` (outside any unit of
    work: the fetcher stores it in its own transaction).
    """
    ref = clean_text(ref).strip("<>")
    link = parse_paper_link(ref)
    if link is not None and link.kind is LinkKind.OPENREVIEW:
        return (
            "OpenReview papers have no arXiv id, and I only know papers from arXiv, "
            "Hugging Face and the ACL Anthology."
        )
    paper_id = link.paper_id if link is not None else ref
    paper = None
    if paper_id:
        with uow() as unit:
            paper = unit.papers.find_by_paper_id(paper_id)
    if paper is None and fetch is not None and link is not None and link.kind is LinkKind.ARXIV:
        paper = fetch(link.id)
    if paper is None:
        return (
            f"I don't know the paper “{shorten(ref, 60)}”. Give an arXiv id (2401.12345), "
            "an ACL Anthology id or a link to the paper."
        )
    return paper


def _title(paper: Paper) -> str:
    return shorten(clean_text(paper.title), TITLE_SHOWN)


class ReadingListCommands:
    """The handlers, registered in `CommandCore` by command class."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Callable[[], datetime],
        fetch: PaperFetcher | None = None,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.fetch = fetch

    def handlers(self) -> dict[type[Command], Callable[[Any, CommandRequest], Reply]]:
        return {
            Save: self.save,
            ShowList: self.show,
            MarkDone: self.mark_done,
            RemoveSaved: self.remove,
            AssignSaved: self.assign,
            ExportList: self.export,
            Cite: self.cite,
        }

    @staticmethod
    def _channel(request: CommandRequest) -> ChannelRef:
        return ChannelRef(request.platform, request.channel, request.workspace)

    def _paper(self, ref: str, paper_key: int | None) -> Paper | str:
        """The paper a command names: a stored key (a button, a console card), else an id,
        link or title; an error line when there is none."""
        if paper_key is None:
            return resolve_paper(self.uow, ref, self.fetch)
        return paper_by_key(self.uow, paper_key)  # its survivor if it was merged since

    def save(self, command: Save, request: CommandRequest) -> Reply:
        channel = self._channel(request)
        paper = self._paper(command.ref, command.paper_key)
        if isinstance(paper, str):
            return Reply(ReplyKind.ERROR, paper, title="Reading list")
        with self.uow() as uow:
            added = uow.reading_list.add(channel, paper.key, user=request.user, now=self.clock())
            total = len(uow.reading_list.entries(channel))
        if not added:
            text = f"“{_title(paper)}” is already on this channel's reading list."
            return Reply(ReplyKind.INFO, text, title="Reading list")
        text = (
            f"Saved “{_title(paper)}” to this channel's reading list "
            f"({total} paper{'' if total == 1 else 's'}). `/papers list` shows it."
        )
        return Reply(ReplyKind.READING_LIST, text, title="Reading list")

    def _listing(self, uow: UnitOfWork, channel: ChannelRef) -> list[ListedPaper]:
        entries = uow.reading_list.entries(channel)
        papers = {p.key: p for p in uow.papers.get_many([e.paper_key for e in entries])}
        return [
            ListedPaper(position=i, paper=papers[e.paper_key], saved=e)
            for i, e in enumerate(entries, start=1)
            if e.paper_key in papers
        ]

    def show(self, command: ShowList, request: CommandRequest) -> Reply:
        with self.uow() as uow:
            listing = self._listing(uow, self._channel(request))
        if not listing:
            return Reply(
                ReplyKind.INFO,
                "This channel's reading list is empty. Save papers with the Save button "
                "on a card or `/papers save ID`.",
                title="Reading list",
            )
        to_read = sum(1 for e in listing if e.saved.status is SavedStatus.TO_READ)
        text = (
            f"{len(listing)} paper{'' if len(listing) == 1 else 's'} on this channel's "
            f"reading list, {to_read} to read."
        )
        return Reply(
            ReplyKind.READING_LIST,
            text,
            listing=tuple(listing),
            notes=command.notes,
            title="Reading list",
        )

    def _entry(
        self, uow: UnitOfWork, request: CommandRequest, position: int
    ) -> ListedPaper | Reply:
        listing = self._listing(uow, self._channel(request))
        if not 1 <= position <= len(listing):
            if not listing:
                text = "This channel's reading list is empty."
            else:
                text = (
                    f"The reading list has no number {position}: it holds {len(listing)} "
                    f"paper{'' if len(listing) == 1 else 's'}; `/papers list` shows their numbers."
                )
            return Reply(ReplyKind.ERROR, text, title="Reading list")
        return listing[position - 1]

    def _change(
        self,
        request: CommandRequest,
        position: int,
        change: Callable[[UnitOfWork, ChannelRef, SavedPaper], object],
        done: str,
    ) -> Reply:
        channel = self._channel(request)
        with self.uow() as uow:
            entry = self._entry(uow, request, position)
            if isinstance(entry, Reply):
                return entry
            change(uow, channel, entry.saved)
        text = done.format(n=position, title=_title(entry.paper))
        return Reply(ReplyKind.READING_LIST, text, title="Reading list")

    def mark_done(self, command: MarkDone, request: CommandRequest) -> Reply:
        return self._change(
            request,
            command.position,
            lambda uow, channel, saved: uow.reading_list.update(
                channel, saved.paper_key, status=SavedStatus.DISCUSSED
            ),
            "Marked {n}. “{title}” as discussed.",
        )

    def remove(self, command: RemoveSaved, request: CommandRequest) -> Reply:
        return self._change(
            request,
            command.position,
            lambda uow, channel, saved: uow.reading_list.remove(channel, saved.paper_key),
            "Removed {n}. “{title}” from the reading list.",
        )

    def assign(self, command: AssignSaved, request: CommandRequest) -> Reply:
        return self._change(
            request,
            command.position,
            lambda uow, channel, saved: uow.reading_list.update(
                channel, saved.paper_key, assignee=command.user
            ),
            "{n}. “{title}” now has a presenter; `/papers list` shows who.",
        )

    def export(self, command: ExportList, request: CommandRequest) -> Reply:
        with self.uow() as uow:
            listing = self._listing(uow, self._channel(request))
        if not listing:
            return Reply(
                ReplyKind.INFO,
                "This channel's reading list is empty: nothing to export.",
                title="Reading list",
            )
        content = bibtex(entry.paper for entry in listing).encode("utf-8")
        count = len(listing)
        return Reply(
            ReplyKind.READING_LIST,
            f"BibTeX of this channel's reading list ({count} paper{'' if count == 1 else 's'}).",
            attachment=Attachment(EXPORT_FILENAME, content, title="Reading list (BibTeX)"),
            title="Reading list",
            # The file is for the channel, like the list it exports.
            ephemeral=False,
        )

    def cite(self, command: Cite, request: CommandRequest) -> Reply:
        paper = self._paper(command.ref, command.paper_key)
        if isinstance(paper, str):
            return Reply(ReplyKind.ERROR, paper, title="Citation")
        return Reply(
            ReplyKind.CITATION,
            f"BibTeX for “{_title(paper)}”",
            code=bibtex_entry(paper),
            title="Citation",
        )
