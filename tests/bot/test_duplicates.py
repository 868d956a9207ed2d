"""One work under two ids (issue 15, item 8): told apart by title and authors, shown once.

The rule (`bot.duplicates.same_work`) on cases from the 138k corpus; then each place that
lists papers: search, trending, digests ("never the same paper twice", on the fake and on
both databases) and the cards' links.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from rich.console import Console

from adapters.console.render import render_card
from bot.digests.delivery import RetryPolicy
from bot.digests.runner import DigestRunner
from bot.duplicates import fold, same_work
from bot.models import Paper, PaperCard, PaperRecord, Platform
from bot.search.engine import PaperIndex
from bot.testing.fakes import FakeDatabase, FakeSink, subscribe
from bot.trending.score import TrendingQuery, top_trending
from storage.db import Database

CAMEL = "CAMEL-Bench: A Comprehensive Arabic LMM Benchmark"
CAMEL_AUTHORS = ("Sara Ghaboura", "Ahmed Heakl", "Omkar Thawakar", "Fahad Shahbaz Khan")


def paper(key: int, title: str, paper_id: str | None, *authors: str, **kw: object) -> Paper:
    return Paper(key=key, title=title, paper_id=paper_id, authors=authors, **kw)  # type: ignore[arg-type]


ARXIV = paper(1, CAMEL, "2410.18976", *CAMEL_AUTHORS)
# The Anthology spells the title and the names its own way.
ACL = paper(
    2,
    "CAMEL-Bench: a comprehensive Arabic LMM benchmark",
    "2025.findings-naacl.1",
    "Sara Ghaboura",
    "A. Heakl",
    "Omkar Thawakar",
    "Fahad Khan",
)


def test_the_same_title_and_authors_are_one_work() -> None:
    assert same_work(ARXIV, ACL) and same_work(ACL, ARXIV)
    # Author order may differ when most authors are shared (2024.findings-acl.381).
    shuffled = paper(3, CAMEL, "W24-1", *reversed(CAMEL_AUTHORS))
    assert same_work(ARXIV, shuffled)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # Generic titles by different people (E17-5001 and 2021.cl-2.11).
        (
            ("Joakim Nivre", "Daniel Zeman", "Filip Ginter", "Francis Tyers"),
            ("Marie-Catherine de Marneffe", "Christopher D. Manning", "Joakim Nivre", "Dan Zeman"),
        ),
        # Yearly shared-task overviews: some organisers stay, the first author changes.
        (
            ("Bharathi Raja Chakravarthi", "Vigneshwaran Muralidaran"),
            (
                "Prasanna Kumar Kumaresan",
                "Ruba Priyadharshini",
                "Bharathi Raja Chakravarthi",
                "Thenmozhi Durairaj",
            ),
        ),
        # No authors: nothing shows they are the same.
        ((), ()),
        (("Ann Author",), ()),
    ],
)
def test_a_shared_title_alone_is_not_one_work(
    first: tuple[str, ...], second: tuple[str, ...]
) -> None:
    assert not same_work(
        paper(1, "Introduction", "P19-1001", *first), paper(2, "Introduction", "P19-1002", *second)
    )


def test_fold_keeps_the_first_of_each_work_and_attaches_the_rest() -> None:
    other = paper(3, "Something else", "2410.00001", "Ann Author")
    stranger = paper(4, CAMEL, "W99-1", "Nobody Else")
    items = [ACL, other, ARXIV, stranger]
    looked_up: list[int] = []

    def lookup(p: Paper) -> Paper:
        looked_up.append(p.key)
        return p

    folded = fold(items, title=lambda p: p.title, paper=lookup)
    assert [(lead.key, [p.key for p in later]) for lead, later in folded] == [
        (2, [1]),
        (3, []),
        (4, []),
    ]
    assert 3 not in looked_up  # a title no other item shares is never read in full


def test_search_shows_one_card_with_both_links() -> None:
    index = PaperIndex.build([ARXIV, ACL, paper(3, "Arabic benchmarks elsewhere", "2401.1", "X Y")])
    results = index.search("CAMEL-Bench Arabic benchmark", limit=10)
    camel = [c for c in results.cards if "CAMEL" in c.paper.title]
    assert len(camel) == 1
    assert camel[0].keys == {1, 2}
    assert results.total == len(results.cards) == 2
    links = dict(camel[0].version_links())
    assert set(links) & {"arXiv 2410.18976", "ACL Anthology 2025.findings-naacl.1"}
    assert camel[0].paper.url not in links.values()


NOW = datetime(2026, 3, 12, 12, tzinfo=UTC)


def record(title: str, paper_id: str, published: date, upvotes: int, *authors: str) -> PaperRecord:
    return PaperRecord(
        title=title,
        source="test",
        paper_id=paper_id,
        authors=authors,
        published=published,
        upvotes=upvotes,
        abstract="An abstract.",
    )


def test_trending_shows_a_work_once_at_its_best_version() -> None:
    db = FakeDatabase()
    with db.uow() as uow:
        uow.papers.upsert_many(
            [
                record(CAMEL, "2410.18976", NOW.date(), 40, *CAMEL_AUTHORS),
                record(CAMEL, "2025.findings-naacl.1", NOW.date(), 0, *CAMEL_AUTHORS),
                record("Another paper", "2603.00001", NOW.date(), 10, "Ann Author"),
            ],
            seen_at=NOW,
        )
        cards = top_trending(uow, TrendingQuery(now=NOW, days=3)).cards
    assert [c.paper.paper_id for c in cards] == ["2410.18976", "2603.00001"]
    assert [p.paper_id for p in cards[0].versions] == ["2025.findings-naacl.1"]


def test_a_card_shows_every_versions_link_in_the_console() -> None:
    console = Console(width=200, record=True)
    console.print(render_card(PaperCard(paper=ARXIV, versions=(ACL,))))
    text = console.export_text()
    assert "https://arxiv.org/abs/2410.18976" in text
    assert "https://aclanthology.org/2025.findings-naacl.1" in text


@pytest.fixture
def db(db_or_fake: Database | FakeDatabase) -> Database | FakeDatabase:
    return db_or_fake


async def test_a_digest_never_sends_another_version_of_a_work_it_sent(
    db: Database | FakeDatabase,
) -> None:
    # Monday the preprint goes out; weeks later its ACL version is the newest paper, and
    # only it is inside the window. It must not be sent as if it were new.
    monday = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)
    with db.uow() as uow:
        uow.papers.upsert_many(
            [record(CAMEL, "2410.18976", monday.date(), 40, *CAMEL_AUTHORS)], seen_at=monday
        )
    sub = subscribe(db, "C1", at=time(9, 0), created=monday - timedelta(days=1), top_n=5)
    sink = FakeSink()
    retry = RetryPolicy(base_delay=0.001, max_delay=0.01)

    def runner() -> DigestRunner:
        return DigestRunner(
            db.uow, {Platform.SLACK: sink}, worker_id="w", per_channel_interval=0.0, retry=retry
        )

    assert (await runner().run_due(monday)).sent == 1
    later = monday + timedelta(days=22)
    with db.uow() as uow:
        uow.papers.upsert_many(
            [
                record(CAMEL.upper(), "2025.findings-naacl.1", later.date(), 90, *CAMEL_AUTHORS),
                record("A new paper", "2603.00002", later.date(), 5, "Ann Author"),
            ],
            seen_at=later,
        )
    await runner().run_due(later)
    sent = [c.paper.paper_id for d in sink.delivered[sub.channel.key] for c in d.cards]
    assert sent == ["2410.18976", "2603.00002"]
