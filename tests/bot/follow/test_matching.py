"""Alert matching: follows and saved searches against a batch, per channel, index == naive."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.follow.matching import (
    Alert,
    AlertIndex,
    AlertKind,
    compile_alert,
)
from bot.follow.naive import match_naively
from bot.follow.speller import VocabularySpeller
from bot.models import Paper

A, S = AlertKind.AUTHOR, AlertKind.SEARCH

PAPERS = [
    Paper(
        1,
        "Diffusion Models for Robot Agents",
        abstract="We study causal inference with large language models.",
        authors=("Yann LeCun", "Yi Wang"),
        published=date(2025, 3, 1),
    ),
    Paper(
        2,
        "A casual chat about the cocktail party problem",
        abstract="Speech separation, once more.",
        authors=("Yu Wang", "Erwin Schrödinger"),
        published=date(2024, 1, 1),
    ),
    Paper(3, "Untitled", abstract=None, authors=(), published=None),
]


def matched(alerts: list[Alert], papers: Sequence[Paper] = PAPERS, **kw: object) -> set[tuple]:
    result = AlertIndex(alerts, **kw).match(papers)  # type: ignore[arg-type]
    return {(c, m.paper.key, a.id) for c, ms in result.items() for m in ms for a in m.alerts}


def test_author_follow_matches_across_spellings_but_not_other_people() -> None:
    alerts = [
        Alert(1, "c", A, "Y. LeCun"),
        Alert(2, "c", A, "LeCun, Yann"),
        Alert(3, "c", A, "Yi Wang"),
        Alert(4, "c", A, "Schrodinger"),
        Alert(5, "c", A, "Xin Wang"),
    ]
    assert matched(alerts) == {("c", 1, 1), ("c", 1, 2), ("c", 1, 3), ("c", 2, 4)}


def test_saved_search_needs_every_word_stemmed_like_search() -> None:
    alerts = [
        Alert(1, "c", S, "diffusion agent"),  # agents ~ agent
        Alert(2, "c", S, "diffusion speech"),  # words from two papers: no match
        Alert(3, "c", S, "the robots"),  # stop word not required
        Alert(4, "c", S, "Schrodinger"),  # author names are searched words too
        Alert(5, "c", S, "language modelling"),  # models ~ modelling (same stem: model)
    ]
    assert matched(alerts) == {("c", 1, 1), ("c", 1, 3), ("c", 2, 4), ("c", 1, 5)}


def test_phrase_author_and_since_filters() -> None:
    alerts = [
        Alert(1, "c", S, '"cocktail party"'),
        Alert(2, "c", S, '"party cocktail"'),
        Alert(3, "c", S, "models author:wang"),
        Alert(4, "c", S, 'models author:"Yu Wang"'),
        Alert(5, "c", S, "wang since:2025"),
        Alert(6, "c", S, "wang since:2026"),
    ]
    assert matched(alerts) == {("c", 2, 1), ("c", 1, 3), ("c", 1, 5)}


def test_typos_are_fixed_against_known_words_only() -> None:
    speller = VocabularySpeller({"diffusion": 50, "causal": 40, "casual": 30, "models": 90})
    alerts = [Alert(1, "c", S, "difusion"), Alert(2, "c", S, "causal")]
    # Without a speller a typo matches nothing; a known word never fuzzes to a neighbour.
    assert matched(alerts) == {("c", 1, 2)}
    assert matched(alerts, speller=speller) == {("c", 1, 1), ("c", 1, 2)}


def test_one_message_per_paper_per_channel_naming_every_alert() -> None:
    alerts = [
        Alert(1, "slack:T:C1", A, "Yann LeCun"),
        Alert(2, "slack:T:C1", S, "robot"),
        Alert(3, "slack:T:C2", S, "robot"),
        Alert(4, "slack:T:C1", S, "cocktail"),
    ]
    result = AlertIndex(alerts).match(PAPERS)
    assert set(result) == {"slack:T:C1", "slack:T:C2"}
    c1 = result["slack:T:C1"]
    assert [m.paper.key for m in c1] == [1, 2]
    assert [a.id for a in c1[0].alerts] == [1, 2]
    assert [m.paper.key for m in result["slack:T:C2"]] == [1]


def test_alerts_that_cannot_match_are_rejected_with_a_reason() -> None:
    index = AlertIndex(
        [Alert(1, "c", S, "since:2024"), Alert(2, "c", A, "  "), Alert(3, "c", S, "robot")]
    )
    assert index.size == 1
    assert [(a.id, "no words" in why or "not a name" in why) for a, why in index.rejected] == [
        (1, True),
        (2, True),
    ]


class _Semantic:
    """A stand-in for semantic matching: it says paper 3 matches alert 9."""

    def match(self, papers: Sequence[Paper]) -> Iterable[tuple[int, Alert]]:
        return [(i, Alert(9, "c", S, "meaning")) for i, p in enumerate(papers) if p.key == 3]


def test_extra_matchers_extend_the_result() -> None:
    assert matched([Alert(1, "c", S, "robot")], extra=[_Semantic()]) == {
        ("c", 1, 1),
        ("c", 3, 9),
    }


WORDS = ["graph", "neural", "agents", "speech", "robot", "language", "model", "the", "vision"]
# Papers also spell them otherwise: case, plurals, accents, words glued by `_` or digits.
TEXT_WORDS = [*WORDS, "Models", "AGENT", "naïve", "Naive", "modèle", "x2", "graphs", "_", "a"]
SEPARATORS = [" ", " ", "-", "_", ", ", "/", "  ", ".", "é", "2"]
NAMES = ["Yi Wang", "Yu Wang", "Y. Wang", "Yann LeCun", "Ada Lovelace", "A. Lovelace"]


def _text(words: list[str], separators: list[str]) -> str:
    return "".join(w + separators[i % len(separators)] for i, w in enumerate(words)).strip()


text_st = st.builds(
    _text,
    st.lists(st.sampled_from(TEXT_WORDS), max_size=8),
    st.lists(st.sampled_from(SEPARATORS), min_size=1, max_size=4),
)

papers_st = st.lists(
    st.builds(
        lambda i, t, a, au, y: Paper(i, t, abstract=a, authors=tuple(au), published=date(y, 1, 1)),
        st.integers(0, 10**6),
        text_st,
        text_st,
        st.lists(st.sampled_from(NAMES), max_size=3),
        st.integers(2022, 2026),
    ),
    max_size=12,
)
query_st = st.one_of(
    st.tuples(st.just(A), st.sampled_from(NAMES)),
    st.tuples(
        st.just(S),
        st.builds(
            lambda ws, phrase, who, since: " ".join(
                [
                    *ws,
                    *([f'"{phrase[0]} {phrase[1]}"'] if phrase else []),
                    *([f'author:"{who}"'] if who else []),
                    *([f"since:{since}"] if since else []),
                ]
            ),
            st.lists(st.sampled_from(WORDS), max_size=3),
            st.none() | st.tuples(st.sampled_from(TEXT_WORDS[:-2]), st.sampled_from(TEXT_WORDS)),
            st.none() | st.sampled_from(NAMES),
            st.none() | st.sampled_from(["2023", "2025-06"]),
        ),
    ),
)


@settings(max_examples=300, deadline=None)
@given(papers_st, st.lists(st.tuples(st.sampled_from("xyz"), query_st), max_size=15))
def test_index_agrees_with_naive_scan(
    papers: list[Paper], specs: list[tuple[str, tuple[AlertKind, str]]]
) -> None:
    alerts = [Alert(i, ch, kind, q) for i, (ch, (kind, q)) in enumerate(specs)]
    index = AlertIndex(alerts)
    compiled = []
    for alert in alerts:
        with contextlib.suppress(ValueError):  # rejected alerts: the index skips them too
            compiled.append(compile_alert(alert))
    assert len(compiled) == index.size
    assert index.match(papers) == match_naively(compiled, papers)


def test_a_phrase_may_start_inside_a_rejected_match() -> None:
    # `model model` in "remodel model model": the first match starts inside a word.
    papers = [Paper(1, "Remodel model model", abstract=None)]
    assert matched([Alert(1, "c", S, '"model model"')], papers) == {("c", 1, 1)}
    assert matched([Alert(1, "c", S, '"model model"')], [Paper(2, "Remodel model")]) == set()
