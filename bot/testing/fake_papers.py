"""The in-memory paper repository: merges records the way storage does, with change numbers.

Part of `bot.testing.fakes.FakeDatabase`; its state lives in `FakeState`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import date, datetime, time

from bot.ingest.runs import WrittenPapers
from bot.merge_rules import count, fill, more_authors, union
from bot.models import Paper, PaperRecord, UpsertStats
from bot.testing.fake_merge_follow import follow_merge
from bot.testing.fake_repositories import FakeState
from bot.text import title_key


def _merge(paper: Paper, rec: PaperRecord) -> Paper:
    """`rec` merged into `paper` the way storage merges (`bot.merge_rules`)."""
    return replace(
        paper,
        title=fill(paper.title, rec.title),
        paper_id=paper.paper_id or rec.paper_id,
        abstract=fill(paper.abstract, rec.abstract or None),
        authors=tuple(more_authors(paper.authors, rec.authors)),
        author_count=fill(paper.author_count, rec.author_count or len(rec.authors) or None),
        published=fill(paper.published, rec.published),
        upvotes=count(paper.upvotes, rec.upvotes),
        comments=count(paper.comments, rec.comments),
        github_repo=fill(paper.github_repo, rec.github_repo),
        project_page=fill(paper.project_page, rec.project_page),
        organization=fill(paper.organization, rec.organization),
        keywords=tuple(union(paper.keywords, rec.keywords)),
        ai_summary=fill(paper.ai_summary, rec.ai_summary),
        categories=tuple(union(paper.categories, rec.categories, primary=True)),
        sources=tuple(union(paper.sources, (rec.source,))),
    )


class FakePaperRepository:
    def __init__(self, state: FakeState) -> None:
        self._s = state

    def upsert_many(
        self,
        records: Iterable[PaperRecord],
        *,
        seen_at: datetime,
        written: WrittenPapers | None = None,  # storage's repeat counting; not modelled
    ) -> UpsertStats:
        stats = UpsertStats()
        self._s.change += 1  # one number per call, as storage takes one per transaction
        for rec in records:
            stats = stats + self._upsert(rec, seen_at)
        return stats

    def _upsert(self, rec: PaperRecord, seen_at: datetime) -> UpsertStats:
        tkey = title_key(rec.title)
        if not tkey:
            return UpsertStats()
        same_title = [p for p in self._s.papers.values() if title_key(p.title) == tkey]
        by_id = [p for p in self._s.papers.values() if rec.paper_id and p.paper_id == rec.paper_id]
        orphan = next((p for p in same_title if p.paper_id is None), None)
        merged = 0
        if rec.paper_id is None:
            target = next((p for p in same_title if p.paper_id), None) or orphan
        elif by_id:
            target = by_id[0]
            if orphan is not None:
                # The id arrived after a title-only row was stored: fold that row in.
                self._absorb(orphan, into=target.key)
                target = _merge(target, _as_record(orphan))
                merged = 1
        else:
            target = orphan
        if target is None:
            key = self._s.new_id()
            empty = Paper(key=key, title=rec.title, first_seen=seen_at, updated=seen_at)
            paper = replace(_merge(empty, rec), sources=(rec.source,))
            self._s.papers[key] = paper
            self._s.changes[key] = self._s.change
            if paper.upvotes is not None:
                self._s.upvotes.setdefault(key, []).append((seen_at, paper.upvotes))
            return UpsertStats(inserted=1)
        stored = self._s.papers[target.key]
        paper = _merge(target, rec)
        if paper == stored and not merged:
            return UpsertStats(unchanged=1)
        self._s.papers[target.key] = replace(paper, updated=seen_at)
        self._s.changes[target.key] = self._s.change
        if paper.upvotes is not None and paper.upvotes != stored.upvotes:
            self._s.upvotes.setdefault(target.key, []).append((seen_at, paper.upvotes))
        return UpsertStats(updated=1, merged=merged)

    def _absorb(self, orphan: Paper, *, into: int) -> None:
        del self._s.papers[orphan.key]
        self._s.changes.pop(orphan.key, None)
        self._s.tombstones[orphan.key] = self._s.change
        self._s.survivors[orphan.key] = into
        history = self._s.upvotes.pop(orphan.key, [])
        self._s.upvotes.setdefault(into, []).extend(history)
        follow_merge(self._s, orphan.key, into)

    def get_many(self, keys: Sequence[int]) -> list[Paper]:
        return [self._s.papers[k] for k in keys if k in self._s.papers]

    def get(self, key: int) -> Paper | None:
        for _ in range(8):  # as storage follows merges
            if key in self._s.papers:
                return self._s.papers[key]
            if key not in self._s.survivors:
                return None
            key = self._s.survivors[key]
        return None

    def with_title_keys(self, title_keys: Collection[str]) -> list[Paper]:
        wanted = set(title_keys)
        return [p for _, p in sorted(self._s.papers.items()) if title_key(p.title) in wanted]

    def find_by_paper_id(self, paper_id: str) -> Paper | None:
        return next((p for p in self._s.papers.values() if p.paper_id == paper_id), None)

    def count(self) -> int:
        return len(self._s.papers)

    def keys(self) -> set[int]:
        return set(self._s.papers)

    def iter_all(self, batch_size: int = 5000) -> Iterator[Paper]:
        return iter([self._s.papers[k] for k in sorted(self._s.papers)])

    def published_since(self, since: date) -> list[Paper]:
        since_dt = datetime.combine(since, time.min).astimezone()
        return [
            p
            for p in self._s.papers.values()
            if (p.published is not None and p.published >= since)
            or (p.published is None and p.first_seen is not None and p.first_seen >= since_dt)
        ]

    def last_change(self) -> int:
        return self._s.change

    def database_id(self) -> str:
        return f"fake-{id(self._s):x}"

    def changed_between(self, after: int, upto: int, batch_size: int = 5000) -> Iterator[Paper]:
        return iter(
            [
                self._s.papers[k]
                for k in sorted(self._s.papers)
                if after < self._s.changes[k] <= upto
            ]
        )

    def removed_between(self, after: int, upto: int) -> list[int]:
        return [
            k
            for k, c in self._s.tombstones.items()
            if after < c <= upto and k not in self._s.papers
        ]

    def upvote_history(self, keys: Sequence[int]) -> dict[int, list[tuple[datetime, int]]]:
        return {k: sorted(self._s.upvotes[k]) for k in keys if self._s.upvotes.get(k)}


def _as_record(paper: Paper) -> PaperRecord:
    return PaperRecord(
        title=paper.title,
        source=paper.sources[0] if paper.sources else "",
        abstract=paper.abstract,
        authors=paper.authors,
        author_count=paper.author_count,
        published=paper.published,
        upvotes=paper.upvotes,
        comments=paper.comments,
        github_repo=paper.github_repo,
        project_page=paper.project_page,
        organization=paper.organization,
        keywords=paper.keywords,
        ai_summary=paper.ai_summary,
        categories=paper.categories,
    )
