"""Query-kind ranking and the fusion seam for the semantic half (bot.search.ranking)."""

from __future__ import annotations

from datetime import date

import pytest
import tantivy

from bot.models import Paper
from bot.search.engine import PaperIndex
from bot.search.query import parse_query
from bot.search.ranking import (
    DESCRIPTION_MIN_WORDS,
    RRF_K,
    QueryKind,
    fuse,
    hybrid,
    query_kind,
    title_similarity,
)


def test_short_queries_are_titles_and_long_ones_descriptions() -> None:
    assert query_kind(["kernal", "densty", "estimaters"]) is QueryKind.TITLE
    assert query_kind(["w"] * (DESCRIPTION_MIN_WORDS - 1)) is QueryKind.TITLE
    assert query_kind(["w"] * DESCRIPTION_MIN_WORDS) is QueryKind.DESCRIPTION


def test_title_similarity_is_a_fraction() -> None:
    assert title_similarity("speech separation", "speech separation") == 1.0
    assert title_similarity("", "speech separation") == 0.0
    assert 0.0 < title_similarity("speech separaton", "advances in speech separation") < 1.0


def test_fuse_lexical_only_keeps_the_order() -> None:
    fused = fuse([[7, 3, 9]])
    assert [key for key, _ in fused] == [7, 3, 9]
    assert fused[0][1] == pytest.approx(1.0 / (RRF_K + 1))


def test_fuse_with_fake_dense_ranking() -> None:
    lexical = ["a", "b", "c", "d"]
    dense = ["c", "a", "e"]
    fused = dict(fuse([lexical, dense]))
    # a: 1/61 + 1/62; c: 1/63 + 1/61; b: 1/62 only; e: 1/63 only.
    assert fused["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert fused["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert [key for key, _ in fuse([lexical, dense])] == ["a", "c", "b", "e", "d"]


def test_fuse_breaks_ties_in_first_seen_order_and_takes_k() -> None:
    assert [key for key, _ in fuse([["x", "y"], ["y", "x"]])] == ["x", "y"]
    assert fuse([["x"]], k=0) == [("x", 1.0)]
    assert fuse([]) == []


def test_hybrid_without_dense_candidates_keeps_lexical_scores() -> None:
    lexical = [(4, 2.5), (2, 1.25), (9, 0.5)]
    assert hybrid(lexical) == lexical


def test_hybrid_blends_lexical_and_min_max_cosine_scores() -> None:
    lexical = [(4, 2.5), (2, 1.25), (9, 0.5)]
    # Cosines 0.40 .. 0.90 map to 0 .. 1; paper 9 has no vector, paper 7 no lexical score.
    dense = [(2, 0.90), (7, 0.80), (4, 0.40)]
    fused = dict(hybrid(lexical, dense))
    assert fused == pytest.approx({4: 0.5, 2: 0.25 + 0.5, 7: 0.4, 9: 0.1})
    assert [key for key, _ in hybrid(lexical, dense)] == [2, 4, 7, 9]
    assert [key for key, _ in hybrid(lexical, dense, weight=1.0)] == [4, 2, 9, 7]


def test_a_dense_only_paper_gets_the_last_lexical_score_when_the_list_was_cut() -> None:
    lexical = [(4, 2.5), (2, 1.25), (9, 0.75)]
    dense = [(2, 0.90), (7, 0.80), (4, 0.40)]
    assert [key for key, _ in hybrid(lexical, dense)] == [2, 4, 7, 9]
    # Cut at its cap, the lexical list says only that paper 7 scores at most 0.75 (0.3 of
    # the best): it gets that, and overtakes paper 4. The others score as before.
    fused = hybrid(lexical, dense, truncated=True)
    assert dict(fused) == pytest.approx({4: 0.5, 2: 0.75, 7: 0.15 + 0.4, 9: 0.15})
    assert [key for key, _ in fused] == [2, 7, 4, 9]
    assert hybrid(lexical, truncated=True) == lexical


def _paper(key: int, title: str, abstract: str) -> Paper:
    return Paper(key=key, title=title, abstract=abstract, published=date(2024, 1, 1))


@pytest.fixture(scope="module")
def trap_index() -> PaperIndex:
    """A short title made only of generic words (the token-set-ratio trap) beside the
    paper a description is about, whose title shares none of the description's words,
    among papers that make the generic words common."""
    papers = [
        _paper(1, "Learning Models for Images", "We study models that learn from images."),
        _paper(
            2,
            "Foveated Gaussian Splatting",
            "We render splats for virtual reality headsets at full quality only where an "
            "eye tracker reports the gaze of the user, and coarsely elsewhere, which makes "
            "the frame rate much higher on consumer hardware.",
        ),
        *(
            # As in a real corpus, the generic words are common, so their IDF is low.
            _paper(
                10 + i,
                f"Learning Models of Protein Folding {i}",
                "Learning models on images of proteins, with graph networks.",
            )
            for i in range(40)
        ),
    ]
    return PaperIndex.build(papers)


def test_description_finds_the_described_paper_before_a_generic_title(
    trap_index: PaperIndex,
) -> None:
    query = (
        "learning models that render images for virtual reality headsets faster by spending "
        "full quality only where the eye tracker says the user is looking"
    )
    keys = [card.paper.key for card in trap_index.search(query, limit=3).cards]
    assert keys[0] == 2


def test_title_query_still_ranks_the_title_first(trap_index: PaperIndex) -> None:
    keys = [card.paper.key for card in trap_index.search("foveated gausian splating").cards]
    assert keys[0] == 2


def test_the_flat_or_query_scores_as_one_clause_per_word(seeds: list[Paper]) -> None:
    """The loose (OR) query puts every word's term queries into one disjunction, which
    tantivy answers at about half the CPU of one nested clause per word; BM25 adds up the
    same, so the candidates and their scores must be those of the nested form."""
    index = PaperIndex.build(seeds)
    description = (
        "a method that separates the overlapping voices of several speakers recorded with "
        "a single microphone by clustering deep embeddings of each time frequency bin"
    )
    words, weights = index._words(parse_query(description))
    groups = index._token_groups(words, weights, last_is_prefix=False)
    assert len(groups) >= 11
    flat = index._run(groups, [], 50, by_date=False, weights=weights)
    nested = tantivy.Query.boolean_query(
        [
            (
                tantivy.Occur.Should,
                index._token_clause(
                    g,
                    strict=False,
                    abstract_max_df=weights.abstract_max_df,
                    boosts=weights.field_boosts,
                ),
            )
            for g in groups
        ]
    )
    reference = index._searcher.search(nested, 50, count=False).hits
    assert [(a.segment_ord, a.doc) for _, a, _ in flat] == [
        (a.segment_ord, a.doc) for _, a in reference
    ]
    assert [s for s, _, _ in flat] == pytest.approx([float(s) for s, _ in reference], rel=1e-5)
