"""Both live fetchers report how many papers have arrived after every page, which the CLI
draws as a progress counter (issue 15, item 12)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from bot.ingest.fetch_arxiv import fetch_arxiv
from bot.ingest.fetch_hf import fetch_daily_papers
from tests.bot.ingest.loopback import Reply, Request, atom_entries, atom_feed, json_reply, serve


def test_hf_reports_items_per_page(fixtures_dir: Path) -> None:
    items = json.loads((fixtures_dir / "hf_daily_papers_2024-10-25.json").read_bytes())

    def script(request: Request) -> Reply:
        p, limit = int(request.query.get("p", 0)), int(request.query["limit"])
        return json_reply(json.dumps(items[p * limit : (p + 1) * limit]).encode())

    seen: list[int] = []
    with serve(script) as server, httpx.Client() as client:
        fetch_daily_papers(client, server.url, date="2024-10-25", limit=10, on_progress=seen.append)
    assert seen == [10, 20, 29]


def test_arxiv_reports_papers_per_page(fixtures_dir: Path) -> None:
    text = (fixtures_dir / "arxiv_query_sample.xml").read_text(encoding="utf-8")
    entries = atom_entries(text)

    def script(request: Request) -> Reply:
        start, size = int(request.query["start"]), int(request.query["max_results"])
        body = atom_feed(text, entries[start : start + size], total=len(entries))
        return Reply(200, body, {"Content-Type": "application/atom+xml"})

    seen: list[int] = []
    with serve(script) as server, httpx.Client() as client:
        fetch_arxiv(
            client,
            server.url,
            category="cs.LG",
            max_results=10,
            page_size=4,
            interval=0,
            on_progress=seen.append,
        )
    assert seen == [4, 8, 10]
