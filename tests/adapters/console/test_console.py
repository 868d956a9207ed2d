"""The console adapter: a real core over the seeds, driven line by line and as a process."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from rich.console import Console

from adapters.console.render import render_reply
from adapters.console.repl import ConsoleSession, RawLines
from bot.settings import Settings
from runtime.core import build_core
from tests.adapters.served import PATIENCE, serve_environment, serving, stop_cleanly
from tests.runtime.cli.helpers import run_cli


@pytest.fixture
def session(tmp_path) -> ConsoleSession:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'c.db'}"
    assert run_cli("ingest", "seeds", "--as-of", "2026-11-22", database_url=url).returncode == 0
    core = build_core(Settings(DATABASE_URL=url))
    return ConsoleSession(core.commands, Console(record=True, width=100))


async def test_search_next_and_subscribe(session: ConsoleSession) -> None:
    first = await session.handle_line("/papers search cocktail party problem")
    assert first is not None and first.cards
    assert first.cards[0].paper.title.startswith("Advances in Speech Separation")
    following = await session.handle_line("next")
    assert following is not None and following.cursor is not None
    assert following.cursor.offset == first.cursor.offset + first.cursor.page_size  # type: ignore[union-attr]
    sub = await session.handle_line("/papers subscribe 09:00 Europe/Berlin diffusion")
    assert sub is not None and "Subscribed" in sub.text
    session.console.print(render_reply(first))
    assert "Speech Separation" in session.console.export_text()


async def test_markup_in_titles_is_printed_literally(session: ConsoleSession) -> None:
    reply = await session.handle_line("help")
    assert reply is not None
    session.console.print(render_reply(reply))
    assert "/papers search QUERY" in session.console.export_text()


def test_console_process_reads_commands_until_eof(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert run_cli("ingest", "seeds", database_url=url).returncode == 0
    result = run_cli(
        "serve",
        "console",
        database_url=url,
        stdin="/papers search cocktail party\n/papers trending 2\nquit\n",
    )
    assert result.returncode == 0, result.stderr
    assert "Advances in Speech Separation" in result.stdout
    assert "Traceback" not in result.stderr
    # Routine clock logs stay out of the user's terminal session.
    assert "INFO" not in result.stderr and '"info"' not in result.stderr


async def test_console_process_on_a_pipe_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    """A supervisor's SIGTERM while the prompt waits on a pipe: exit 0, nothing logged.

    The prompt's reader waited inside sys.stdin's buffered reader, whose lock made the
    interpreter abort at exit ("could not acquire lock for <stdin>").
    """
    env = serve_environment(f"sqlite:///{tmp_path / 'p.db'}")
    log = tmp_path / "serve.log"
    async with serving("console", env, log, pipes=True) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        await asyncio.wait_for(proc.stdout.readuntil(b"papers> "), PATIENCE)
        proc.stdin.write(b"/papers help\n")
        await proc.stdin.drain()
        await asyncio.wait_for(proc.stdout.readuntil(b"papers> "), PATIENCE)  # waiting again
        await stop_cleanly(proc, log)


async def test_slash_paper_prefix_and_unknown_slash_commands(session: ConsoleSession) -> None:
    """Issue 15 item 10: `/paper search x` once searched for the literal text."""
    reply = await session.handle_line("/paper search cocktail party problem")
    assert reply is not None and reply.cards
    assert "“cocktail party problem”" in reply.text
    unknown = await session.handle_line("/frobnicate now")
    assert unknown is not None and "`/frobnicate` is not a papers-bot command" in unknown.text
    berlin = await session.handle_line("subscribe 09:00 berlin diffusion")
    assert berlin is not None and "did you mean `Europe/Berlin`?" in berlin.text


async def test_weekly_subscription_in_the_console(session: ConsoleSession) -> None:
    sub = await session.handle_line("/papers subscribe weekly fri 16:00 Europe/Berlin")
    assert sub is not None and "week" in sub.text and "Fri" in sub.text
    shown = await session.handle_line("subscriptions")
    assert shown is not None and "weekly on Fri" in shown.text and "Next digest: Fri" in shown.text


async def test_alert_commands_in_the_console(session: ConsoleSession) -> None:
    followed = await session.handle_line('/papers follow author "Ada Lovelace"')
    assert followed is not None and "Following Ada Lovelace" in followed.text
    saved = await session.handle_line("alert speech separation")
    assert saved is not None and "Alert saved" in saved.text
    listed = await session.handle_line("following")
    assert listed is not None and "2. search “speech separation”" in listed.text
    removed = await session.handle_line("unfollow 1")
    assert removed is not None and "Removed alert 1" in removed.text


async def test_an_ambiguous_author_name_asks_which_person_in_the_console(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, date, datetime

    from bot.models import PaperRecord
    from storage.db import Database

    url = f"sqlite:///{tmp_path / 'w.db'}"
    assert run_cli("ingest", "seeds", "--as-of", "2026-11-22", database_url=url).returncode == 0
    papers = [
        ("Graph transformers for molecules", "Yi Wang"),
        ("Vision agents that plan", "Yi Wang"),
        ("Speech tokens at scale", "Yu Wang"),
    ]
    records = [
        PaperRecord(
            title=title,
            source="test",
            paper_id=f"2411.0{i}001",
            authors=(author, "Ana Silva"),
            published=date(2026, 11, 1 + i),
        )
        for i, (title, author) in enumerate(papers)
    ]
    database = Database(url)
    with database.uow() as uow:
        uow.papers.upsert_many(records, seen_at=datetime.now(UTC))
    database.dispose()
    session = ConsoleSession(
        build_core(Settings(DATABASE_URL=url)).commands, Console(record=True, width=100)
    )
    asked = await session.handle_line('/papers follow author "Y. Wang"')
    assert asked is not None and "“Y. Wang” may mean 2 people. Which one?" in asked.text
    assert "#1 Yi Wang — 2 papers: Vision agents that plan" in asked.text
    assert "#2 Yu Wang — 1 paper: Speech tokens at scale" in asked.text
    session.console.print(render_reply(asked))
    assert "#2 Yu Wang" in session.console.export_text()
    picked = await session.handle_line('follow author "Y. Wang" #2')
    assert picked is not None and "Following Yu Wang" in picked.text
    listed = await session.handle_line("following")
    assert listed is not None and "1. author Yu Wang" in listed.text


async def test_reading_list_cite_and_export_in_the_console(
    session: ConsoleSession,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    from datetime import UTC, date, datetime

    import bibtexparser

    from bot.models import PaperCard, PaperRecord, Reply, ReplyKind

    # The seeds are pages without arXiv ids; one paper with an id makes the list citable.
    record = PaperRecord(
        title="Speech Separation with Cocktail Parties",
        source="test",
        paper_id="2410.01234",
        authors=("Ada Lovelace",),
        published=date(2024, 10, 1),
    )
    with session.commands.uow() as uow:
        uow.papers.upsert_many([record], seen_at=datetime.now(UTC))
        paper = uow.papers.find_by_paper_id("2410.01234")
    assert paper is not None
    paper_id = paper.paper_id
    session.console.print(render_reply(Reply(ReplyKind.SEARCH, "x", cards=(PaperCard(paper),))))
    assert f"save {paper_id}" in session.console.export_text()  # the card's Save hint
    saved = await session.handle_line(f"save {paper_id}")
    assert saved is not None and "Saved" in saved.text
    listed = await session.handle_line("list")
    assert listed is not None and [e.paper.paper_id for e in listed.listing] == [paper_id]
    session.console.print(render_reply(listed))
    text = session.console.export_text()
    assert f"1. {paper.title[:40]}" in text and "saved by console-user" in text
    cited = await session.handle_line(f"cite {paper_id}")
    assert cited is not None and cited.code
    session.console.print(render_reply(cited))
    assert f"eprint = {{{paper_id}}}" in session.console.export_text()

    session.export_dir = tmp_path
    exported = await session.handle_line("list export bibtex")
    assert exported is not None
    path = tmp_path / "reading-list.bib"
    assert f"Wrote {path}." in exported.notes
    (entry,) = bibtexparser.parse_string(path.read_text("utf-8")).entries
    assert entry.fields_dict["eprint"].value == paper_id


async def test_a_pasted_link_shows_the_card_and_its_first_share(session: ConsoleSession) -> None:
    from datetime import UTC, datetime

    from bot.models import PaperRecord

    record = PaperRecord(title="Attention Is All You Need", source="test", paper_id="1706.03762")
    with session.commands.uow() as uow:
        uow.papers.upsert_many([record], seen_at=datetime.now(UTC))
    first = await session.handle_line("https://alphaxiv.org/abs/1706.03762")
    assert first is not None and [c.paper.paper_id for c in first.cards] == ["1706.03762"]
    assert first.cards[0].first_share is None
    again = await session.handle_line("https://arxiv.org/abs/1706.03762v2")
    assert again is not None and again.cards[0].first_share is not None
    session.console.print(render_reply(again))
    assert "first shared here by console-user on" in session.console.export_text()


def test_raw_lines_split_a_pipe_as_input_does() -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, "first\nsecond\r\nthird ü".encode())
    os.close(write_end)
    lines = RawLines(read_end, "utf-8")
    try:
        assert [lines.readline() for _ in range(3)] == ["first", "second", "third ü"]
        with pytest.raises(EOFError):
            lines.readline()
    finally:
        os.close(read_end)
