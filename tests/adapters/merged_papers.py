"""Shared by the Slack and Discord tests of buttons drawn before a merge: a title-only paper
from the page captures folded into the paper that brings its arXiv id."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.models import PaperRecord
from runtime.core import Core

ARXIV_ID = "2511.00042"


def merge_title_only(core: Core, old_key: int, title: str) -> int:
    """The title-only paper `old_key` (titled `title`) meets its arXiv record under another
    title, then a record with both folds it in. Returns the surviving key."""
    now = datetime.now(UTC)
    with core.db.uow() as uow:
        (seeded,) = uow.papers.get_many([old_key])
        assert seeded.title == title and seeded.paper_id is None
        record = PaperRecord(title="Speech separation: a survey", source="arxiv", paper_id=ARXIV_ID)
        uow.papers.upsert_many([record], seen_at=now)
    with core.db.uow() as uow:
        both = PaperRecord(title=title, source="hf_json", paper_id=ARXIV_ID)
        assert uow.papers.upsert_many([both], seen_at=now).merged == 1
        survivor = uow.papers.find_by_paper_id(ARXIV_ID)
        assert survivor is not None and uow.papers.get_many([old_key]) == []
        return survivor.key
