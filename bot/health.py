"""Readiness checks behind `/readyz`: the database answers, the digest clock runs, the
search index has caught up with the database and is warmed up (the query encoder built),
and the process is not shutting down.

`readiness_checks(database, scheduler)` returns a coroutine function that the ops HTTP
server awaits on every probe. It reports each check separately, so a 503 says which
dependency failed. Liveness (`/healthz`) needs no checks: if the event loop can answer,
the process is alive, and restarting it would not fix a database outage. From SIGTERM
until it exits, a draining process answers 503, so a load balancer stops sending it work
while it finishes or hands back what it has.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

Readiness = Callable[[], Awaitable[dict[str, Any]]]
DB_TIMEOUT_SECONDS = 5.0


@runtime_checkable
class DatabaseProbe(Protocol):
    """What readiness needs of the database: a blocking round trip (`storage.db.Database`)."""

    @property
    def dialect(self) -> str: ...

    def ping(self) -> None:
        """Run a trivial query; raise if the database does not answer."""
        ...


class HasDatabase(Protocol):
    @property
    def db(self) -> DatabaseProbe: ...


class SchedulerLike(Protocol):
    """What readiness needs of APScheduler's `AsyncIOScheduler` (or any clock)."""

    @property
    def running(self) -> bool: ...


def _describe(exc: BaseException) -> str:
    # Only the exception type and the first line: enough to act on, and SQLAlchemy's
    # later lines repeat the statement and a documentation link.
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    first = lines[0] if lines else ""
    return f"{type(cause).__name__}: {first}"[:300]


async def check_database(
    db: DatabaseProbe, *, limit_s: float = DB_TIMEOUT_SECONDS
) -> dict[str, Any]:
    try:
        await asyncio.wait_for(asyncio.to_thread(db.ping), limit_s)
    except TimeoutError:
        return {"ok": False, "detail": f"no answer to SELECT 1 within {limit_s:g}s"}
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", reported as such
        return {"ok": False, "detail": _describe(exc)}
    return {"ok": True, "detail": f"{db.dialect} answers SELECT 1"}


def check_scheduler(scheduler: SchedulerLike | None) -> dict[str, Any]:
    if scheduler is None:
        # Deployments that deliver digests from a CronJob run without an in-process clock.
        return {"ok": True, "detail": "no in-process scheduler configured"}
    if scheduler.running:
        return {"ok": True, "detail": "running"}
    return {"ok": False, "detail": "scheduler is not running"}


def check_draining(draining: Callable[[], bool] | None) -> dict[str, Any]:
    if draining is not None and draining():
        return {"ok": False, "detail": "shutting down: finishing or handing back work"}
    return {"ok": True, "detail": "serving"}


def _flag(flag: Callable[[], bool] | None, *, absent: str, yes: str, no: str) -> dict[str, Any]:
    if flag is None:
        return {"ok": True, "detail": absent}
    if flag():
        return {"ok": True, "detail": yes}
    return {"ok": False, "detail": no}


def check_index(index_ready: Callable[[], bool] | None) -> dict[str, Any]:
    return _flag(
        index_ready,
        absent="no search index in this process",
        yes="caught up with the database",
        no="catching up with the database",
    )


def check_warm_up(warmed: Callable[[], bool] | None) -> dict[str, Any]:
    return _flag(
        warmed,
        absent="no search warm-up in this process",
        yes="warmed up",
        no="warming up the search (query encoder, vector index)",
    )


def readiness_checks(
    core: HasDatabase | DatabaseProbe,
    scheduler: SchedulerLike | None,
    *,
    db_timeout: float = DB_TIMEOUT_SECONDS,
    draining: Callable[[], bool] | None = None,
    index_ready: Callable[[], bool] | None = None,
    search_warm: Callable[[], bool] | None = None,
) -> Readiness:
    """A coroutine function answering `{"status": "ok"|"unavailable", "checks": {...}}`.

    `draining` says whether the process has begun to shut down (None: it never does);
    `index_ready` whether the search index has caught up (None: no index in this process);
    `search_warm` whether its first search has been run (None: no warm-up).
    """
    db = core if isinstance(core, DatabaseProbe) else core.db

    async def readiness() -> dict[str, Any]:
        checks = {
            "database": await check_database(db, limit_s=db_timeout),
            "scheduler": check_scheduler(scheduler),
            "search_index": check_index(index_ready),
            "search_warm_up": check_warm_up(search_warm),
            "shutdown": check_draining(draining),
        }
        ok = all(check["ok"] for check in checks.values())
        return {"status": "ok" if ok else "unavailable", "checks": checks}

    return readiness
