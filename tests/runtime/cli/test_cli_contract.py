"""The CLI contract of DESIGN.md §2: JSON shapes, exit codes and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.runtime.cli.helpers import run_cli

ITEM_KEYS = {"id", "title", "authors", "published", "upvotes", "url", "score"}


@pytest.fixture(scope="module")
def seeded_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'papers.db'}"
    result = run_cli("ingest", "seeds", "--as-of", "2026-11-22", database_url=url)
    assert result.returncode == 0, result.stderr
    return url


def test_stats_json_shape(seeded_url: str) -> None:
    result = run_cli("stats", "--json", database_url=seeded_url)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"papers", "subscriptions", "deliveries"} <= data.keys()
    assert data["papers"] == 195


def test_search_json_shape_and_ranking(seeded_url: str) -> None:
    result = run_cli(
        "search", "cocktail party problem", "--limit", "3", "--json", database_url=seeded_url
    )
    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)
    assert isinstance(items, list) and 1 <= len(items) <= 3
    for item in items:
        assert item.keys() >= ITEM_KEYS
        assert isinstance(item["authors"], list)
        assert isinstance(item["score"], int | float)
        assert item["upvotes"] is None or isinstance(item["upvotes"], int)
    assert items[0]["title"].startswith("Advances in Speech Separation")
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True)


def test_a_search_without_results_says_so_in_one_line(seeded_url: str) -> None:
    result = run_cli("search", "zzqxv wqpzk", database_url=seeded_url)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "No papers match “zzqxv wqpzk”."
    assert result.stdout.strip() == ""  # no empty table
    as_json = run_cli("search", "zzqxv wqpzk", "--json", database_url=seeded_url)
    assert json.loads(as_json.stdout) == []


def test_a_search_of_an_empty_database_says_how_to_add_papers(tmp_path: Path) -> None:
    result = run_cli("search", "diffusion", database_url=f"sqlite:///{tmp_path / 'e.db'}")
    assert result.returncode == 0, result.stderr
    assert "No papers match “diffusion”." in result.stderr
    assert "papers-bot ingest seeds" in result.stderr


def test_a_search_with_an_impossible_date_is_refused_with_one_line(seeded_url: str) -> None:
    result = run_cli("search", "speech since:2024-13-01", database_url=seeded_url)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: since:2024-13-01 is not a valid date; use YYYY-MM-DD, YYYY-MM or YYYY, "
        "e.g. since:2025-01-31"
    ]


def test_trending_json_shape(seeded_url: str) -> None:
    result = run_cli("trending", "--limit", "4", "--json", database_url=seeded_url)
    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)
    assert len(items) == 4
    for item in items:
        assert item.keys() >= ITEM_KEYS
        assert item["published"] is None or len(item["published"]) == 10


def test_usage_errors_exit_2(seeded_url: str) -> None:
    assert run_cli("search", database_url=seeded_url).returncode == 2
    assert run_cli("trending", "--limit", "zero", database_url=seeded_url).returncode == 2
    assert run_cli("no-such-command", database_url=seeded_url).returncode == 2


def test_runtime_errors_exit_1_with_one_line(tmp_path: Path) -> None:
    bad = run_cli("stats", "--json", database_url="mysql://nowhere/db")
    assert bad.returncode == 1
    assert len(bad.stderr.strip().splitlines()) == 1 and "DATABASE_URL" in bad.stderr
    missing_dir = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}"
    result = run_cli("stats", "--json", database_url=missing_dir)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1


def test_db_upgrade_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert run_cli("db", "upgrade", database_url=url).returncode == 0
    assert run_cli("db", "upgrade", database_url=url).returncode == 0
    assert json.loads(run_cli("stats", "--json", database_url=url).stdout)["papers"] == 0


def test_trending_days_window_limit_and_json(tmp_path: Path) -> None:
    """`trending --days N` keeps papers published in the last N days; --limit cuts."""
    from datetime import date, timedelta

    today = date.today()
    ages = {"2501.00001": 0, "2501.00002": 1, "2501.00003": 6, "2501.00004": 40}
    lines = [
        json.dumps(
            {
                "id": pid,
                "title": f"Paper aged {age} days",
                "abstract": "An abstract.",
                "authors": ["A. Author"],
                "published": (today - timedelta(days=age)).isoformat(),
            }
        )
        for pid, age in ages.items()
    ]
    source = tmp_path / "papers.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'papers.db'}"
    assert run_cli("ingest", "file", str(source), database_url=url).returncode == 0

    def ids(*args: str) -> list[str]:
        result = run_cli("trending", *args, "--json", database_url=url)
        assert result.returncode == 0, result.stderr
        items = json.loads(result.stdout)
        assert all(item.keys() >= ITEM_KEYS for item in items)
        return sorted(item["id"] for item in items)

    assert ids("--days", "2") == ["2501.00001", "2501.00002"]
    assert ids("--days", "7") == ["2501.00001", "2501.00002", "2501.00003"]
    assert ids("--days", "60") == sorted(ages)
    assert len(ids("--days", "60", "--limit", "2")) == 2
    assert run_cli("trending", "--days", "0", database_url=url).returncode == 2
