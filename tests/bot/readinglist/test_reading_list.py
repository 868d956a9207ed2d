"""The reading list and `cite` through `CommandCore`, on the fakes and on both databases.

Lists belong to their channel: another channel, the same channel id in another workspace,
or the same ids on another platform can neither see nor change them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime

import bibtexparser
import pytest

from bot.commands.core import CommandCore, CoreConfig
from bot.commands.parser import parse
from bot.commands.types import AssignSaved, Cite, ExportList, MarkDone, RemoveSaved, Save, ShowList
from bot.models import (
    CommandRequest,
    Paper,
    PaperRecord,
    Platform,
    Reply,
    ReplyKind,
    SavedStatus,
    SearchResults,
)
from bot.testing.fakes import FakeDatabase
from bot.text import title_key
from storage.db import Database

NOW = datetime(2026, 11, 29, 18, 30, tzinfo=UTC)
RECORDS = [
    PaperRecord(
        title="Attention Is All You Need",
        source="test",
        paper_id="1706.03762",
        authors=("Ashish Vaswani", "Noam Shazeer"),
        published=date(2017, 6, 12),
        categories=("cs.CL",),
    ),
    PaperRecord(
        title="BERT: Pre-training of Deep Bidirectional Transformers",
        source="test",
        paper_id="2023.acl-long.1",
        authors=("Jacob Devlin",),
        published=date(2019, 6, 2),
    ),
    PaperRecord(
        title="Attention & {braces} 100% $cheap_tricks",
        source="test",
        paper_id="2401.00001",
        authors=("Ashish Vaswani",),
        published=date(2024, 1, 1),
    ),
]


class NoSearch:
    def search(self, query: str, *, limit: int = 10, offset: int = 0) -> SearchResults:
        return SearchResults((), 0, query)

    def suggest(self, prefix: str, *, limit: int = 25) -> list[tuple[int, str]]:
        return []

    def add(self, papers: Iterable[Paper]) -> None:
        return None

    def __len__(self) -> int:
        return 0


@pytest.fixture
def core(db_or_fake: Database | FakeDatabase) -> CommandCore:
    with db_or_fake.uow() as uow:
        uow.papers.upsert_many(RECORDS, seen_at=NOW)
    return CommandCore(db_or_fake.uow, NoSearch(), CoreConfig(), clock=lambda: NOW)


def ask(
    core: CommandCore,
    text: str,
    *,
    channel: str = "C1",
    workspace: str | None = "T1",
    user: str = "U1",
    platform: Platform = Platform.SLACK,
) -> Reply:
    request = CommandRequest(platform, channel, user, core.parse(text), workspace=workspace)
    return core.handle(request)


def test_parser_reads_the_reading_list_commands() -> None:
    assert parse("save 2401.12345") == Save(ref="2401.12345")
    assert parse("/papers save https://arxiv.org/abs/2401.12345v2") == Save(
        ref="https://arxiv.org/abs/2401.12345v2"
    )
    assert parse("list") == ShowList()
    assert parse("list done 2") == MarkDone(position=2)
    assert parse("list remove #3") == RemoveSaved(position=3)
    assert parse("list assign 1 <@U0ALICE|alice>") == AssignSaved(position=1, user="U0ALICE")
    assert parse("list assign 1 <@1234567>") == AssignSaved(position=1, user="1234567")
    assert parse("list export bibtex") == ExportList()
    assert parse("list export") == ExportList()
    assert parse("cite 1706.03762") == Cite(ref="1706.03762")
    assert parse("save").verb == parse("cite").verb == "help"  # with a note saying what to give
    for bad in ("list done", "list done two", "list assign 1", "list frob 2"):
        assert parse(bad).label in {"save", "cite", "list"}
        assert parse(bad).verb == "other"  # an Invalid, with one line for the user


def test_save_list_done_remove(core: CommandCore) -> None:
    reply = ask(core, "save https://huggingface.co/papers/1706.03762")
    assert reply.kind is ReplyKind.READING_LIST, reply.text
    assert "Attention Is All You Need" in reply.text
    assert ask(core, "save arXiv:1706.03762v5").kind is ReplyKind.INFO  # already listed
    assert ask(core, "save https://aclanthology.org/2023.acl-long.1.pdf", user="U2").kind is (
        ReplyKind.READING_LIST
    )
    listing = ask(core, "list").listing
    assert [(e.position, e.paper.paper_id, e.saved.saved_by) for e in listing] == [
        (1, "1706.03762", "U1"),
        (2, "2023.acl-long.1", "U2"),
    ]
    assert all(e.saved.saved_at == NOW for e in listing)
    assert ask(core, "list done 2").kind is ReplyKind.READING_LIST
    assert ask(core, "list assign 1 <@U0BOB|bob>").kind is ReplyKind.READING_LIST
    listing = ask(core, "list").listing
    assert [e.saved.status for e in listing] == [SavedStatus.TO_READ, SavedStatus.DISCUSSED]
    assert listing[0].saved.assignee == "U0BOB"
    assert "1 to read" in ask(core, "list").text
    assert ask(core, "list remove 1").kind is ReplyKind.READING_LIST
    assert [e.paper.paper_id for e in ask(core, "list").listing] == ["2023.acl-long.1"]
    bad = ask(core, "list done 7")
    assert bad.kind is ReplyKind.ERROR and "no number 7" in bad.text


def test_unknown_and_openreview_papers_are_refused_in_one_line(core: CommandCore) -> None:
    for text in ("save 2501.99999", "cite nonsense", "save https://openreview.net/forum?id=abcdef"):
        reply = ask(core, text)
        assert reply.kind is ReplyKind.ERROR and "\n" not in reply.text


def test_lists_stay_inside_their_channel(core: CommandCore) -> None:
    ask(core, "save 1706.03762")
    others = [
        {"channel": "C2"},
        {"workspace": "T2"},
        {"platform": Platform.DISCORD},
        {"workspace": None},
    ]
    for other in others:
        assert ask(core, "list", **other).listing == (), other  # type: ignore[arg-type]
        assert ask(core, "list done 1", **other).kind is ReplyKind.ERROR  # type: ignore[arg-type]
        assert ask(core, "list remove 1", **other).kind is ReplyKind.ERROR  # type: ignore[arg-type]
        assert ask(core, "list export", **other).attachment is None  # type: ignore[arg-type]
    (entry,) = ask(core, "list").listing
    assert entry.saved.status is SavedStatus.TO_READ


def test_save_button_names_the_paper_by_key(core: CommandCore) -> None:
    with core.uow() as uow:
        paper = uow.papers.find_by_paper_id("2023.acl-long.1")
    assert paper is not None
    request = CommandRequest(Platform.SLACK, "C1", "U1", Save(paper_key=paper.key), workspace="T1")
    assert core.handle(request).kind is ReplyKind.READING_LIST
    assert [e.paper.key for e in ask(core, "list").listing] == [paper.key]


def test_cite_and_export_parse_as_bibtex(core: CommandCore) -> None:
    reply = ask(core, "cite https://arxiv.org/abs/1706.03762")
    assert reply.kind is ReplyKind.CITATION and reply.code
    (entry,) = bibtexparser.parse_string(reply.code).entries
    assert entry.fields_dict["eprint"].value == "1706.03762"
    assert entry.fields_dict["archivePrefix"].value == "arXiv"
    assert entry.fields_dict["primaryClass"].value == "cs.CL"
    acl = ask(core, "cite 2023.acl-long.1")
    (acl_entry,) = bibtexparser.parse_string(acl.code or "").entries
    assert acl_entry.entry_type == "inproceedings"
    assert "Association for Computational Linguistics" in acl_entry.fields_dict["booktitle"].value
    assert acl_entry.fields_dict["url"].value == "https://aclanthology.org/2023.acl-long.1"

    assert ask(core, "list export").attachment is None  # empty list: nothing to upload
    for ref in ("1706.03762", "2023.acl-long.1", "2401.00001"):
        ask(core, f"save {ref}")
    export = ask(core, "list export bibtex")
    assert export.attachment is not None
    assert export.attachment.filename.endswith(".bib")
    library = bibtexparser.parse_string(export.attachment.content.decode("utf-8"))
    assert library.failed_blocks == []
    keys = [e.key for e in library.entries]
    assert len(keys) == 3 and len(set(keys)) == 3  # vaswani2017attention, …2024attention
    assert [e.fields_dict.get("eprint") and e.fields_dict["eprint"].value for e in library.entries][
        ::2
    ] == ["1706.03762", "2401.00001"]


def test_a_saved_paper_stays_listed_when_its_duplicate_merges_it_away(
    core: CommandCore,
) -> None:
    """Saved as the title-only record of a page capture; the record that brings its arXiv
    id folds that row into the stored arXiv row, and the entry follows, who/when/status
    intact."""
    arxiv = PaperRecord(title="Zebrafish acoustics with spiking networks", source="arxiv")
    hf_title = "Zebrafish Acoustics with Spiking Neural Networks"
    with core.uow() as uow:
        uow.papers.upsert_many(
            [replace(arxiv, paper_id="2410.01234"), PaperRecord(title=hf_title, source="hf_page")],
            seen_at=NOW,
        )
        title_only = next(p for p in uow.papers.with_title_keys([title_key(hf_title)]))
    assert title_only.paper_id is None
    request = CommandRequest(
        Platform.SLACK, "C1", "U7", Save(paper_key=title_only.key), workspace="T1"
    )
    assert core.handle(request).kind is ReplyKind.READING_LIST
    ask(core, "list done 1")
    ask(core, "list assign 1 <@U0BOB|bob>")
    with core.uow() as uow:
        merge = PaperRecord(title=hf_title, source="hf_json", paper_id="2410.01234")
        assert uow.papers.upsert_many([merge], seen_at=NOW).merged == 1
        assert uow.papers.get_many([title_only.key]) == []
    (entry,) = ask(core, "list").listing
    assert entry.paper.paper_id == "2410.01234"
    assert (entry.saved.saved_by, entry.saved.saved_at) == ("U7", NOW)
    assert (entry.saved.status, entry.saved.assignee) == (SavedStatus.DISCUSSED, "U0BOB")
    assert ask(core, "save 2410.01234").kind is ReplyKind.INFO  # already listed
