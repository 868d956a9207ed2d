"""What a card shows, in all three renderers (issue 15, item 9): the author an `author:`
search matched, an honest link for papers known only by title, and "200+" for a capped
result count."""

from __future__ import annotations

from datetime import date

from rich.console import Console

from adapters.console.render import render_card
from adapters.discord.embeds import card_embed
from adapters.slack.blocks import card_text
from bot.models import Paper, PaperCard
from bot.search.engine import CANDIDATES, PaperIndex

AUTHORS = ("Ada One", "Bo Two", "Cy Three", "Di Four", "Grace Hopperton", "Fay Six")


def _console_text(card: PaperCard) -> str:
    console = Console(width=200, record=True, color_system=None)
    console.print(render_card(card))
    return console.export_text()


def _renderings(card: PaperCard) -> dict[str, str]:
    embed = card_embed(card)
    discord_text = " ".join(
        [embed.description or "", *(f.value or "" for f in embed.fields), embed.url or ""]
    )
    return {
        "slack": card_text(card),
        "discord": discord_text,
        "console": _console_text(card),
    }


def test_author_search_shows_the_matched_author() -> None:
    papers = [
        Paper(key=1, title="Compilers for everyone", authors=AUTHORS, paper_id="2401.00001"),
        Paper(key=2, title="Something else", authors=("Zed Zero",), paper_id="2401.00002"),
    ]
    index = PaperIndex.build(papers)
    results = index.search("author:hopperton compilers")
    (card,) = results.cards
    assert card.matched_authors == ("Grace Hopperton",)
    assert "Grace Hopperton" in card.shown_authors(3)
    for name, text in _renderings(card).items():
        assert "Grace Hopperton" in text, name
    # A typo in the author filter still finds and shows the author.
    (typo,) = index.search("author:hoperton").cards
    assert typo.matched_authors == ("Grace Hopperton",)


def test_seed_card_links_to_a_search_and_counts_authors_properly() -> None:
    seed = Paper(key=3, title="HFT: Half Fine-Tuning", author_count=11, published=date(2025, 3, 17))
    card = PaperCard(seed, rank=1)
    rendered = _renderings(card)
    for name, text in rendered.items():
        assert "11 authors" in text, name
    for name in ("slack", "discord"):
        assert "arxiv.org/search/?query=HFT" in rendered[name], name
        assert "Search arXiv" in rendered[name], name
    assert "search arXiv for this title" in rendered["console"]
    console = Console(width=200, force_terminal=True, color_system="truecolor")
    with console.capture() as captured:
        console.print(render_card(card))
    assert "arxiv.org/search/?query=HFT" in captured.get()  # as an OSC 8 hyperlink
    one = PaperCard(Paper(key=4, title="Solo", author_count=1))
    assert "1 author" in card_text(one) and "1 authors" not in card_text(one)
    # The search is never passed off as the paper's own page behind the title.
    assert card_embed(card).url is None


def test_capped_result_count_says_plus() -> None:
    papers = [
        Paper(key=i, title=f"Diffusion study {i}", paper_id=f"2401.{i:05d}")
        for i in range(1, CANDIDATES + 30)
    ]
    index = PaperIndex.build(papers)
    many = index.search("diffusion", limit=5)
    assert many.capped and many.total_label == f"{CANDIDATES}+"
    few = index.search("study 7", limit=5)
    if not few.capped:
        assert few.total_label == str(few.total)
