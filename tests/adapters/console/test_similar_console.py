"""More like this in the console: `similar N` names a card shown before, `similar ID` a paper."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from adapters.console.render import render_reply
from adapters.console.repl import ConsoleSession
from bot.models import ReplyKind
from bot.settings import Settings
from runtime.core import Core, build_core
from tests.adapters.similar_papers import ACL_ID, ARXIV_ID, NEIGHBOURS, TITLE, add_similar_papers


@pytest.fixture
def core(tmp_path: Path) -> Iterator[Core]:
    built = build_core(Settings(_env_file=None, DATABASE_URL=f"sqlite:///{tmp_path / 'c.db'}"))  # type: ignore[call-arg]
    add_similar_papers(built)
    try:
        yield built
    finally:
        built.close()


async def test_similar_n_uses_the_card_numbers_shown(core: Core) -> None:
    session = ConsoleSession(core.commands, Console(record=True, width=120))
    found = await session.handle_line("search self-attentive speaker diarization")
    assert found is not None and NEIGHBOURS[0] in found.cards[0].paper.title
    session.console.print(render_reply(found))
    assert "similar 1" in session.console.export_text()  # the card's More like this hint

    like = await session.handle_line("similar 1")
    assert like is not None and like.kind is ReplyKind.SEARCH and like.cards
    titles = [c.paper.title for c in like.cards]
    assert NEIGHBOURS[0] not in titles and titles.count(TITLE) == 1

    # Numbers now refer to the cards of this latest list.
    work = titles.index(TITLE) + 1
    versions = await session.handle_line(f"/papers similar {work}")
    assert versions is not None and versions.cards
    ids = {p.paper_id for c in versions.cards for p in (c.paper, *c.versions)}
    assert ARXIV_ID not in ids and ACL_ID not in ids


async def test_similar_by_id_and_unknown_numbers(core: Core) -> None:
    session = ConsoleSession(core.commands, Console(record=True, width=120))
    missing = await session.handle_line("similar 7")
    assert (
        missing is not None
        and missing.kind is ReplyKind.ERROR
        and "No card numbered 7" in missing.text
    )
    by_id = await session.handle_line(f"similar {ACL_ID}")
    assert by_id is not None and by_id.cards
    assert all(c.paper.title != TITLE for c in by_id.cards)


async def test_save_n_and_cite_n_use_the_card_numbers_shown(core: Core) -> None:
    # The console has no buttons, and many papers (the seeds) have no id to type.
    session = ConsoleSession(core.commands, Console(record=True, width=120))
    unknown = await session.handle_line("save 1")
    assert unknown is not None and unknown.kind is ReplyKind.ERROR
    assert unknown.text == "No card numbered 1 was shown; `save ID` works too."

    found = await session.handle_line("search self-attentive speaker diarization")
    assert found is not None and found.cards
    session.console.print(render_reply(found))
    assert "save 1 · similar 1 · cite 1" in session.console.export_text()
    first = found.cards[0].paper

    saved = await session.handle_line("save 1")
    assert saved is not None and saved.kind is not ReplyKind.ERROR, saved.text
    listed = await session.handle_line("list")
    assert listed is not None and [e.paper.key for e in listed.listing] == [first.key]
    cited = await session.handle_line("cite 1")
    assert cited is not None and cited.code and first.title.split()[0] in cited.code
    gone = await session.handle_line("cite 40")
    assert gone is not None and gone.text.startswith("No card numbered 40 was shown")
