"""`ArxivPaperFetcher`: one paper by id from (a loopback of) the arXiv API, stored once."""

from __future__ import annotations

from pathlib import Path

from bot.ingest.live import ArxivPaperFetcher
from bot.testing.fakes import FakeDatabase
from tests.bot.ingest.loopback import Reply, Request, atom_entries, atom_feed, serve

PAPER = "2202.12139"


def test_fetches_stores_and_answers_none_for_unknown_ids(fixtures_dir: Path) -> None:
    fixture = (fixtures_dir / "arxiv_query_sample.xml").read_text("utf-8")
    entry = next(e for e in atom_entries(fixture) if PAPER in e)

    def script(request: Request) -> Reply:
        wanted = request.query.get("id_list", "").split(",")
        return Reply(200, atom_feed(fixture, [entry] if PAPER in wanted else [], total=1))

    db = FakeDatabase()
    with serve(script) as api:
        fetch = ArxivPaperFetcher(db.uow, api.url + "/api/query", interval=0)
        paper = fetch(PAPER)
        assert paper is not None and paper.title.startswith("Testing Deep Learning Models")
        assert fetch("2501.00001") is None
        assert [r.query["id_list"] for r in api.requests] == [PAPER, "2501.00001"]
    with db.uow() as uow:
        assert uow.papers.count() == 1


def test_a_failing_api_gives_no_card(fixtures_dir: Path) -> None:
    db = FakeDatabase()
    with serve(lambda _request: Reply(503, b"busy", {"Retry-After": "0"})) as api:
        fetch = ArxivPaperFetcher(db.uow, api.url + "/api/query", interval=0)
        assert fetch(PAPER) is None
        assert len(api.requests) == 2  # one retry, then it gives up
