"""Digest topics matched by meaning (issue 12): a `speech` subscription also gets the
speaker-diarization paper that never says "speech", above the cosine threshold, and the
digest says which topic each paper matched; on the fakes and on SQLite and PostgreSQL.

The paper vectors are stored as `papers-bot embed` stores them; the keyword encoder is a
stub with fixed vectors, so the threshold logic is tested exactly (the real encoder and
the threshold's choice: bench/topic_threshold.py, tests/bot/search/test_embedding.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

import numpy as np
import pytest
from numpy.typing import NDArray

from adapters.slack.blocks import render_digest
from bot.digests.delivery import RetryPolicy
from bot.digests.runner import DigestRunner
from bot.digests.topics import TOPIC_THRESHOLD, LexicalTopics, SemanticTopics
from bot.models import DeliveryStatus, Paper, PaperRecord, Platform, PostResult
from bot.ports import ClaimRequest, FinishRequest
from bot.search.embedder import fingerprint, text_of
from bot.search.vector_ports import PaperVector
from bot.testing.fakes import FakeDatabase, FakeSink, subscribe
from storage.db import Database

MODEL = "stub@1"
CREATED = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
TUESDAY_0905 = datetime(2026, 3, 10, 9, 5, tzinfo=UTC)
SPEECH, GRAPHS, OTHER = np.eye(4, dtype=np.float32)[:3]


@pytest.fixture
def db(db_or_fake: Database | FakeDatabase) -> Database | FakeDatabase:
    return db_or_fake


def _unit(vector: NDArray[np.float32]) -> NDArray[np.float32]:
    return vector / np.linalg.norm(vector)


# title -> (abstract, stored vector, upvotes)
PAPERS = {
    "Speech enhancement with diffusion": ("We denoise recordings.", SPEECH, 90),
    "Who spoke when: end-to-end speaker diarization": (
        "We segment meeting recordings by talker.",
        _unit(SPEECH + 0.5 * OTHER),  # cosine 0.89 to the keyword
        80,
    ),
    "Talking faces from audio": ("Lip motion from a voice track.", _unit(SPEECH + 1.5 * OTHER), 70),
    "Message passing on molecules": ("Graph networks for chemistry.", GRAPHS, 60),
}


class StubEncoder:
    model_id, model_version, dimensions = "stub", "1", 4

    def __init__(self) -> None:
        self.asked: list[str] = []

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.asked.extend(texts)
        table = {"speech": SPEECH, "graph neural networks": GRAPHS}
        return np.vstack([table.get(t, OTHER) for t in texts])


def _runner(
    db: Database | FakeDatabase, sink: FakeSink, topics: SemanticTopics | None = None
) -> DigestRunner:
    fast = RetryPolicy(base_delay=0.001, max_delay=0.01)
    return DigestRunner(
        db.uow,
        {Platform.SLACK: sink},
        worker_id="w1",
        per_channel_interval=0.0,
        retry=fast,
        topics=topics,
    )


def _store(db: Database | FakeDatabase) -> list[Paper]:
    day = TUESDAY_0905.date()
    records = [
        PaperRecord(
            title=title,
            source="t",
            abstract=abstract,
            published=day,
            upvotes=votes,
            paper_id=f"2603.{i:05d}",
        )
        for i, (title, (abstract, _, votes)) in enumerate(PAPERS.items())
    ]
    with db.uow() as uow:
        uow.papers.upsert_many(records, seen_at=datetime.combine(day, time(0, 0), UTC))
    with db.uow() as uow:
        papers = list(uow.papers.iter_all())
        uow.vectors.put_many(
            MODEL,
            [PaperVector(p.key, fingerprint(text_of(p)), PAPERS[p.title][1]) for p in papers],
        )
    return papers


def test_the_stub_papers_sit_above_the_threshold() -> None:
    assert float(_unit(SPEECH + 0.5 * OTHER) @ SPEECH) == pytest.approx(0.894, abs=1e-3)
    assert float(_unit(SPEECH + 1.5 * OTHER) @ SPEECH) == pytest.approx(0.555, abs=1e-3)
    assert TOPIC_THRESHOLD < 0.55


async def test_a_digest_matches_topics_by_meaning_and_names_them(
    db: Database | FakeDatabase,
) -> None:
    _store(db)
    speech = subscribe(db, "C1", created=CREATED, keywords=("speech", "graph neural networks"))
    lexical_only = subscribe(db, "C2", created=CREATED, keywords=("speech",))
    encoder = StubEncoder()
    topics = SemanticTopics(lambda: encoder, MODEL)
    sink = FakeSink()
    report = await _runner(db, sink, topics).run_due(TUESDAY_0905)
    assert report.sent == 2
    cards = sink.delivered[speech.channel.key][0].cards
    shown = {c.paper.title: c.topic for c in cards}
    assert shown == {
        "Speech enhancement with diffusion": "speech",  # lexical
        "Who spoke when: end-to-end speaker diarization": "speech",  # by meaning
        "Talking faces from audio": "speech",  # cosine 0.55 >= 0.40
        "Message passing on molecules": "graph neural networks",
    }
    # Each keyword was embedded once for the whole run.
    assert sorted(encoder.asked) == ["graph neural networks", "speech"]
    # The Slack digest says which topic matched.
    text = str(render_digest(sink.delivered[speech.channel.key][0]).blocks)
    assert "topic: speech" in text and "topic: graph neural networks" in text
    assert lexical_only.channel.key in sink.delivered


async def test_without_the_encoder_topics_stay_lexical(db: Database | FakeDatabase) -> None:
    _store(db)
    sub = subscribe(db, "C1", created=CREATED, keywords=("speech",))
    sink = FakeSink()
    await _runner(db, sink).run_due(TUESDAY_0905)
    cards = sink.delivered[sub.channel.key][0].cards
    assert [(c.paper.title, c.topic) for c in cards] == [
        ("Speech enhancement with diffusion", "speech")
    ]


def test_a_stale_vector_never_matches(db: Database | FakeDatabase) -> None:
    papers = _store(db)
    diarization = next(p for p in papers if "diarization" in p.title)
    with db.uow() as uow:
        # Embedded from an older text of the paper: the fingerprint no longer matches.
        uow.vectors.put_many(MODEL, [PaperVector(diarization.key, "older-text", SPEECH)])
    with db.uow() as uow:
        matcher = SemanticTopics(StubEncoder, MODEL)
        assert matcher.topic_of(uow, diarization, ("speech",)) is None
        assert LexicalTopics().topic_of(uow, diarization, ("speech",)) is None


async def test_a_retried_digest_names_the_topics_it_matched_by_meaning(
    db: Database | FakeDatabase,
) -> None:
    """The first post fails (503 on every attempt); the later re-send still names the
    topic each paper matched, by meaning too, though that run has no encoder."""
    _store(db)
    sub = subscribe(db, "C1", created=CREATED, keywords=("speech",))
    topics = SemanticTopics(StubEncoder, MODEL)
    down = FakeSink(lambda digest, attempt: PostResult(ok=False, reason="http_503"))
    assert (await _runner(db, down, topics).run_due(TUESDAY_0905)).retrying == 1
    sink = FakeSink()
    later = TUESDAY_0905 + timedelta(hours=1)
    assert (await _runner(db, sink).run_due(later)).sent == 1
    (digest,) = sink.delivered[sub.channel.key]
    assert {c.paper.title: c.topic for c in digest.cards} == {
        "Speech enhancement with diffusion": "speech",
        "Who spoke when: end-to-end speaker diarization": "speech",
        "Talking faces from audio": "speech",
    }


async def test_a_row_claimed_before_notes_were_kept_is_resent_with_lexical_topics(
    db: Database | FakeDatabase,
) -> None:
    """A `retrying` row from an older version has its papers but no notes: the re-send
    names the topics its papers match lexically, and no why."""
    papers = {p.title: p.key for p in _store(db)}
    sub = subscribe(db, "C1", created=CREATED, keywords=("speech",))
    keys = (papers["Speech enhancement with diffusion"], papers["Talking faces from audio"])
    day, retry_at = TUESDAY_0905.date(), TUESDAY_0905 + timedelta(minutes=5)
    with db.uow() as uow:
        claimed = uow.deliveries.claim_many(
            [ClaimRequest(sub.id, day, paper_keys=keys)], worker="old", now=TUESDAY_0905
        )
        finish = FinishRequest(
            claimed[sub.id],
            DeliveryStatus.RETRYING,
            sub.channel.key,
            reason="http_503",
            paper_keys=keys,
            retry_at=retry_at,
            attempts=1,
        )
        uow.deliveries.finish_many([finish], now=TUESDAY_0905)
        uow.subscriptions.set_next_runs({sub.id: TUESDAY_0905 + timedelta(days=1)})
    sink = FakeSink()
    assert (await _runner(db, sink).run_due(retry_at)).sent == 1
    (digest,) = sink.delivered[sub.channel.key]
    assert [(c.paper.key, c.topic, c.why) for c in digest.cards] == [
        (keys[0], "speech", None),
        (keys[1], None, None),
    ]
