"""The live fetchers the serving clock runs: Hugging Face daily papers and arXiv listings.

Each fetches over httpx and stores in one call; they are blocking, so the clock runs them
in a worker thread. Which URLs and categories to follow comes from the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import httpx

from bot.ingest.errors import IngestError
from bot.ingest.fetch_arxiv import fetch_arxiv
from bot.ingest.fetch_hf import fetch_daily_papers
from bot.ingest.hf_json import parse_hf_items
from bot.ingest.service import store
from bot.ports import UnitOfWorkFactory

log = logging.getLogger(__name__)

ARXIV_MAX_PER_CATEGORY = 200


def _utc_now() -> datetime:
    return datetime.now(UTC)


def ingest_hf(
    uow: UnitOfWorkFactory, api_url: str, *, clock: Callable[[], datetime] = _utc_now
) -> int:
    """Fetch the latest HF daily papers and store them. Returns how many records came."""
    with httpx.Client(timeout=30, follow_redirects=True) as client:
        items = fetch_daily_papers(client, api_url)
    records = parse_hf_items(items)
    store(uow, records, now=clock(), source="hf")
    return len(records)


def ingest_arxiv(
    uow: UnitOfWorkFactory,
    api_url: str,
    categories: Sequence[str],
    *,
    clock: Callable[[], datetime] = _utc_now,
) -> int:
    """Fetch the newest papers of each arXiv category and store them."""
    total = 0
    with httpx.Client(timeout=60, follow_redirects=True) as client:
        for category in categories:
            try:
                records = fetch_arxiv(
                    client, api_url, category=category, max_results=ARXIV_MAX_PER_CATEGORY
                )
            except IngestError as exc:
                # One failing category should not cost the others their update.
                log.warning("arXiv ingest of %s failed: %s", category, exc)
                continue
            store(uow, records, now=clock(), source="arxiv")
            total += len(records)
    return total
