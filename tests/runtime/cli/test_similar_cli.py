"""`papers-bot similar ID [--json]`: the contract's JSON items, never the paper or its versions."""

from __future__ import annotations

import json
from pathlib import Path

from storage.db import Database
from tests.adapters.similar_papers import ACL_ID, ARXIV_ID, NEIGHBOURS, TITLE, records
from tests.runtime.cli.helpers import run_cli


def database(tmp_path: Path) -> str:
    from datetime import UTC, datetime

    url = f"sqlite:///{tmp_path / 'papers.db'}"
    db = Database(url)
    db.upgrade()
    try:
        with db.uow() as uow:
            uow.papers.upsert_many(records(), seen_at=datetime.now(UTC))
    finally:
        db.dispose()
    return url


def test_similar_json(tmp_path: Path) -> None:
    url = database(tmp_path)
    result = run_cli("similar", ARXIV_ID, "--json", "--limit", "3", database_url=url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)
    assert 1 <= len(items) <= 3
    assert items[0]["title"] == NEIGHBOURS[0]
    for item in items:
        assert {"id", "title", "authors", "published", "upvotes", "url", "score"} <= set(item)
        assert item["id"] not in {ARXIV_ID, ACL_ID} and item["title"] != TITLE
    scores = [item["score"] for item in items]
    assert scores == sorted(scores, reverse=True)


def test_similar_errors(tmp_path: Path) -> None:
    url = database(tmp_path)
    unknown = run_cli("similar", "2099.acl-main.1", database_url=url, cwd=tmp_path)
    assert unknown.returncode == 1 and "don't know the paper" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1
    empty = run_cli("similar", " ", database_url=url, cwd=tmp_path)
    assert empty.returncode == 2
