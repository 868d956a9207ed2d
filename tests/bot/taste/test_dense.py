"""Channel taste over stored paper vectors (`bot.taste.dense`) on the fakes, SQLite and
PostgreSQL: reading the vectors, the fallback for papers without one, and a digest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import numpy as np
import pytest
from numpy.typing import NDArray

from bot.digests.runner import DigestRunner
from bot.models import Paper, Platform
from bot.search.vector_ports import PaperVector
from bot.taste.channel import TasteRanker
from bot.taste.dense import EmbeddingFeatures, stored_vectors
from bot.taste.features import StackedFeatures, TfidfFeatures
from bot.taste.model import _pseudo_paper
from bot.taste.ranking import EXPLORING
from bot.testing.fakes import FakeDatabase, FakeSink, subscribe
from storage.db import Database
from tests.bot.taste.test_taste import CHANNEL, DAY, NOW, TOPICS, add_day, like_robots_not_speech

MODEL = "test-encoder@1"
AXIS = {topic: i for i, topic in enumerate(TOPICS)}


@pytest.fixture
def db(db_or_fake: Database | FakeDatabase) -> Database | FakeDatabase:
    return db_or_fake


def topic_vector(topic: str, variant: int) -> NDArray[np.float32]:
    """A unit vector near the topic's axis: papers of one topic are each other's nearest."""
    v = np.full(4, 0.05, dtype=np.float32)
    v[AXIS[topic]] = 1.0
    v[3] = 0.1 * variant
    return v / np.linalg.norm(v)


def embed(db: Database | FakeDatabase, by_topic: dict[str, list[int]]) -> None:
    with db.uow() as uow:
        uow.vectors.put_many(
            MODEL,
            [
                PaperVector(key, "fp", topic_vector(topic, i))
                for topic, keys in by_topic.items()
                for i, key in enumerate(keys)
            ],
        )


def papers(db: Database | FakeDatabase, keys: Sequence[int]) -> list[Paper]:
    with db.uow() as uow:
        found = {p.key: p for p in uow.papers.get_many(list(keys))}
    return [found[k] for k in keys]


class CountingEncoder:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.texts.extend(texts)
        return np.tile(topic_vector("robots", 0), (len(texts), 1))


def test_stored_vectors_are_read_once_and_missing_ones_fall_back(
    db: Database | FakeDatabase,
) -> None:
    by_topic = add_day(db, DAY, "a")
    embed(db, {"speech": by_topic["speech"], "protein": by_topic["protein"]})
    reads: list[int] = []
    source = stored_vectors(db.uow, MODEL, lambda: encoder.encode)
    encoder = CountingEncoder()

    def counted(wanted: Sequence[Paper]) -> object:
        reads.append(len(wanted))
        return source(wanted)

    space = EmbeddingFeatures(counted, dimensions=4).fit([])  # type: ignore[arg-type]
    speech, robots = papers(db, by_topic["speech"]), papers(db, by_topic["robots"])
    keyword = _pseudo_paper("grasping")
    rows = space.vectors([*speech, *robots, keyword])
    assert reads == [7], "one read for every paper not cached"
    assert rows.shape == (7, 4)
    assert np.allclose(rows[0], topic_vector("speech", 0), atol=1e-3), "float16 round trip"
    assert np.allclose(np.linalg.norm(rows[:3], axis=1), 1.0, atol=1e-3)
    assert not rows[3:6].any(), "papers without a vector get a zero row"
    assert np.allclose(rows[6], topic_vector("robots", 0)) and encoder.texts == ["grasping"]
    space.vectors([*robots, speech[0]])
    assert reads == [7], "rows are cached by key, absent ones too"
    # Stacked with TF-IDF, an unembedded paper keeps its TF-IDF half.
    stacked = StackedFeatures(TfidfFeatures(), EmbeddingFeatures(source, dimensions=4))
    both = stacked.fit([*speech, *robots]).vectors(robots)
    assert both.shape[0] == 3 and both.getnnz() > 0


async def test_votes_reorder_the_digest_with_vector_features(db: Database | FakeDatabase) -> None:
    sink = FakeSink()
    first_day = add_day(db, DAY, "a")
    embed(db, first_day)
    taste = TasteRanker(features=EmbeddingFeatures(stored_vectors(db.uow, MODEL), dimensions=4))
    subscribe(db, CHANNEL.channel, created=NOW - timedelta(days=1), top_n=5)

    async def run(at: object) -> None:
        runner = DigestRunner(
            db.uow,
            {Platform.SLACK: sink},
            worker_id="w",
            clock=lambda: at,  # type: ignore[arg-type,return-value]
            per_channel_interval=0,
            taste=taste,
        )
        report = await runner.run_due(at)  # type: ignore[arg-type]
        assert report.sent == 1, report.summary()

    await run(NOW)
    (digest,) = sink.delivered[CHANNEL.key]
    assert [c.paper.key for c in digest.cards][:3] == first_day["speech"], "trending first"
    like_robots_not_speech(db, first_day)

    second_day = add_day(db, DAY + timedelta(days=1), "b")
    embed(db, second_day)
    await run(NOW + timedelta(days=1))
    digest = sink.delivered[CHANNEL.key][1]
    keys = [c.paper.key for c in digest.cards]
    assert keys[:3] == second_day["robots"], "taste first, though robots trend least"
    # No terms in a vector space: every pick is explained by the nearest liked paper.
    assert all(c.why and c.why.startswith("like “Robots study a") for c in digest.cards[:3])
    assert digest.cards[-1].why == EXPLORING
