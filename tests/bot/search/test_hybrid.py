"""Dense candidates in the engine: fused into descriptions only, never into title-like or
filtered queries; and the real encoder + vector index wired in end to end."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

import bot.search.engine as engine_module
from bot.models import Paper
from bot.search.embedder import text_of
from bot.search.embedding import default_encoder
from bot.search.engine import PaperIndex
from bot.search.ranking import QueryKind, wants_dense
from bot.search.vectors import VectorIndex

DESCRIPTION = (
    "a method that learns to separate overlapping voices of several speakers recorded "
    "with one microphone using deep clustering of embeddings for each time frequency bin"
)


class RecordingDense:
    """A dense side that always puts `favourite` first and records what it was asked."""

    def __init__(self, favourite: int) -> None:
        self.favourite = favourite
        self.asked: list[str] = []

    def __call__(self, text: str, k: int, among: Sequence[int]) -> Sequence[tuple[int, float]]:
        self.asked.append(text)
        # The lexical candidates come with the query, and get cosines below the favourite's.
        return [(self.favourite, 0.9), *((key, 0.1) for key in among if key != self.favourite)]


def test_only_unfiltered_descriptions_want_dense() -> None:
    assert wants_dense(QueryKind.DESCRIPTION, filtered=False)
    assert not wants_dense(QueryKind.DESCRIPTION, filtered=True)
    assert not wants_dense(QueryKind.TITLE, filtered=False)


def test_a_dense_only_candidate_joins_a_description(seeds: list[Paper]) -> None:
    index = PaperIndex.build(seeds)
    favourite = seeds[-1]
    lexical = [c.paper.key for c in index.search(DESCRIPTION, limit=50).cards]
    assert favourite.key not in lexical[:5]
    dense = RecordingDense(favourite.key)
    index.use_dense(dense)
    fused = index.search(DESCRIPTION, limit=5).cards
    assert dense.asked == [DESCRIPTION]
    assert favourite.key in [c.paper.key for c in fused]
    assert next(c.paper for c in fused if c.paper.key == favourite.key).title == favourite.title
    # Fusion keeps the lexical side's leader among the first results.
    assert lexical[0] in [c.paper.key for c in fused[:2]]


def test_a_dense_only_candidate_gets_the_last_lexical_score_only_past_the_cap(
    seeds: list[Paper], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A paper sharing no word with the description: no lexical engine finds it.
    outsider = Paper(
        key=max(p.key for p in seeds) + 1,
        title="Quokka burrows",
        abstract="Marsupials nest under shrubs on Rottnest island.",
    )
    index = PaperIndex.build([*seeds, outsider])
    lexical = index.search(DESCRIPTION, limit=50)
    index.use_dense(RecordingDense(outsider.key))

    def score_of_outsider() -> float:
        cards = index.search(DESCRIPTION, limit=50).cards
        return next(c.score for c in cards if c.paper.key == outsider.key)

    # Every match is a candidate: a paper the lexical side did not find matched nothing,
    # so its blended score is its cosine part alone (the best cosine: 1 - weight).
    assert not lexical.capped
    assert score_of_outsider() == pytest.approx(0.5, abs=1e-4)
    # Candidates cut at a cap of 3: the outsider may match, and scores as the last one.
    monkeypatch.setattr(engine_module, "CANDIDATES", 3)
    assert index.search(DESCRIPTION, limit=3).capped
    assert score_of_outsider() > 0.5


def test_titles_and_filtered_queries_keep_their_lexical_ranking(seeds: list[Paper]) -> None:
    index = PaperIndex.build(seeds)
    title = seeds[3].title
    before = [c.paper.key for c in index.search(title).cards]
    filtered = f"{DESCRIPTION} since:2020"
    before_filtered = [c.paper.key for c in index.search(filtered).cards]
    dense = RecordingDense(seeds[-1].key)
    index.use_dense(dense)
    assert [c.paper.key for c in index.search(title).cards] == before
    assert [c.paper.key for c in index.search(filtered).cards] == before_filtered
    assert dense.asked == []


@pytest.mark.parametrize("saved", [False, True])
def test_real_encoder_and_vector_index_find_a_paraphrased_paper(
    seeds: list[Paper], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, saved: bool
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("PAPERS_BOT_CACHE", str(tmp_path / "cache"))
    encoder = default_encoder(threads=1)
    papers = seeds[:60]
    vectors = encoder.encode([text_of(p) for p in papers])
    vindex = VectorIndex.build(
        zip((p.key for p in papers), vectors, strict=True),
        model="test",
        dimensions=encoder.dimensions,
    )
    if saved:
        vindex.save(tmp_path / "vectors")
        vindex = VectorIndex.open(tmp_path / "vectors")
    target = papers[10]
    # The paper's own text, reworded by the encoder's view: its title alone is near enough.
    nearest = vindex.search(encoder.encode([target.title])[0], 3)
    assert target.key in [k for k, _ in nearest]
    index = PaperIndex.build(papers)
    index.use_dense(
        lambda text, k, among: (
            vindex.search(encoder.encode([text])[0], k)
            + vindex.cosines(encoder.encode([text])[0], among)
        )
    )
    long_query = " ".join((target.abstract or "").split()[:40])
    top = [c.paper.key for c in index.search(long_query, limit=3).cards]
    assert top[0] == target.key
    assert np.isfinite([c.score for c in index.search(long_query).cards]).all()
