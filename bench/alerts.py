"""Benchmark alert delivery: 10,000 new papers against 5,000 channels x 3 alerts.

    .venv/bin/python bench/alerts.py [--corpus PATH] [--papers 10000] [--channels 5000]

Stores the corpus's newest papers as one ingest run in a fresh SQLite database, saves
synthetic alerts drawn from older papers (`alerts_match.synthetic_alerts`), and runs the
real `AlertRunner` against a fake sink that takes 50 ms per post. Prints, from the same
run: the matching step (`AlertIndex.match`, cold and warm) beside a naive per-alert scan
(a sample, scaled), and the fan-out rate beside the same runner posting one message at a
time.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from alerts_match import synthetic_alerts
from corpus_papers import DEFAULT_CORPUS, load_papers

from bot.alerts.ledger import AlertReport, enqueue_new_papers
from bot.alerts.models import AlertPost
from bot.alerts.runner import AlertRunner
from bot.follow.matching import AlertIndex, compile_alert
from bot.follow.naive import match_naively
from bot.models import ChannelRef, PaperRecord, Platform, PostResult
from bot.testing.fakes import FakeSink
from storage.db import Database


class SlowSink(FakeSink):
    """A sink whose every post takes `latency` seconds, as a platform round trip does."""

    def __init__(self, latency: float) -> None:
        super().__init__()
        self.latency = latency

    async def post_alerts(self, post: AlertPost) -> PostResult:
        await asyncio.sleep(self.latency)
        return await super().post_alerts(post)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--papers", type=int, default=10_000)
    ap.add_argument("--channels", type=int, default=5_000)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--sequential-sample", type=int, default=40)
    ap.add_argument("--naive-sample", type=int, default=300)
    args = ap.parse_args()

    papers = load_papers(args.corpus)
    papers.sort(key=lambda p: (p.published or date.min, p.key))
    batch, older = papers[-args.papers :], papers[: -args.papers]
    alerts = synthetic_alerts(older, args.channels, 3, 14)
    print(f"batch {len(batch):,} papers; {len(alerts):,} alerts in {args.channels:,} channels")

    # Matching, in isolation: the index beside a naive scan of a sample, same papers.
    index = AlertIndex(alerts)
    # Cold: the process's first batch (nothing stemmed or parsed yet, as in `papers-bot
    # ingest`); warm: the same batch again (as a long-running `serve` meets most words).
    for label in ("cold", "warm"):
        start, cpu = time.perf_counter(), time.process_time()
        result = index.match(batch)
        m_wall, m_cpu = time.perf_counter() - start, time.process_time() - cpu
        pairs = sum(len(v) for v in result.values())
        print(
            f"matching (AlertIndex), {label}: {m_wall:.2f} s wall, {m_cpu:.2f} s CPU "
            f"-> {pairs:,} pairs"
        )
    sample = random.Random(14).sample(alerts, args.naive_sample)
    start, cpu = time.perf_counter(), time.process_time()
    match_naively([compile_alert(a) for a in sample], batch)
    scale = len(alerts) / len(sample)
    n_wall, n_cpu = time.perf_counter() - start, time.process_time() - cpu
    print(
        f"matching (naive per-alert scan, {len(sample)} alerts x{scale:.0f}): "
        f"~{n_wall * scale:.0f} s wall, ~{n_cpu * scale:.0f} s CPU"
    )

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db")
        db.upgrade()
        t0 = datetime.now(UTC)
        records = [
            PaperRecord(
                title=p.title,
                source="bench",
                paper_id=p.paper_id,
                abstract=p.abstract,
                authors=p.authors,
                published=p.published,
            )
            for p in batch
        ]
        with db.uow() as uow:
            uow.papers.upsert_many(records, seen_at=t0)
            for alert in alerts:
                ref = ChannelRef(Platform.SLACK, alert.channel.rsplit(":", 1)[1], "T1")
                uow.alerts.add(ref, alert.kind, alert.query, created_by="bench")
        enqueue_new_papers(db.uow, since=t0, now=t0)

        sink = SlowSink(args.latency)
        runner = AlertRunner(
            db.uow, {Platform.SLACK: sink}, worker_id="bench", concurrency=args.concurrency
        )
        plan_start = time.perf_counter()
        report = AlertReport(t0, "bench")
        runner.ledger.plan(t0, report)
        print(
            f"plan (read alerts and papers, match, write {report.planned:,} messages and "
            f"{report.matched_papers:,} items): {time.perf_counter() - plan_start:.2f} s wall"
        )
        start = time.perf_counter()
        sent = asyncio.run(runner.run(t0))
        wall = time.perf_counter() - start
        print(
            f"fan-out, concurrency {args.concurrency}: {sent.sent:,} messages in {wall:.2f} s "
            f"= {sent.sent / wall:.0f} messages/s ({args.latency * 1000:.0f} ms per post)"
        )
        duplicates = sum(len(v) - 1 for v in sink.alerts.values() if len(v) > 1)
        print(f"channels with a message: {len(sink.alerts):,}; duplicates: {duplicates}")
        db.dispose()

    # Baseline from the same run: the same runner posting one message at a time.
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/seq.db")
        db.upgrade()
        t0 = datetime.now(UTC)
        with db.uow() as uow:
            uow.papers.upsert_many(records[:50], seen_at=t0)
            for i in range(args.sequential_sample):
                ref = ChannelRef(Platform.SLACK, f"S{i}", "T1")
                uow.alerts.add(ref, alerts[0].kind.SEARCH, "the", created_by="bench")
        enqueue_new_papers(db.uow, since=t0, now=t0)
        sink = SlowSink(args.latency)
        runner = AlertRunner(db.uow, {Platform.SLACK: sink}, worker_id="seq", concurrency=1)
        start = time.perf_counter()
        seq = asyncio.run(runner.run(t0))
        wall = time.perf_counter() - start
        print(
            f"baseline, one post at a time: {seq.sent} messages in {wall:.2f} s "
            f"= {seq.sent / wall:.0f} messages/s"
        )
        db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
