"""`papers-bot serve slack|discord|console|all`: run the bot with the digest clock.

With no target the bot runs every platform that has tokens, and the console when none has.
Platform packages are imported only when their platform is served, and the serving
machinery (`runtime.serve`: aiohttp, the clock, storage) only once the settings are
complete, so a configuration error costs no more than reading the settings.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from enum import StrEnum
from typing import Annotated

import typer

from bot.models import Platform
from bot.settings import Settings
from runtime.cli.errors import CliError, ConfigurationError
from runtime.core import build_core
from runtime.settings import load_settings

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


def missing_settings(settings: Settings, targets: list[Platform]) -> list[str]:
    """Every setting the chosen platforms still need (none for the console)."""
    missing: list[str] = []
    if Platform.SLACK in targets:
        missing += settings.slack_missing()
    if Platform.DISCORD in targets:
        missing += settings.discord_missing()
    return missing


def serve(
    target: Annotated[Target, typer.Argument(help="Which platform to serve.")] = Target.AUTO,
    port: Annotated[int | None, typer.Option("--port", help="HTTP port (Slack).")] = None,
) -> None:
    """Run the bot: migrate the database, build the search index, start the clock."""
    settings = load_settings()
    targets = resolve_targets(target, settings)
    # Checked before logging, migrations or the search index: a missing token is one line
    # within a second, not a traceback after minutes of index building.
    if missing := missing_settings(settings, targets):
        raise ConfigurationError(f"`serve {target.value}` needs " + ", ".join(missing))
    if targets == [Platform.CONSOLE] and "log_level" not in settings.model_fields_set:
        # The console shares the terminal with its user: routine INFO lines from the
        # clock would land in the middle of their replies, so only problems are shown.
        settings = settings.model_copy(update={"log_level": "WARNING"})
    from adapters.ops.http import AddressInUse
    from runtime.serve import run_targets

    core = build_core(settings, configure_logs=True, catch_up_on_open=False)
    log.info("serving %s", ", ".join(t.value for t in targets))

    try:
        received = asyncio.run(run_targets(core, targets, port=port or settings.http_port))
    except AddressInUse as exc:
        raise CliError(str(exc)) from None
    finally:
        core.close()
    if received is signal.SIGINT:
        # Ctrl-C: stopped cleanly all the same, but exit as an interrupted program does.
        raise KeyboardInterrupt
