"""Channel taste in the core (issue 13): the parser, the model, the commands and the digest
planner, on the fakes and on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.commands.core import CommandCore, CoreConfig
from bot.commands.parser import parse
from bot.commands.types import CastVote, Invalid, ResetTaste, SetTaste, ShowTaste
from bot.digests.delivery import RetryPolicy
from bot.digests.runner import DigestRunner
from bot.models import (
    ChannelRef,
    CommandRequest,
    Paper,
    PaperRecord,
    Platform,
    PostResult,
    ReplyKind,
    SearchResults,
)
from bot.taste.channel import TasteRanker
from bot.taste.features import TfidfFeatures
from bot.taste.model import MIN_VOTES, VotedPaper, fit_taste
from bot.taste.ranking import EXPLORING, rank
from bot.taste.votes_port import Vote, VoteSource
from bot.testing.fakes import FakeDatabase, FakeSink, subscribe
from storage.db import Database

DAY = date(2026, 11, 12)
NOW = datetime.combine(DAY, time(9, 5), tzinfo=UTC)
CHANNEL = ChannelRef(Platform.SLACK, "C1", "T1")
TOPICS = {
    "speech": "speech separation of overlapping talkers with neural masks",
    "protein": "protein structure prediction with equivariant graph networks",
    "robots": "robot grasping policies learned from human video demonstrations",
}


class NoSearch:
    def search(self, query: str, *, limit: int = 10, offset: int = 0) -> SearchResults:
        return SearchResults((), 0, query)

    def suggest(self, prefix: str, *, limit: int = 25) -> list[tuple[int, str]]:
        return []

    def add(self, papers: Iterable[Paper]) -> None:
        return None

    def __len__(self) -> int:
        return 0


@pytest.fixture
def db(db_or_fake: Database | FakeDatabase) -> Database | FakeDatabase:
    return db_or_fake


def add_day(db: Database | FakeDatabase, day: date, tag: str) -> dict[str, list[int]]:
    """Three papers per topic published on `day`; speech trends most, robots least."""
    records = []
    upvotes = {"speech": 90, "protein": 60, "robots": 30}
    for topic, text in TOPICS.items():
        for i in range(3):
            records.append(
                PaperRecord(
                    title=f"{topic.title()} study {tag}{i}",
                    source="test",
                    paper_id=f"2511.{abs(hash((tag, topic))) % 9000 + 1000}{i}",
                    abstract=f"We look at {text}; variant {i}.",
                    published=day,
                    upvotes=upvotes[topic] - i,
                )
            )
    with db.uow() as uow:
        uow.papers.upsert_many(records, seen_at=datetime.combine(day, time(0), tzinfo=UTC))
        by_topic: dict[str, list[int]] = {t: [] for t in TOPICS}
        for paper in uow.papers.published_since(day):
            if paper.published == day:
                for topic in TOPICS:
                    if paper.title.lower().startswith(topic):
                        by_topic[topic].append(paper.key)
    return by_topic


def request(command: object, *, user: str = "U1", manage: bool = False) -> CommandRequest:
    return CommandRequest(
        Platform.SLACK,
        CHANNEL.channel,
        user,
        command,
        workspace=CHANNEL.workspace,
        can_manage=manage,  # type: ignore[arg-type]
    )


def make_core(db: Database | FakeDatabase) -> CommandCore:
    return CommandCore(db.uow, NoSearch(), CoreConfig(), clock=lambda: NOW)


# -- parser --------------------------------------------------------------------------------


def test_parser_reads_the_taste_commands() -> None:
    assert parse("taste") == ShowTaste()
    assert parse("/papers taste reset") == ResetTaste()
    assert parse("taste off") == SetTaste(enabled=False)
    assert parse("taste ON") == SetTaste(enabled=True)
    assert parse("vote up 2401.12345") == CastVote(value=1, ref="2401.12345")
    assert parse("vote 👎 2401.12345") == CastVote(value=-1, ref="2401.12345")
    for bad in ("taste sideways", "vote", "vote up", "vote maybe 2401.12345"):
        parsed = parse(bad)
        assert isinstance(parsed, Invalid) and parsed.attempted in {"taste", "vote"}
    assert ResetTaste.needs_manage and SetTaste.needs_manage and not ShowTaste.needs_manage


# -- the model -----------------------------------------------------------------------------


def papers_of(topic: str, n: int, start: int) -> list[Paper]:
    return [
        Paper(key=start + i, title=f"{topic} paper {i}", abstract=f"{TOPICS[topic]} {i}")
        for i in range(n)
    ]


def test_cold_start_below_min_votes_and_keywords_count_as_pseudo_votes() -> None:
    pool = papers_of("speech", 5, 1) + papers_of("protein", 5, 10) + papers_of("robots", 5, 20)
    space = TfidfFeatures().fit(pool)
    liked = [VotedPaper(p, 1.0) for p in pool[5:9]]
    assert fit_taste(space, liked, vote_count=MIN_VOTES - 1, background=pool) is None
    model = fit_taste(space, liked, vote_count=MIN_VOTES, background=pool)
    assert model is not None
    picks = rank(model, pool, 5)
    assert [p.paper.key for p in picks[:4]] == [10, 11, 12, 13] or all(
        "protein" in p.paper.title for p in picks[:4]
    )
    # One slot in five explores outside the taste, and says so.
    assert picks[4].exploring and picks[4].why == EXPLORING
    assert "protein" not in picks[4].paper.title
    assert all(p.why.startswith("like “protein paper") for p in picks[:4])
    # A keyword alone (as a pseudo-vote) pulls its topic up when the votes are elsewhere.
    robots_fan = fit_taste(
        space,
        [VotedPaper(pool[0], -1.0)] * 1,
        vote_count=MIN_VOTES,
        keywords=("robot grasping",),
        background=pool,
    )
    assert robots_fan is not None
    assert "robots" in rank(robots_fan, pool, 5)[0].paper.title


def test_keyword_pseudo_papers_do_not_leak_between_channels_sharing_a_space() -> None:
    """Feature spaces cache rows by paper key and one space serves a whole digest run."""
    pool = papers_of("speech", 5, 1) + papers_of("protein", 5, 10) + papers_of("robots", 5, 20)
    space = TfidfFeatures().fit(pool)
    votes = [VotedPaper(pool[0], -1.0)]
    first = fit_taste(space, votes, vote_count=MIN_VOTES, keywords=("protein",), background=pool)
    second = fit_taste(space, votes, vote_count=MIN_VOTES, keywords=("robot",), background=pool)
    assert first is not None and second is not None
    assert "protein" in rank(first, pool, 5)[0].paper.title
    assert "robots" in rank(second, pool, 5)[0].paper.title


# -- commands ------------------------------------------------------------------------------


def test_votes_replace_and_the_summary_counts_without_naming_voters(
    db: Database | FakeDatabase,
) -> None:
    keys = add_day(db, DAY, "a")
    core = make_core(db)
    assert "no votes yet" in core.handle(request(ShowTaste())).text
    first = core.handle(request(CastVote(value=1, paper_key=keys["protein"][0])))
    assert first.kind is ReplyKind.TASTE and "👍 noted" in first.text
    assert any("more vote" in n for n in first.notes), "cold start says how far to go"
    again = core.handle(request(CastVote(value=1, paper_key=keys["protein"][0])))
    assert "already" in again.text
    changed = core.handle(request(CastVote(value=-1, paper_key=keys["protein"][0])))
    assert "Changed your vote" in changed.text
    for i, key in enumerate(keys["protein"] + keys["speech"]):
        for user in (f"U{i + 2}", f"V{i + 2}"):
            core.handle(
                request(
                    CastVote(value=1 if key in keys["protein"] else -1, paper_key=key), user=user
                )
            )
    summary = core.handle(request(ShowTaste()))
    assert summary.text.startswith("6 votes 👍 and 7 👎 on 6 papers, since 12 Nov 2026")
    assert (
        "Likes: " in summary.text and "protein" in summary.text.split("Likes: ")[1].split("\n")[0]
    )
    assert "Most liked: “Protein study" in summary.text
    assert not any(f"{c}{i}" in summary.text for c in "UV" for i in range(10))
    assert "don't know" in core.handle(request(CastVote(value=1, ref="9999.99999"))).text


def test_reset_needs_a_channel_manager_and_forgets_the_votes(db: Database | FakeDatabase) -> None:
    keys = add_day(db, DAY, "a")
    core = make_core(db)
    core.handle(request(CastVote(value=1, paper_key=keys["robots"][0])))
    refused = core.handle(request(ResetTaste()))
    assert refused.kind is ReplyKind.ERROR
    assert "Forgot this channel's 1 vote" in core.handle(request(ResetTaste(), manage=True)).text
    with db.uow() as uow:
        assert uow.votes.for_channel(CHANNEL) == []
    assert "no votes to forget" in core.handle(request(ResetTaste(), manage=True)).text


def test_reactions_count_only_on_digests_and_never_override_a_button(
    db: Database | FakeDatabase,
) -> None:
    from bot.models import DeliveryStatus
    from bot.ports import ClaimRequest, FinishRequest

    keys = add_day(db, DAY, "a")["speech"]
    sub = subscribe(db, CHANNEL.channel, created=NOW - timedelta(days=1))
    with db.uow() as uow:
        claimed = uow.deliveries.claim_many(
            [ClaimRequest(sub.id, DAY, paper_keys=tuple(keys))], worker="w", now=NOW
        )
        uow.deliveries.finish_many(
            [
                FinishRequest(
                    claimed[sub.id], DeliveryStatus.SENT, CHANNEL.key, "m1", paper_keys=tuple(keys)
                )
            ],
            now=NOW,
        )
    core = make_core(db)
    core.handle(request(CastVote(value=-1, paper_key=keys[0])))
    assert core.taste.react(CHANNEL, "not-a-digest", "U1", 1, added=True) == 0
    assert core.taste.react(CHANNEL, "m1", "U1", 1, added=True) == 2
    with db.uow() as uow:
        votes = {v.paper_key: v for v in uow.votes.for_channel(CHANNEL)}
    assert votes[keys[0]].value == -1 and votes[keys[0]].source is VoteSource.BUTTON
    assert votes[keys[1]].source is VoteSource.REACTION and votes[keys[1]].weight == pytest.approx(
        1 / 3
    )
    # Removing a 👎 reaction the user never added takes nothing back; removing the 👍 does.
    assert core.taste.react(CHANNEL, "m1", "U1", -1, added=False) == 0
    assert core.taste.react(CHANNEL, "m1", "U1", 1, added=False) == 2
    assert core.taste.forget_workspace("slack", "T1") == 1


# -- the digest planner --------------------------------------------------------------------


def like_robots_not_speech(db: Database | FakeDatabase, day: dict[str, list[int]]) -> None:
    """Two members like `day`'s robots papers and dislike its speech papers (the robots
    papers trend least, so only taste puts them first)."""
    votes = [(k, 1) for k in day["robots"]] + [(k, -1) for k in day["speech"]]
    with db.uow() as uow:
        for user in ("U1", "U2"):
            for key, value in votes:
                uow.votes.put(Vote(CHANNEL, key, user, value, NOW))


async def run_digest(db: Database | FakeDatabase, sink: FakeSink, at: datetime) -> None:
    runner = DigestRunner(
        db.uow, {Platform.SLACK: sink}, worker_id="w", clock=lambda: at, per_channel_interval=0
    )
    report = await runner.run_due(at)
    assert report.sent == 1, report.summary()


async def test_votes_reorder_the_next_digest_and_taste_off_restores_trending(
    db: Database | FakeDatabase,
) -> None:
    sink = FakeSink()
    first_day = add_day(db, DAY, "a")
    subscribe(db, CHANNEL.channel, created=NOW - timedelta(days=1), top_n=5)
    await run_digest(db, sink, NOW)
    (digest,) = sink.delivered[CHANNEL.key]
    assert [c.paper.key for c in digest.cards][:3] == first_day["speech"], "trending first"
    assert all(c.why is None for c in digest.cards)
    like_robots_not_speech(db, first_day)

    second_day = add_day(db, DAY + timedelta(days=1), "b")
    await run_digest(db, sink, NOW + timedelta(days=1))
    digest = sink.delivered[CHANNEL.key][1]
    keys = [c.paper.key for c in digest.cards]
    assert keys[:3] == second_day["robots"], "taste first, though robots trend least"
    assert all(
        c.why and ("like “Robots study" in c.why or "taste for" in c.why) for c in digest.cards[:3]
    )
    assert digest.cards[-1].why == EXPLORING
    with db.uow() as uow:
        sent = uow.deliveries.sent_paper_keys(CHANNEL)
    assert len(sent) == 10 and not {
        c.paper.key for c in sink.delivered[CHANNEL.key][0].cards
    } & set(keys)

    with db.uow() as uow:
        uow.votes.set_enabled(CHANNEL, False, now=NOW)
    add_day(db, DAY + timedelta(days=2), "c")
    await run_digest(db, sink, NOW + timedelta(days=2))
    digest = sink.delivered[CHANNEL.key][2]
    assert "Speech" in digest.cards[0].paper.title and digest.cards[0].why is None


def test_the_ranker_takes_any_feature_port() -> None:
    """Dense vectors plug in through the same port: a space with no terms explains by
    the nearest liked paper."""
    import numpy as np

    class Dense:
        terms = None

        def vectors(self, papers: list[Paper]) -> np.ndarray:
            rows = np.array([[1.0, 0.0] if "protein" in p.title else [0.0, 1.0] for p in papers])
            return rows

    class DenseFeatures:
        def fit(self, papers: list[Paper]) -> Dense:
            return Dense()

    pool = papers_of("speech", 5, 1) + papers_of("protein", 5, 10)
    ranker = TasteRanker(features=DenseFeatures(), min_votes=1)
    space = ranker.space(pool)
    votes = [Vote(CHANNEL, p.key, "U1", 1, NOW) for p in pool[5:8]] + [
        Vote(CHANNEL, p.key, "U1", -1, NOW) for p in pool[:3]
    ]
    model = ranker.model(space, votes, {p.key: p for p in pool}, background=pool)
    assert model is not None
    picks = ranker.pick(model, pool, 5)
    assert all("protein" in p.paper.title for p in picks[:4])
    assert picks[0].why.startswith("like “protein paper")


async def test_a_retried_taste_digest_keeps_its_why_lines(db: Database | FakeDatabase) -> None:
    """The first post fails (503 on every attempt); a later tick re-sends the planned
    digest, which still says why each paper was chosen, as first planned."""
    first_day = add_day(db, DAY, "a")
    subscribe(db, CHANNEL.channel, created=NOW - timedelta(days=1), top_n=5)
    await run_digest(db, FakeSink(), NOW)
    like_robots_not_speech(db, first_day)
    add_day(db, DAY + timedelta(days=1), "b")
    down = FakeSink(lambda digest, attempt: PostResult(ok=False, reason="http_503"))
    at = NOW + timedelta(days=1)
    planned = await DigestRunner(
        db.uow,
        {Platform.SLACK: down},
        worker_id="w",
        clock=lambda: at,
        per_channel_interval=0,
        retry=RetryPolicy(base_delay=0.001, max_delay=0.01),
    ).run_due(at)
    assert planned.retrying == 1, planned.summary()
    (plan,) = [p for p in planned.planned if p.papers]
    assert plan.why and plan.why[-1] == EXPLORING
    sink = FakeSink()
    await run_digest(db, sink, at + timedelta(hours=1))
    (digest,) = sink.delivered[CHANNEL.key]
    assert [(c.paper.key, c.why) for c in digest.cards] == [
        (p.key, why) for p, why in zip(plan.papers, plan.why, strict=True)
    ]
