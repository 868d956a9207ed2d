"""The live fetchers the serving clock runs: Hugging Face daily papers and arXiv listings.

Each fetches over httpx and stores in one call; they are blocking, so the clock runs them
in a worker thread. Which URLs and categories to follow comes from the caller.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import httpx

from bot.ingest.errors import IngestError
from bot.ingest.fetch_arxiv import POLITE_INTERVAL, fetch_arxiv, fetch_arxiv_ids
from bot.ingest.fetch_hf import fetch_daily_papers
from bot.ingest.hf_json import parse_hf_items
from bot.ingest.http_retry import RetryPolicy, Throttle
from bot.ingest.service import resume_runs, store
from bot.models import Paper
from bot.ports import UnitOfWorkFactory

log = logging.getLogger(__name__)

ARXIV_MAX_PER_CATEGORY = 200


def _utc_now() -> datetime:
    return datetime.now(UTC)


def ingest_hf(
    uow: UnitOfWorkFactory, api_url: str, *, clock: Callable[[], datetime] = _utc_now
) -> int:
    """Fetch the latest HF daily papers and store them. Returns how many records came.

    First finishes any file a crashed ingest sealed but did not apply (roll forward).
    """
    resume_runs(uow, on_result=lambda result: log.info("%s", result.summary()))
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


class ArxivPaperFetcher:
    """Fetches one paper that a pasted link names but the database lacks, and stores it.

    Used by link memory and `save`/`cite` (a `bot.commands.reading.PaperFetcher`). Calls
    share one throttle, so a burst of links still asks arXiv at most once per 3 s; a
    failure is logged and answered with None (the link just gets no card).
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        api_url: str,
        *,
        clock: Callable[[], datetime] = _utc_now,
        interval: float = POLITE_INTERVAL,
        timeout: float = 10.0,
    ) -> None:
        self.uow = uow
        self.api_url = api_url
        self.clock = clock
        self.timeout = timeout
        self._throttle = Throttle(interval)
        self._lock = threading.Lock()

    def __call__(self, arxiv_id: str) -> Paper | None:
        try:
            with self._lock, httpx.Client(timeout=self.timeout, follow_redirects=True) as client:
                records = fetch_arxiv_ids(
                    client,
                    self.api_url,
                    [arxiv_id],
                    policy=RetryPolicy(retries=1, max_wait=5.0),
                    before_request=self._throttle.wait,
                )
        except IngestError as exc:
            log.warning("arXiv lookup of %s failed: %s", arxiv_id, exc)
            return None
        if not any(r.paper_id == arxiv_id for r in records):
            return None
        store(self.uow, records, now=self.clock(), source="arxiv")
        with self.uow() as uow:
            return uow.papers.find_by_paper_id(arxiv_id)
