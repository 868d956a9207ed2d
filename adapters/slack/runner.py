"""`serve_slack`: run the Slack app until cancelled, over Socket Mode or HTTP.

Socket Mode when SLACK_APP_TOKEN is set. Otherwise an aiohttp server on `port` with
`POST /slack/events` (commands, actions, events), `GET /healthz`, and in OAuth mode
`GET /slack/install` and `GET /slack/oauth_redirect`. The HTTP endpoint translates the
aiohttp request with bolt's own adapter functions (DESIGN.md §1: to_bolt_request,
dispatch, to_response).
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from adapters.ops.http import start_site
from adapters.slack.app import SlackBot, build_slack_app
from adapters.slack.config import SlackSettings
from adapters.slack.raw_guard import RawGuard
from bot.commands.core import CommandCore
from bot.ports import KeyValueStore

log = logging.getLogger(__name__)

# Slack never sends more than a few KB; a cap keeps garbage from being buffered.
MAX_BODY = 1024 * 1024


def build_web_app(bot: SlackBot) -> web.Application:
    app: AsyncApp = bot.app

    secret = bot.settings.slack_signing_secret
    guard = RawGuard(secret.get_secret_value()) if secret is not None else None

    async def events(request: web.Request) -> web.StreamResponse:
        if guard is not None:
            # Before to_bolt_request: building the bolt request parses the body.
            verdict = guard.check(
                request.remote or "unknown", await request.read(), request.headers
            )
            if verdict is not None:
                return web.json_response({"error": "invalid request"}, status=verdict[0])
        bolt_request = await to_bolt_request(request)
        bolt_response = await app.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    async def oauth(request: web.Request) -> web.StreamResponse:
        flow = app.oauth_flow
        if flow is None:
            raise web.HTTPNotFound()
        bolt_request = await to_bolt_request(request)
        if request.path == flow.install_path:
            bolt_response = await flow.handle_installation(bolt_request)
        else:
            bolt_response = await flow.handle_callback(bolt_request)
        return await to_aiohttp_response(bolt_response)

    async def healthz(request: web.Request) -> web.StreamResponse:
        return web.json_response({"ok": True, "platform": "slack"})

    web_app = web.Application(client_max_size=MAX_BODY)
    web_app.router.add_post("/slack/events", events)
    web_app.router.add_get("/healthz", healthz)
    if app.oauth_flow is not None:
        web_app.router.add_get(app.oauth_flow.install_path, oauth)
        web_app.router.add_get(app.oauth_flow.redirect_uri_path, oauth)
    return web_app


async def serve_slack(
    commands: CommandCore, settings: SlackSettings, *, kv: KeyValueStore | None = None, port: int
) -> None:
    """Run until cancelled. Socket Mode if SLACK_APP_TOKEN is set, else HTTP on `port`."""
    app_token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else None
    bot = build_slack_app(commands, settings, kv=kv, socket_mode=app_token is not None)
    if app_token:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        # The Socket Mode client opens its aiohttp session when it is built, and
        # `connect_async` retries until it gets through: a stop while it is still
        # connecting (Slack unreachable, a slow handshake) must close that session too,
        # or asyncio reports "Unclosed client session" as the process exits.
        handler = AsyncSocketModeHandler(bot.app, app_token)
        try:
            log.info("Slack: connecting in Socket Mode")
            await handler.connect_async()  # type: ignore[no-untyped-call]
            await asyncio.Event().wait()
        finally:
            await handler.close_async()  # type: ignore[no-untyped-call]
        return
    runner = web.AppRunner(build_web_app(bot), access_log=None)
    await runner.setup()
    await start_site(
        runner, settings.http_host, port, "Slack HTTP server", "PORT or `serve --port`"
    )
    mode = "multi-workspace (OAuth)" if bot.installation_store else "single workspace"
    log.info("Slack: serving HTTP on %s:%d, %s", settings.http_host, port, mode)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
