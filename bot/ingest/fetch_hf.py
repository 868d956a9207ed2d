"""Live fetcher for Hugging Face daily papers: `GET {base}/daily_papers`.

Selects a day (`date=YYYY-MM-DD`), an ISO week (`week=YYYY-Www`) or a month
(`month=YYYY-MM`); with none, HF answers its latest day. Pages with `p` and `limit`
(HF caps `limit` at 100): a `Link: rel="next"` header is followed when present,
otherwise the next `p` is asked for while pages come back full. When the `RateLimit`
headers say the quota is used up, it sleeps until the reset before the next page.
Returns the raw items; `bot.ingest.hf_json.parse_hf_items` turns them into records.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin

import httpx

from bot.ingest.errors import FetchError
from bot.ingest.http_retry import DEFAULT_POLICY, RetryPolicy, Sleep, get, rate_limit_wait

MAX_LIMIT = 100


def _paper_id(item: object) -> object:
    if isinstance(item, dict):
        paper = item.get("paper", item)
        if isinstance(paper, dict):
            return paper.get("id")
    return None


def fetch_daily_papers(
    client: httpx.Client,
    base_url: str,
    *,
    date: str | None = None,
    week: str | None = None,
    month: str | None = None,
    limit: int = MAX_LIMIT,
    max_pages: int = 50,
    policy: RetryPolicy = DEFAULT_POLICY,
    sleep: Sleep = time.sleep,
    on_progress: Callable[[int], None] | None = None,
) -> list[Any]:
    """Every item of the selected period, in the order HF lists them, without repeats.

    `on_progress(n)` hears the number of items fetched so far after every page.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    periods = {k: v for k, v in (("date", date), ("week", week), ("month", month)) if v}
    if len(periods) > 1:
        raise ValueError("give at most one of date, week and month")
    url: str = base_url.rstrip("/") + "/daily_papers"
    params: dict[str, Any] | None = {**periods, "p": 0, "limit": limit}
    items: list[Any] = []
    seen: set[object] = set()
    pending_wait: float | None = None
    for page in range(max_pages):
        if pending_wait:
            sleep(min(pending_wait, policy.max_wait))
        response = get(
            client, url, params=params, what="Hugging Face API", policy=policy, sleep=sleep
        )
        try:
            data = response.json()
        except ValueError:
            raise FetchError(
                "Hugging Face API answered something that is not JSON", str(response.url)
            ) from None
        if not isinstance(data, list):
            raise FetchError(
                f"Hugging Face API answered a JSON {type(data).__name__}, "
                "expected a list of papers",
                str(response.url),
            )
        fresh = [item for item in data if _paper_id(item) not in seen or _paper_id(item) is None]
        seen.update(_paper_id(item) for item in fresh)
        items.extend(fresh)
        if on_progress is not None:
            on_progress(len(items))
        pending_wait = rate_limit_wait(response.headers)
        next_link = response.links.get("next", {}).get("url")
        if next_link:
            url, params = urljoin(str(response.url), next_link), None
        elif data and fresh and len(data) >= limit and params is not None:
            params = {**params, "p": page + 1}
        else:
            break
    return items
