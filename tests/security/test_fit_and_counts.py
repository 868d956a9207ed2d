"""Values PostgreSQL refuses are fitted or rejected alone (finding 4), and ingest counts
add up: records = new + updated + unchanged + rejected + repeated (finding 10).

Each test runs on SQLite and on PostgreSQL (the `db` fixture), which must agree.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

from bot.ingest.fit import MAX_INT, MAX_ORGANIZATION, MAX_PAPER_ID
from bot.ingest.service import ingest_bytes, ingest_file
from storage.db import Database
from storage.tables import PaperRow

AS_OF = date(2025, 11, 7)
NOW = datetime(2025, 11, 7, tzinfo=UTC)


def _item(n: int, **paper: object) -> dict[str, object]:
    return {"paper": {"id": f"2411.{n:05d}", "title": f"Paper {n}", **paper}}


def test_hostile_values_are_fitted_or_rejected_alone(db: Database) -> None:
    items = [
        _item(1),
        {"paper": {"id": "9" * (MAX_PAPER_ID + 1), "title": "Long id"}},
        _item(3, upvotes=2**31),
        _item(4, organization="O" * 1000, githubRepo="https://github.com/" + "a" * 600),
        _item(5, title="T " * 2000),
        _item(6, upvotes=MAX_INT),
    ]
    result = ingest_bytes(db.uow, "page.json", json.dumps(items).encode(), as_of=AS_OF, now=NOW)
    assert result.ok and result.records == 6
    assert len(result.rejected) == 2
    assert "record 2" in result.rejected[0] and "longer than 64" in result.rejected[0]
    assert "record 3" in result.rejected[1] and "upvotes" in result.rejected[1]
    assert result.stats.inserted == 4
    with db.session() as session:
        rows = {r.paper_id: r for r in session.query(PaperRow)}
    assert set(rows) == {"2411.00001", "2411.00004", "2411.00005", "2411.00006"}
    assert len(rows["2411.00004"].organization or "") <= MAX_ORGANIZATION
    assert rows["2411.00004"].github_repo is None
    assert len(rows["2411.00005"].title_key) <= 1024
    assert "2 rejected" in result.summary()


def _counts_add_up(result: object) -> None:
    s = result.stats  # type: ignore[attr-defined]
    total = s.inserted + s.updated + s.unchanged + len(result.rejected) + result.repeated  # type: ignore[attr-defined]
    assert total == result.records  # type: ignore[attr-defined]


def test_distinct_papers_sharing_titles_are_not_counted_unchanged(
    tmp_path: Path, db: Database
) -> None:
    # 6,000 distinct papers over three chunks; every 100th reuses an earlier title.
    lines = [
        json.dumps({"id": f"2411.{n:05d}", "title": f"Paper {n % 100 if n % 100 == 0 else n}"})
        for n in range(6000)
    ]
    path = tmp_path / "distinct.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = ingest_file(db.uow, path, as_of=AS_OF, now=NOW)
    assert (result.records, result.stats.inserted, result.stats.unchanged) == (6000, 6000, 0)
    assert result.repeated == 0
    _counts_add_up(result)


def test_duplicate_lines_are_repeats_not_unchanged(tmp_path: Path, db: Database) -> None:
    path = tmp_path / "dupes.jsonl"
    line = json.dumps({"id": "2411.00001", "title": "Same"}) + "\n"
    path.write_text(line * 10_000)  # five chunks of the same paper
    result = ingest_file(db.uow, path, as_of=AS_OF, now=NOW)
    assert (result.stats.inserted, result.stats.updated, result.stats.unchanged) == (1, 0, 0)
    assert result.repeated == 9_999
    assert "9999 repeated in the file" in result.summary()
    _counts_add_up(result)
    again = ingest_file(db.uow, path, as_of=AS_OF, now=NOW)
    assert (again.stats.inserted, again.stats.unchanged, again.repeated) == (0, 1, 9_999)
    _counts_add_up(again)
