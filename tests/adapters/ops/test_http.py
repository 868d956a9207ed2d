"""The ops endpoints through aiohttp's test client and a real loopback server.

Readiness runs the real checks: `SELECT 1` against a migrated SQLite database, a SQLite
file in a directory that does not exist, and a PostgreSQL port nobody listens on; the
scheduler is a real APScheduler `AsyncIOScheduler`, started and shut down.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from adapters.ops.http import (
    OPS_PATHS,
    add_ops_routes,
    bound_port,
    build_ops_app,
    serve_ops,
    start_ops_server,
)
from bot import metrics
from bot.commands.parser import parse
from bot.health import readiness_checks
from bot.models import Platform, UpsertStats
from storage.db import Database


@pytest.fixture
async def scheduler() -> AsyncIterator[AsyncIOScheduler]:
    sched = AsyncIOScheduler()
    sched.start()
    try:
        yield sched
    finally:
        if sched.running:
            sched.shutdown(wait=False)


async def client_for(app: web.Application) -> TestClient[Any, Any]:
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    return client


async def get_json(app: web.Application, path: str) -> tuple[int, dict[str, Any]]:
    client = await client_for(app)
    try:
        resp = await client.get(path)
        return resp.status, await resp.json()
    finally:
        await client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_healthz_is_always_ok(tmp_path: Path) -> None:
    async def never_ready() -> dict[str, Any]:
        return {"status": "unavailable", "checks": {"database": {"ok": False, "detail": "x"}}}

    status, body = await get_json(build_ops_app(never_ready), "/healthz")
    assert status == 200
    assert body == {"status": "ok"}


async def test_readyz_ok_when_database_answers_and_scheduler_runs(
    sqlite_db: Database, scheduler: AsyncIOScheduler
) -> None:
    status, body = await get_json(build_ops_app(readiness_checks(sqlite_db, scheduler)), "/readyz")
    assert status == 200
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["scheduler"] == {"ok": True, "detail": "running"}


async def test_readyz_503_while_draining_even_with_a_paused_clock(
    sqlite_db: Database, scheduler: AsyncIOScheduler
) -> None:
    # On SIGTERM serve pauses the clock, which still reads as running: the drain flag is
    # what turns the probe away.
    draining = False
    app = build_ops_app(readiness_checks(sqlite_db, scheduler, draining=lambda: draining))
    status, _ = await get_json(app, "/readyz")
    assert status == 200
    draining = True
    scheduler.pause()
    status, body = await get_json(app, "/readyz")
    assert status == 503
    assert body["failing"] == ["shutdown"]
    assert body["checks"]["scheduler"]["ok"] is True


async def test_readyz_503_until_the_search_is_warmed_up(
    sqlite_db: Database, scheduler: AsyncIOScheduler
) -> None:
    warmed = False
    app = build_ops_app(readiness_checks(sqlite_db, scheduler, search_warm=lambda: warmed))
    status, body = await get_json(app, "/readyz")
    assert status == 503
    assert body["failing"] == ["search_warm_up"]
    warmed = True
    status, body = await get_json(app, "/readyz")
    assert status == 200
    assert body["checks"]["search_warm_up"] == {"ok": True, "detail": "warmed up"}


async def test_readyz_accepts_a_core_like_object(
    sqlite_db: Database, scheduler: AsyncIOScheduler
) -> None:
    class CoreLike:
        db = sqlite_db

    status, _ = await get_json(build_ops_app(readiness_checks(CoreLike(), scheduler)), "/readyz")
    assert status == 200


async def test_readyz_503_when_sqlite_directory_is_gone(
    tmp_path: Path, scheduler: AsyncIOScheduler
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'removed' / 'papers.db'}")
    try:
        status, body = await get_json(
            build_ops_app(readiness_checks(database, scheduler)), "/readyz"
        )
    finally:
        database.dispose()
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["failing"] == ["database"]
    assert body["checks"]["database"]["ok"] is False
    assert "OperationalError" in body["checks"]["database"]["detail"]
    assert body["checks"]["scheduler"]["ok"] is True


async def test_readyz_503_when_postgres_is_unreachable(scheduler: AsyncIOScheduler) -> None:
    database = Database(f"postgresql://papers:secret-pw@127.0.0.1:{free_port()}/papers")
    try:
        status, body = await get_json(
            build_ops_app(readiness_checks(database, scheduler)), "/readyz"
        )
    finally:
        database.dispose()
    assert status == 503
    assert body["failing"] == ["database"]
    assert "secret-pw" not in str(body)


async def test_readyz_503_when_scheduler_stopped(
    sqlite_db: Database, scheduler: AsyncIOScheduler
) -> None:
    scheduler.shutdown(wait=False)
    status, body = await get_json(build_ops_app(readiness_checks(sqlite_db, scheduler)), "/readyz")
    assert status == 503
    assert body["failing"] == ["scheduler"]
    assert body["checks"]["database"]["ok"] is True


async def test_readyz_without_scheduler_checks_only_the_database(sqlite_db: Database) -> None:
    status, body = await get_json(build_ops_app(readiness_checks(sqlite_db, None)), "/readyz")
    assert status == 200
    assert body["checks"]["scheduler"]["ok"] is True


async def test_readyz_503_when_the_check_itself_raises() -> None:
    async def broken() -> dict[str, Any]:
        raise RuntimeError("boom")

    status, body = await get_json(build_ops_app(broken), "/readyz")
    assert status == 503
    assert body["failing"] == ["readiness"]


async def test_metrics_exposes_recorded_commands_searches_digests_and_ingests() -> None:
    sample = metrics.REGISTRY.get_sample_value
    labels = {"platform": "discord", "command": "search", "outcome": "ok"}
    before_cmd = sample("papers_commands_total", labels) or 0.0
    before_search = sample("papers_search_seconds_count") or 0.0
    before_empty = sample("papers_digests_total", {"status": "empty"}) or 0.0
    before_ingest = sample("papers_ingested_total", {"source": "arxiv", "result": "inserted"})

    metrics.observe_command(Platform.DISCORD, parse("find llm").label, "ok")
    with metrics.time_search():
        pass
    metrics.count_digest("empty")
    metrics.count_ingested("arxiv", UpsertStats(inserted=7, updated=2))

    async def ready() -> dict[str, Any]:
        return {"status": "ok", "checks": {}}

    client = await client_for(build_ops_app(ready))
    try:
        resp = await client.get("/metrics")
        text = await resp.text()
    finally:
        await client.close()
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain; version=")
    series = 'papers_commands_total{command="search",outcome="ok",platform="discord"}'
    assert f"{series} {before_cmd + 1}" in text
    assert f"papers_search_seconds_count {before_search + 1}" in text
    assert f'papers_digests_total{{status="empty"}} {before_empty + 1}' in text
    assert 'papers_digests_total{status="sent"}' in text
    inserted = (before_ingest or 0.0) + 7
    assert f'papers_ingested_total{{result="inserted",source="arxiv"}} {inserted}' in text
    assert "# TYPE papers_search_seconds histogram" in text


async def test_add_ops_routes_keeps_host_routes_and_its_own_healthz() -> None:
    async def own_health(_request: web.Request) -> web.Response:
        return web.Response(text="slack-healthz")

    async def events(_request: web.Request) -> web.Response:
        return web.Response(text="events")

    async def ready() -> dict[str, Any]:
        return {"status": "ok", "checks": {}}

    app = web.Application()
    app.router.add_get("/healthz", own_health)
    app.router.add_post("/slack/events", events)
    add_ops_routes(app, ready)
    client = await client_for(app)
    try:
        assert await (await client.get("/healthz")).text() == "slack-healthz"
        assert (await client.get("/readyz")).status == 200
        assert (await client.get("/metrics")).status == 200
        assert await (await client.post("/slack/events")).text() == "events"
    finally:
        await client.close()


async def test_real_loopback_server_and_serve_ops_task(sqlite_db: Database) -> None:
    readiness = readiness_checks(sqlite_db, None)
    runner = await start_ops_server("127.0.0.1", 0, readiness)
    try:
        port = bound_port(runner)
        async with aiohttp.ClientSession() as session:
            for path in OPS_PATHS:
                async with session.get(f"http://127.0.0.1:{port}{path}") as resp:
                    assert resp.status == 200, path
    finally:
        await runner.cleanup()

    port = free_port()
    task = asyncio.create_task(serve_ops("127.0.0.1", port, readiness))
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                try:
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                        assert resp.status == 200
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            else:
                pytest.fail("serve_ops never started listening")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
