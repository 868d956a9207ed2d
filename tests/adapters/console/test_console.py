"""The console adapter: a real core over the seeds, driven line by line and as a process."""

from __future__ import annotations

import pytest
from rich.console import Console

from adapters.console.render import render_reply
from adapters.console.repl import ConsoleSession
from bot.settings import Settings
from runtime.core import build_core
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
