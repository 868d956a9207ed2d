"""`serve` warms its search up before /readyz says ready: one description query through the
engine, which builds the query encoder and maps the vectors when there are vectors."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import SimpleNamespace

import pytest

from bot.search.engine import PaperIndex
from runtime.dense import WARM_UP_QUERY, start_warm_up, warm_up
from tests.bot.search.conftest import seed_papers


class Dense:
    """A dense side that records what it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, text: str, k: int, among: Sequence[int]) -> list[tuple[int, float]]:
        self.asked.append(text)
        return [(key, 0.5) for key in among]


@pytest.fixture(scope="module")
def index() -> PaperIndex:
    return PaperIndex.build(seed_papers())


def test_the_warm_up_query_goes_to_the_dense_side(index: PaperIndex) -> None:
    dense = Dense()
    index.use_dense(dense)
    try:
        said = warm_up(index, SimpleNamespace(count=3))  # type: ignore[arg-type]
    finally:
        index.use_dense(None)
    assert dense.asked == [WARM_UP_QUERY]
    assert "search by meaning on, 3 vectors" in said


def test_without_vectors_the_warm_up_says_search_by_meaning_is_off(index: PaperIndex) -> None:
    assert "search by meaning off" in warm_up(index, None)


def test_a_failed_warm_up_still_lets_the_process_become_ready(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken() -> PaperIndex:
        raise RuntimeError("no index")

    with caplog.at_level(logging.ERROR, logger="runtime.dense"):
        done = start_warm_up(broken, None)
        assert done.wait(10)
    assert "warm-up failed" in caplog.text
