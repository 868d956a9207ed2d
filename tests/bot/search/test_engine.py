"""The search index: ranking on the seed papers, typos, filters, updates and suggest."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from bot.models import Paper
from bot.search.engine import PaperIndex, typo_budget

HFT = "HFT: Half Fine-Tuning for Large Language Models"
SPEECH = "Advances in Speech Separation: Techniques, Challenges, and Future Trends"


def titles(index: PaperIndex, query: str, limit: int = 10) -> list[str]:
    return [card.paper.title for card in index.search(query, limit=limit).cards]


def test_seed_count(seeds: list[Paper], seed_index: PaperIndex) -> None:
    assert len(seeds) == 195
    assert len(seed_index) == 195


def test_abstract_phrase_ranks_first(seed_index: PaperIndex) -> None:
    assert titles(seed_index, "cocktail party problem")[0] == SPEECH
    assert titles(seed_index, '"cocktail party problem"') == [SPEECH]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kernel density estimators", "Kernel Density Estimators in Large Dimensions"),
        ("kernal densty estimaters", "Kernel Density Estimators in Large Dimensions"),
        ("speech separaton", SPEECH),
        ("transfor once", "Transform Once: Efficient Operator Learning in Frequency Domain"),
        (
            "half fine tuning large language models",
            "HFT: Half Fine-Tuning for Large Language Models",
        ),
        (
            "large language models half fine tuning",
            "HFT: Half Fine-Tuning for Large Language Models",
        ),
    ],
)
def test_known_item_queries_rank_first(seed_index: PaperIndex, query: str, expected: str) -> None:
    assert titles(seed_index, query)[0] == expected


def test_typos_find_diffusion_papers(seed_index: PaperIndex) -> None:
    found = titles(seed_index, "difusion modles")
    assert len(found) == 10
    assert all("diffusion" in t.lower() for t in found[:5])


def test_results_are_ranked_with_scores(seed_index: PaperIndex) -> None:
    results = seed_index.search("diffusion models", limit=5)
    scores = [card.score for card in results.cards]
    assert all(s is not None for s in scores)
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    assert [card.rank for card in results.cards] == [1, 2, 3, 4, 5]
    assert results.total >= 5


def test_paging_is_consistent(seed_index: PaperIndex) -> None:
    first = seed_index.search("diffusion", limit=5)
    second = seed_index.search("diffusion", limit=5, offset=5)
    both = seed_index.search("diffusion", limit=10)
    assert [c.paper.key for c in first.cards + second.cards] == [c.paper.key for c in both.cards]
    assert [c.rank for c in second.cards] == [6, 7, 8, 9, 10]


def test_hits_carry_the_whole_paper(seed_index: PaperIndex, seeds: list[Paper]) -> None:
    card = seed_index.search("cocktail party problem", limit=1).cards[0]
    original = next(p for p in seeds if p.key == card.paper.key)
    assert card.paper == original


@pytest.mark.parametrize(
    "query", ["", "   ", '""', "author:", "\u200b", "::", '"' * 50, "a" * 5000]
)
def test_odd_queries_do_not_raise(seed_index: PaperIndex, query: str) -> None:
    seed_index.search(query)
    seed_index.suggest(query)


def test_typo_budget_follows_meilisearch() -> None:
    assert [typo_budget("a" * n) for n in (1, 4, 5, 8, 9, 15)] == [0, 0, 1, 1, 2, 2]


def small_index() -> PaperIndex:
    return PaperIndex.build(small_index_papers())


def small_index_papers() -> list[Paper]:
    return [
        Paper(
            key=1,
            title="Dynamic Routing Between Capsules",
            abstract="A capsule is a group of neurons.",
            authors=("Sara Sabour", "Nicholas Frosst", "Geoffrey E. Hinton"),
            published=date(2017, 10, 26),
        ),
        Paper(
            key=2,
            title="Attention Is All You Need",
            abstract="The dominant sequence transduction models are based on recurrent nets.",
            authors=("Ashish Vaswani", "Noam Shazeer"),
            published=date(2017, 6, 12),
            upvotes=10,
        ),
        Paper(
            key=3,
            title="Capsule Networks for Speech",
            abstract="We apply capsules to speech recognition.",
            authors=("Jane Doe",),
            published=date(2024, 3, 1),
            keywords=("capsule networks", "speech"),
        ),
    ]


def test_author_filter() -> None:
    index = small_index()
    assert [c.paper.key for c in index.search("author:hinton").cards] == [1]
    assert [c.paper.key for c in index.search('author:"Geoffrey Hinton" capsules').cards] == [1]
    assert [c.paper.key for c in index.search("capsules author:doe").cards] == [3]
    assert [c.paper.key for c in index.search("author:hintn capsules").cards] == [1]
    assert [c.paper.key for c in index.search("author:vaswanni").cards] == [2]  # one typo
    assert index.search("author:nobody").total == 0


def test_since_filter() -> None:
    index = small_index()
    assert [c.paper.key for c in index.search("capsules since:2020").cards] == [3]
    assert {c.paper.key for c in index.search("capsules since:2017-10-01").cards} == {1, 3}
    assert {c.paper.key for c in index.search("since:2017-06-12").cards} == {1, 2, 3}
    # Only a filter: newest first.
    assert index.search("since:2017").cards[0].paper.key == 3


def test_phrase_filter() -> None:
    index = small_index()
    assert [c.paper.key for c in index.search('"sequence transduction"').cards] == [2]
    assert index.search('"transduction sequence"').total == 0


def test_incremental_add_and_replace() -> None:
    index = small_index()
    assert index.search("quantum annealing").total == 0
    new = Paper(key=4, title="Quantum Annealing for Protein Folding", published=date(2025, 1, 2))
    index.add([new])
    assert len(index) == 4
    assert titles(index, "quantum anealing")[0] == new.title
    assert titles(index, "protien")[0] == new.title  # a word first seen in the update
    updated = replace(new, title="Quantum Annealing for RNA Folding", upvotes=7)
    index.add([updated])
    assert len(index) == 4
    assert titles(index, "quantum annealing") == [updated.title]
    assert index.search("protein").total == 0
    assert index.search('"protein folding"').total == 0
    assert index.search("quantum annealing").cards[0].paper.upvotes == 7


def test_add_to_empty_index() -> None:
    index = PaperIndex.build([])
    assert len(index) == 0
    assert index.search("anything").total == 0
    index.add([Paper(key=9, title="Graph Neural Networks")])
    assert titles(index, "graph neural") == ["Graph Neural Networks"]


def test_suggest_prefix(seed_index: PaperIndex) -> None:
    choices = seed_index.suggest("diffusion mo")
    assert 0 < len(choices) <= 25
    assert choices[0][1].lower().startswith("diffusion mo")
    assert all(isinstance(k, int) and isinstance(t, str) for k, t in choices)
    assert len(seed_index.suggest("d", limit=100)) <= 25
    assert seed_index.suggest("") == []
    kernel = seed_index.suggest("kernel dens")
    assert kernel[0][1] == "Kernel Density Estimators in Large Dimensions"


def test_snapshot_reopens_with_updates(tmp_path: Path) -> None:
    directory = tmp_path / "index"
    index = PaperIndex.build(small_index_papers(), directory=directory)
    index.add([Paper(key=4, title="Quantum Annealing for Protein Folding")])
    index.add([Paper(key=1, title="Dynamic Routing Between Capsules, Revisited")])
    del index
    reopened = PaperIndex.open(directory)
    assert len(reopened) == 4
    assert titles(reopened, "quantum anealing") == ["Quantum Annealing for Protein Folding"]
    assert titles(reopened, "routing capsules revisited")[0].endswith("Revisited")
    assert reopened.suggest("quantum ann") == [(4, "Quantum Annealing for Protein Folding")]
    reopened.add([Paper(key=5, title="Sparse Autoencoders")])
    assert titles(reopened, "sparse autoencoder") == ["Sparse Autoencoders"]


def test_open_without_snapshot_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        PaperIndex.open(tmp_path)


def test_stored_timestamps_keep_their_zone_through_the_memo() -> None:
    """`_iso` memoises formatting; equal instants in two zones still format apart."""
    from datetime import UTC, datetime, timedelta, timezone

    from bot.search.engine import _iso

    utc = datetime(2024, 1, 1, 12, tzinfo=UTC)
    berlin = utc.astimezone(timezone(timedelta(hours=1)))
    assert utc == berlin
    assert (_iso(utc), _iso(berlin)) == ("2024-01-01T12:00:00+00:00", "2024-01-01T13:00:00+01:00")
    assert (_iso(date(2024, 1, 1)), _iso(datetime(2024, 1, 1))) == (
        "2024-01-01",
        "2024-01-01T00:00:00",
    )
