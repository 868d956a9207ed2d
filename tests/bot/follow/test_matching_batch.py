"""The bitset matcher on real paper texts and on the edges of its token stream, against the
naive per-alert scan (`bot.follow.naive`): the same channels, papers, order and alerts."""

from __future__ import annotations

import contextlib
import json
from datetime import date
from pathlib import Path

import pytest

from bot.follow.matching import Alert, AlertIndex, AlertKind, compile_alert
from bot.follow.naive import match_naively
from bot.models import Paper

A, S = AlertKind.AUTHOR, AlertKind.SEARCH


def _same_as_naive(alerts: list[Alert], papers: list[Paper]) -> int:
    index = AlertIndex(alerts)
    compiled = []
    for alert in alerts:
        with contextlib.suppress(ValueError):
            compiled.append(compile_alert(alert))
    found = index.match(papers)
    assert found == match_naively(compiled, papers)
    # Twice: the second batch reuses the lexicon's numbers.
    assert index.match(papers) == found
    return sum(len(m.alerts) for ms in found.values() for m in ms)


def _fixture_papers(fixtures_dir: Path) -> list[Paper]:
    rows = json.loads((fixtures_dir / "hf_daily_papers_2024-10-25.json").read_text())
    return [
        Paper(
            i,
            row["paper"]["title"],
            abstract=row["paper"].get("summary"),
            authors=tuple(a["name"] for a in row["paper"]["authors"]),
            published=date(2024, 10, 1 + i % 28),
        )
        for i, row in enumerate(rows)
    ]


def test_real_abstracts_every_title_window_and_author(fixtures_dir: Path) -> None:
    papers = _fixture_papers(fixtures_dir)
    alerts: list[Alert] = []
    for n, paper in enumerate(papers):
        channel = f"slack:T:C{n % 4}"
        words = paper.title.split()
        for size in (1, 2, 3):
            for at in range(0, len(words) - size + 1, 2):
                window = " ".join(words[at : at + size])
                alerts.append(Alert(len(alerts), channel, S, window))
                alerts.append(Alert(len(alerts), channel, S, f'"{window}"'))
                alerts.append(Alert(len(alerts), channel, S, f'"{window}" since:2024-10-15'))
        for name in paper.authors[:3]:
            alerts.append(Alert(len(alerts), channel, A, name))
            alerts.append(Alert(len(alerts), channel, S, f'{words[-1]} author:"{name}"'))
    assert _same_as_naive(alerts, papers) > len(papers)


def test_phrases_stay_within_a_field_of_title_or_abstract() -> None:
    papers = [
        Paper(1, "Graph neural", abstract="networks for molecules", keywords=("graph neural",)),
        Paper(2, "Survey", abstract="A survey.", keywords=("graph neural networks",)),
        Paper(3, "Robot", authors=("Graph Neural",)),
        Paper(4, "Neural graph neural networks", abstract="graph"),
    ]
    alerts = [
        Alert(1, "c", S, '"neural networks"'),  # across title and abstract of 1: no
        Alert(2, "c", S, '"graph neural networks"'),  # in 2's keywords only: no; 4: yes
        Alert(3, "c", S, '"graph neural"'),
        Alert(4, "c", S, '"graph"'),  # one quoted word is a word, as in search
        Alert(5, "c", S, "graph"),  # a word: keywords and authors count
        Alert(6, "c", S, '"neural graph neural"'),
        Alert(7, "c", S, '"graph ,"'),  # a phrase of one word: title or abstract only
    ]
    assert _same_as_naive(alerts, papers) == 15


def test_accents_long_words_and_the_separator_character() -> None:
    papers = [
        Paper(1, "Schrödinger bridges \x01 for diffusion", abstract="Naïve diffusion bridges"),
        Paper(2, "x" * 45 + " models", abstract="Über " + "y" * 41),
        Paper(3, "Erdős–Rényi graphs", abstract=None, authors=("Paul Erdős",)),
    ]
    alerts = [
        Alert(1, "c", S, '"schrodinger bridges"'),
        Alert(2, "c", S, '"bridges for diffusion"'),
        Alert(3, "c", S, '"naive diffusion"'),
        Alert(4, "c", S, "x" * 45),
        Alert(5, "c", S, f'"uber {"y" * 41}"'),
        Alert(6, "c", S, '"erdos renyi"'),
        Alert(7, "c", A, "P. Erdos"),
        Alert(8, "d", S, "graphs"),
    ]
    assert _same_as_naive(alerts, papers) == 8


def test_an_empty_batch_and_alerts_that_match_nothing() -> None:
    alerts = [Alert(1, "c", S, "graph"), Alert(2, "c", A, "Ada Lovelace")]
    assert AlertIndex(alerts).match([]) == {}
    assert _same_as_naive(alerts, [Paper(1, "Untitled")]) == 0


def test_numbering_starts_again_when_the_lexicon_outgrows_its_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.follow import text

    monkeypatch.setattr(text, "LEXICON", text.Lexicon(limit=5))
    monkeypatch.setattr("bot.follow.matching.LEXICON", text.LEXICON)
    alerts = [Alert(1, "c", S, '"graph neural"'), Alert(2, "c", S, "robots")]
    index = AlertIndex(alerts)
    first = [Paper(1, "Graph neural networks", abstract="for robots and more words")]
    second = [Paper(2, "Robots", abstract="graph neural nets"), Paper(3, "Nothing here")]
    keys = [[m.paper.key for m in index.match(batch)["c"]] for batch in (first, second, first)]
    assert keys == [[1], [2], [1]]
    assert _same_as_naive(alerts, second) == 2
