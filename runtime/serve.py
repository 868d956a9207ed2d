"""The serving process: platforms, digest sinks, the runner, the clock and the ops server.

Order matters and is the same for every platform mix: log in to Discord (if served) so
its sink exists, build every sink, then the runner holding this process's worker lease,
then start the clock; only then do the platforms start taking requests.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from aiohttp import web
from rich.console import Console

from bot.alerts.ledger import enqueue_new_papers
from bot.digests.clock import IngestJob, new_worker_id, start_clock
from bot.ingest.live import ingest_arxiv, ingest_hf
from bot.models import Platform
from bot.ports import UnitOfWorkFactory
from bot.settings import Settings
from runtime.alerts import build_alert_runner, search_speller
from runtime.cli.errors import CliError
from runtime.core import Core
from runtime.dense import start_warm_up
from runtime.sinks import build_runner, build_sinks
from storage.leases import WorkerLease

if TYPE_CHECKING:
    from adapters.ops.http import Readiness

log = logging.getLogger(__name__)


def _batching(uow: UnitOfWorkFactory, fetch: Callable[[], int]) -> Callable[[], int]:
    """`fetch`, then one alert batch of the papers it brought (issue 14)."""

    def run() -> int:
        started = datetime.now(UTC)
        count = fetch()
        enqueue_new_papers(uow, since=started, now=datetime.now(UTC))
        return count

    return run


def ingest_jobs(settings: Settings, uow: UnitOfWorkFactory) -> list[IngestJob]:
    """The live fetchers on their configured crontabs, each batching its new papers."""
    categories = [c.strip() for c in settings.ingest_arxiv_categories.split(",") if c.strip()]
    hf = partial(ingest_hf, uow, settings.hf_api_url)
    arxiv = partial(ingest_arxiv, uow, settings.arxiv_api_url, categories)
    return [
        IngestJob("hf", settings.ingest_hf_cron, _batching(uow, hf)),
        IngestJob("arxiv", settings.ingest_arxiv_cron, _batching(uow, arxiv)),
    ]


class StopSignals:
    """SIGTERM and SIGINT, handled on the event loop: the first one starts the shutdown."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.received: signal.Signals | None = None

    def install(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)

    def remove(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        if self.received is None:
            self.received = sig
            log.info("%s received: stopping", sig.name)
        self.event.set()


async def run_targets(core: Core, targets: list[Platform], *, port: int) -> signal.Signals | None:
    """Serve `targets` until a signal, the console's quit, or a server stops (or fails).

    Returns the signal that stopped the process, if one did. Shutdown runs in this order,
    so that nothing is lost or sent twice: the clock takes no new ticks; the digest run in
    progress gets `shutdown_grace_seconds` to finish, and hands back (leaves `pending`)
    what it could not; the worker lease is released, so another replica recovers those
    rows at its next tick; then the platforms close their sessions. The caller disposes
    of the database pool.
    """
    settings = core.settings
    handler = core.commands  # builds the search index before any platform takes requests
    # The first search's one-off costs (query encoder, vector graph, tantivy pages) are
    # paid before /readyz says ready, not by the first user.
    warmed = start_warm_up(lambda: core.search, core.vectors)
    runners: list[Coroutine[Any, Any, None]] = []
    signals = StopSignals()
    signals.install()
    try:
        async with AsyncExitStack() as stack:
            discord_bot = None
            if Platform.DISCORD in targets:
                from adapters.discord.runner import open_discord

                discord_bot = await open_discord(handler, settings, stack, kv=core.kv)
                runners.append(discord_bot.connect(reconnect=True))
            console = None
            if Platform.CONSOLE in targets:
                from adapters.console.repl import ConsoleSession

                console = Console()
                runners.append(ConsoleSession(handler, console).run())
            if Platform.SLACK in targets:
                from adapters.slack.runner import serve_slack

                runners.append(serve_slack(handler, settings, kv=core.kv, port=port))
            sinks = build_sinks(
                settings,
                core.kv,
                console=console,
                slack=Platform.SLACK in targets,
                discord_client=discord_bot,
            )
            lease = WorkerLease(core.db, new_worker_id())
            lease.acquire()
            digests = build_runner(core.db, sinks, lease)
            alerts = build_alert_runner(
                core.db, sinks, lease, speller=search_speller(lambda: core.search)
            )
            scheduler = start_clock(
                digests,
                alerts=alerts,
                ingest_jobs=ingest_jobs(settings, core.db.uow),
                refresh_index=core.refresh_index,
                tick_seconds=settings.digest_tick_seconds,
                index_poll_seconds=settings.index_poll_seconds,
                on_shutdown=lease.release,
            )
            ops_runner = None
            if settings.metrics_port and targets != [Platform.CONSOLE]:
                # /healthz, /readyz and /metrics on their own port in every server mode, so
                # probes look the same for Slack (HTTP or Socket Mode) and Discord.
                from bot.health import readiness_checks

                try:
                    ops_runner = await start_ops(
                        settings.http_host,
                        settings.metrics_port,
                        readiness_checks(
                            core.db,
                            scheduler,
                            draining=signals.event.is_set,
                            index_ready=lambda: core.live_index.caught_up,
                            search_warm=warmed.is_set,
                        ),
                        explicit="metrics_port" in settings.model_fields_set,
                    )
                except BaseException:
                    scheduler.shutdown(wait=False)
                    raise
            tasks = [asyncio.ensure_future(r) for r in runners]
            stop = asyncio.ensure_future(signals.event.wait())
            try:
                # The console returns when its user quits; servers run until cancelled.
                done, _ = await asyncio.wait([*tasks, stop], return_when=asyncio.FIRST_COMPLETED)
                scheduler.pause()
                given_up = await digests.stop(settings.shutdown_grace_seconds)
                await alerts.stop(settings.shutdown_grace_seconds)
                if given_up:
                    log.info("%d digest deliveries handed back for recovery", given_up)
            finally:
                if scheduler.running:
                    scheduler.shutdown(wait=False)  # releases the lease (on_shutdown)
                stop.cancel()
                for task in tasks:
                    task.cancel()
                await asyncio.wait([*tasks, stop])
                if ops_runner is not None:
                    await ops_runner.cleanup()
            for task in tasks:
                if task in done and not task.cancelled():
                    task.result()  # a server that failed says why
    finally:
        signals.remove()
    log.info("stopped")
    return signals.received


async def start_ops(
    host: str, port: int, readiness: Readiness, *, explicit: bool
) -> web.AppRunner | None:
    """Start the ops server; on a busy port, fail if the port was chosen, else warn.

    Two `serve` processes on one host (say Slack and Discord) both want the default port.
    The second then runs without its own /healthz, /readyz and /metrics and says so in one
    warning line, rather than dying. A port set explicitly (as the image, compose, k8s and
    systemd do) is one the probes rely on, so a clash there stops the bot with one line.
    """
    from adapters.ops.http import AddressInUse, start_ops_server

    try:
        return await start_ops_server(host, port, readiness)
    except AddressInUse as exc:
        if explicit:
            raise CliError(str(exc)) from None
        log.warning("%s; running without ops endpoints", exc)
        return None
