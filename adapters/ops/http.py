"""`/healthz`, `/readyz` and `/metrics` as aiohttp routes, mounted or served standalone.

- `build_ops_app(readiness)`: a fresh `web.Application` with the three routes.
- `add_ops_routes(app, readiness)`: mount them on an existing app (the Slack HTTP
  server does this, so one port serves `/slack/events` and the probes).
- `serve_ops(host, port, readiness)`: run them on their own port until cancelled
  (Discord and console modes, which have no HTTP server of their own).

`readiness` is a coroutine function such as `bot.health.readiness_checks(core, scheduler)`
returning `{"status": "ok"|…, "checks": {name: {"ok": bool, "detail": str}}}`.
"""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.metrics import render_latest

log = logging.getLogger(__name__)

Readiness = Callable[[], Awaitable[dict[str, Any]]]
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"
OPS_PATHS = (HEALTH_PATH, READY_PATH, METRICS_PATH)


async def _healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def _readyz_handler(readiness: Readiness) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def readyz(_request: web.Request) -> web.Response:
        try:
            report = await readiness()
        except Exception as exc:  # a broken check means "not ready", not a 500
            log.warning("readiness check raised: %s", exc, exc_info=True)
            report = {
                "status": "unavailable",
                "checks": {"readiness": {"ok": False, "detail": type(exc).__name__}},
            }
        checks = report.get("checks", {})
        ok = report.get("status") == "ok" and all(c.get("ok") for c in checks.values())
        if not ok:
            report["status"] = "unavailable"
            report["failing"] = sorted(name for name, c in checks.items() if not c.get("ok"))
        return web.json_response(report, status=200 if ok else 503)

    return readyz


async def _metrics(_request: web.Request) -> web.Response:
    body, content_type = render_latest()
    # aiohttp refuses a content_type that carries parameters, so set the header whole.
    return web.Response(body=body, headers={"Content-Type": content_type})


def _registered(app: web.Application, path: str) -> bool:
    for resource in app.router.resources():
        info = resource.get_info()
        if info.get("path") == path:
            return True
    return False


def add_ops_routes(app: web.Application, readiness: Readiness) -> web.Application:
    """Mount the ops routes on `app`; a path the app already serves is left as it is."""
    handlers = {
        HEALTH_PATH: _healthz,
        READY_PATH: _readyz_handler(readiness),
        METRICS_PATH: _metrics,
    }
    for path, handler in handlers.items():
        if _registered(app, path):
            # The host app (e.g. the Slack server's own /healthz) wins; adding a second
            # GET route for the same path would make aiohttp raise.
            log.debug("ops route %s already served by the host app", path)
            continue
        app.router.add_get(path, handler)
    return app


def build_ops_app(readiness: Readiness) -> web.Application:
    return add_ops_routes(web.Application(), readiness)


class AddressInUse(Exception):
    """The address an HTTP server should listen on is taken; the message says what to change."""


def address_in_use(host: str, port: int, what: str, setting: str) -> AddressInUse:
    return AddressInUse(
        f"{host}:{port} is already in use ({what}); "
        f"set {setting} to a free port, or stop the other process"
    )


async def start_site(runner: web.AppRunner, host: str, port: int, what: str, setting: str) -> None:
    """`TCPSite.start()`, with a busy port reported as one `AddressInUse` line."""
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        await runner.cleanup()
        raise address_in_use(host, port, what, setting) from None


async def start_ops_server(host: str, port: int, readiness: Readiness) -> web.AppRunner:
    """Start serving and return the runner; `await runner.cleanup()` stops it.

    With `port=0` the OS picks a free port; read it from `bound_port(runner)`. A busy
    port raises `AddressInUse`.
    """
    runner = web.AppRunner(build_ops_app(readiness), access_log=None)
    await runner.setup()
    await start_site(
        runner,
        host,
        port,
        "ops endpoints /healthz, /readyz, /metrics",
        "PAPERS_METRICS_PORT (0 turns them off)",
    )
    log.info("ops endpoints on http://%s:%d (healthz, readyz, metrics)", host, bound_port(runner))
    return runner


def bound_port(runner: web.AppRunner) -> int:
    address = runner.addresses[0]
    return int(address[1])


async def serve_ops(host: str, port: int, readiness: Readiness) -> None:
    """Serve the ops endpoints until the task is cancelled (run it beside the bot)."""
    runner = await start_ops_server(host, port, readiness)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
