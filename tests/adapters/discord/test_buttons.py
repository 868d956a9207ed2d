"""Card buttons of messages sent by earlier versions keep working: their custom_ids,
written out here as the old messages carry them, still dispatch through discord.py's own
dynamic-item matching to the right command, and new messages carry the same ids."""

from __future__ import annotations

from typing import Any

from adapters.discord.bot import PapersBot
from adapters.discord.views import card_view
from bot.models import PaperCard
from runtime.core import Core
from tests.adapters.discord.fake_discord import FakeDiscordAPI
from tests.adapters.discord.test_commands import SURVEY, _press, all_text
from tests.adapters.discord.test_taste import answer


def survey(core: Core) -> PaperCard:
    (card,) = core.search.search(SURVEY, limit=1).cards
    assert card.paper.title == SURVEY
    return card


def old_message(custom_id: str, label: str) -> dict[str, Any]:
    """A message as an earlier version sent it: one row holding the one button."""
    button = {"type": 2, "style": 2, "label": label, "custom_id": custom_id}
    return {"content": "", "embeds": [], "components": [{"type": 1, "components": [button]}]}


async def test_old_custom_ids_still_dispatch(
    bot: PapersBot, fake_api: FakeDiscordAPI, core: Core
) -> None:
    key = survey(core).paper.key
    presses = [
        (f"papers:save:{key}", "Save 1", "Saved"),
        (f"papers:vote:up:{key}", "👍 1", "👍 noted"),
        (f"papers:vote:down:{key}", "👎 1", "Changed your vote"),
        (f"papers:similar:{key}", "More like 1", f"like “{SURVEY}”"),
        ("papers:alerts:424242", "Show all 12", "no longer known"),
    ]
    for n, (custom_id, label, expected) in enumerate(presses, start=1):
        call = await _press(bot, fake_api, old_message(custom_id, label), custom_id, n)
        text = all_text(await answer(fake_api, call))
        assert expected in text, (custom_id, text)


def test_new_cards_carry_the_same_custom_ids(core: Core) -> None:
    card = survey(core)
    view = card_view((card,))
    assert view is not None
    key = card.paper.key
    ids = [getattr(item, "custom_id", None) for item in view.children]
    assert ids == [
        f"papers:save:{key}",
        f"papers:similar:{key}",
        f"papers:vote:up:{key}",
        f"papers:vote:down:{key}",
    ]
