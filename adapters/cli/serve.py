"""`papers-bot serve slack|discord|console|all`: run the bot with the digest clock.

With no target the bot runs every platform that has tokens, and the console when none has.
Platform packages are imported only when their platform is served.
"""

from __future__ import annotations

import asyncio
import logging
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from aiohttp import web
from rich.console import Console

from adapters.cli.errors import CliError
from bot.app import Core, build_core
from bot.models import Platform
from bot.ports import MessageSink
from bot.settings import Settings

if TYPE_CHECKING:
    from adapters.ops.http import Readiness

log = logging.getLogger(__name__)


class Target(StrEnum):
    AUTO = "auto"
    SLACK = "slack"
    DISCORD = "discord"
    CONSOLE = "console"
    ALL = "all"


def resolve_targets(target: Target, settings: Settings) -> list[Platform]:
    if target is Target.AUTO:
        chosen = [
            p
            for p, on in (
                (Platform.SLACK, settings.slack_enabled),
                (Platform.DISCORD, settings.discord_enabled),
            )
            if on
        ]
        return chosen or [Platform.CONSOLE]
    if target is Target.ALL:
        return [Platform.SLACK, Platform.DISCORD]
    return [Platform(target.value)]


async def run_targets(core: Core, targets: list[Platform], *, port: int) -> None:
    from bot.digests.clock import start_clock

    sinks: dict[Platform, MessageSink] = {}
    runners = []
    if Platform.CONSOLE in targets:
        from adapters.console.repl import ConsoleSession
        from adapters.console.sink import ConsoleSink

        console = Console()
        sinks[Platform.CONSOLE] = ConsoleSink(console)
        runners.append(ConsoleSession(core.commands, console).run())
    if Platform.SLACK in targets:
        from adapters.slack.runner import serve_slack
        from adapters.slack.sink import build_slack_sink

        slack_sink = build_slack_sink(core.settings, core.kv)
        if slack_sink is not None:
            sinks[Platform.SLACK] = slack_sink
        runners.append(serve_slack(core, core.settings, port=port))
    if Platform.DISCORD in targets:
        from adapters.discord.runner import serve_discord

        runners.append(serve_discord(core, core.settings, sinks=sinks))
    scheduler = start_clock(core, sinks)
    ops_runner = None
    if core.settings.metrics_port and targets != [Platform.CONSOLE]:
        # /healthz, /readyz and /metrics on their own port in every server mode, so probes
        # look the same for Slack (HTTP or Socket Mode) and Discord.
        from bot.health import readiness_checks

        try:
            ops_runner = await start_ops(
                core.settings.http_host,
                core.settings.metrics_port,
                readiness_checks(core, scheduler),
                explicit="metrics_port" in core.settings.model_fields_set,
            )
        except BaseException:
            scheduler.shutdown(wait=False)
            raise
    try:
        # The console returns when its user quits; servers run until cancelled.
        done, pending = await asyncio.wait(
            [asyncio.ensure_future(r) for r in runners], return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        for task in done:
            task.result()
    finally:
        scheduler.shutdown(wait=False)
        if ops_runner is not None:
            await ops_runner.cleanup()


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


def serve(
    target: Annotated[Target, typer.Argument(help="Which platform to serve.")] = Target.AUTO,
    port: Annotated[int | None, typer.Option("--port", help="HTTP port (Slack).")] = None,
) -> None:
    """Run the bot: migrate the database, build the search index, start the clock."""
    settings = Settings()
    targets = resolve_targets(target, settings)
    if targets == [Platform.CONSOLE] and "log_level" not in settings.model_fields_set:
        # The console shares the terminal with its user: routine INFO lines from the
        # clock would land in the middle of their replies, so only problems are shown.
        settings = settings.model_copy(update={"log_level": "WARNING"})
    core = build_core(settings, configure_logs=True)
    log.info("serving %s", ", ".join(t.value for t in targets))
    from adapters.ops.http import AddressInUse

    try:
        asyncio.run(run_targets(core, targets, port=port or settings.http_port))
    except AddressInUse as exc:
        raise CliError(str(exc)) from None
    finally:
        core.db.dispose()
