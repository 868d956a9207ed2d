"""Live fetcher for the newest papers of an arXiv category (`export.arxiv.org/api/query`).

Pages through `search_query=cat:X&sortBy=submittedDate&sortOrder=descending` with
`start`/`max_results` until `max_results` papers are in or the feed runs out. arXiv asks
for at most one request every 3 s; the `Throttle` enforces that before every request,
retries included. An error entry in the feed raises `IngestError` with arXiv's message.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from bot.ingest.arxiv_atom import parse_arxiv_page
from bot.ingest.errors import IngestError
from bot.ingest.http_retry import DEFAULT_POLICY, Clock, RetryPolicy, Sleep, Throttle, get
from bot.models import PaperRecord

POLITE_INTERVAL = 3.0
# arXiv's documented maximum for one request is 2000; smaller pages fail less often.
PAGE_SIZE = 100


def fetch_arxiv(
    client: httpx.Client,
    base_url: str,
    *,
    category: str,
    max_results: int,
    page_size: int = PAGE_SIZE,
    interval: float = POLITE_INTERVAL,
    policy: RetryPolicy = DEFAULT_POLICY,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    on_progress: Callable[[int], None] | None = None,
) -> list[PaperRecord]:
    """Up to `max_results` of the newest papers in `category`, newest first, no repeats.

    `on_progress(n)` hears the number of distinct papers fetched so far after every page.
    """
    throttle = Throttle(interval, clock=clock, sleep=sleep)
    records: dict[str | None, PaperRecord] = {}
    start = 0
    while start < max_results:
        params = {
            "search_query": f"cat:{category}",
            "sortBy": "submittedDate",
            "sortOrder": "descending",
            "start": start,
            "max_results": min(page_size, max_results - start),
        }
        response = get(
            client,
            base_url,
            params=params,
            what="arXiv API",
            policy=policy,
            sleep=sleep,
            before_request=throttle.wait,
        )
        try:
            page = parse_arxiv_page(response.content)
        except IngestError as exc:
            raise IngestError(exc.message, f"{response.url} {exc.location or ''}".strip()) from None
        for record in page.records:
            records.setdefault(record.paper_id, record)
        start += page.entries
        if on_progress is not None:
            on_progress(min(len(records), max_results))
        if page.entries == 0 or (page.total_results is not None and start >= page.total_results):
            break
    return list(records.values())[:max_results]


def fetch_arxiv_ids(
    client: httpx.Client,
    base_url: str,
    ids: list[str],
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    sleep: Sleep = time.sleep,
    before_request: Callable[[], None] | None = None,
) -> list[PaperRecord]:
    """The papers with these arXiv ids (`id_list=`), for links to papers not stored yet."""
    if not ids:
        return []
    response = get(
        client,
        base_url,
        params={"id_list": ",".join(ids), "max_results": len(ids)},
        what="arXiv API",
        policy=policy,
        sleep=sleep,
        before_request=before_request,
    )
    try:
        page = parse_arxiv_page(response.content)
    except IngestError as exc:
        raise IngestError(exc.message, f"{response.url} {exc.location or ''}".strip()) from None
    return list(page.records)
