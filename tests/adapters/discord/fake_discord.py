"""A loopback fake of the Discord REST API (and, optionally, the gateway) for adapter tests.

discord.py's real HTTP code talks to it once `discord.http.Route.BASE` points here. It
answers what the bot needs (`/users/@me`, `/oauth2/applications/@me`, interaction
callbacks, follow-up webhooks, channel messages, command registration, `/gateway/bot`),
records every request, and can be told to fail the next matching requests (429 with a
`Via` header and `retry_after`, 403, 404, 5xx) so retries and error mapping are exercised.

JSON bodies go out with exactly `Content-Type: application/json`: discord.py's
`json_or_text` treats anything else, even `application/json; charset=utf-8`, as text.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

APP_ID = "900000000000000001"
BOT_USER = {
    "id": APP_ID,
    "username": "papers-bot",
    "discriminator": "0",
    "global_name": "papers-bot",
    "avatar": None,
    "bot": True,
    "flags": 0,
}
OWNER = {"id": "600000000000000009", "username": "owner", "discriminator": "0", "avatar": None}
# Not a timing assertion: only keeps a broken test from hanging the whole run.
HANG_GUARD_SECONDS = 30.0
TIMESTAMP = "2025-11-07T09:00:00.000000+00:00"


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(data).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def parse_multipart(content_type: str, raw: bytes) -> tuple[Any, list[tuple[str, bytes]]]:
    """A discord.py multipart body: `payload_json` (the JSON body) and the `files[n]` parts."""
    message = email.message_from_bytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw, policy=email.policy.HTTP
    )
    body: Any = None
    files: list[tuple[str, bytes]] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        if name == "payload_json":
            body = json.loads(data)
        elif part.get_filename():
            files.append((str(part.get_filename()), bytes(data)))
    return body, files


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    status: int = 0
    # Files of a multipart request (discord.File): (filename, bytes), in order.
    files: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def json(self) -> dict[str, Any]:
        assert isinstance(self.body, dict), self.body
        return self.body


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    body: Any
    headers: dict[str, str]
    times: int


@dataclass
class FakeDiscordAPI:
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    # channel id -> messages, oldest first (for history reads)
    channels: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    base_url: str = ""
    _ids: itertools.count[int] = field(
        default_factory=lambda: itertools.count(1_000_000_000_000_000_001)
    )
    _nonces: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    _changed: asyncio.Condition | None = None
    _runner: web.AppRunner | None = None
    gateway_url: str = "ws://127.0.0.1:9/"

    # -- control -------------------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        self.faults.append(
            Fault(method, re.compile(path_regex), status, body, headers or {}, times)
        )

    def rate_limit_next(self, method: str, path_regex: str, retry_after: float = 0.05) -> None:
        """A real-looking route 429: `Via` header (else discord.py assumes Cloudflare)."""
        self.fail_next(
            method,
            path_regex,
            429,
            {"message": "You are being rate limited.", "retry_after": retry_after, "global": False},
            headers={"Via": "1.1 google", "X-RateLimit-Scope": "user"},
        )

    def find(self, method: str, path_regex: str) -> list[Call]:
        pattern = re.compile(path_regex)
        return [c for c in self.calls if c.method == method and pattern.search(c.path)]

    async def wait_for(self, predicate: Callable[[list[Call]], bool]) -> list[Call]:
        """Wait until the recorded calls satisfy `predicate` (the limit only guards hangs)."""
        assert self._changed is not None

        async def _wait() -> None:
            assert self._changed is not None
            async with self._changed:
                await self._changed.wait_for(lambda: predicate(self.calls))

        await asyncio.wait_for(_wait(), HANG_GUARD_SECONDS)
        return self.calls

    async def wait_for_call(self, method: str, path_regex: str, count: int = 1) -> Call:
        await self.wait_for(lambda _calls: len(self.find(method, path_regex)) >= count)
        return self.find(method, path_regex)[count - 1]

    # -- server --------------------------------------------------------------------------
    async def start(self) -> str:
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_route("*", "/api/v10/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/api/v10"
        return self.base_url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def next_id(self) -> str:
        return str(next(self._ids))

    def message(self, channel_id: str, body: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "id": self.next_id(),
            "channel_id": channel_id,
            "author": BOT_USER,
            "content": body.get("content") or "",
            "timestamp": TIMESTAMP,
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "pinned": False,
            "type": 0,
            "flags": body.get("flags") or 0,
            **extra,
        }

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body: Any = None
        files: list[tuple[str, bytes]] = []
        if request.content_type == "multipart/form-data":
            body, files = parse_multipart(request.headers["Content-Type"], raw)
        elif raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
        path = "/" + request.match_info["tail"]
        call = Call(request.method, path, dict(request.query), body, dict(request.headers))
        call.files = files
        response = self._fault(call) or self._route(call)
        call.status = response.status
        self.calls.append(call)
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()
        return response

    def _fault(self, call: Call) -> web.Response | None:
        for fault in self.faults:
            if fault.times > 0 and fault.method == call.method and fault.path.search(call.path):
                fault.times -= 1
                return json_response(fault.body, fault.status, fault.headers)
        return None

    def _route(self, call: Call) -> web.Response:
        m, p = call.method, call.path
        if m == "GET" and p == "/users/@me":
            return json_response(BOT_USER)
        if m == "GET" and p == "/oauth2/applications/@me":
            return json_response(
                {
                    "id": APP_ID,
                    "name": "papers-bot",
                    "icon": None,
                    "description": "Tracks research papers",
                    "bot_public": True,
                    "bot_require_code_grant": False,
                    "verify_key": "00" * 32,
                    "flags": 0,
                    "owner": OWNER,
                    "team": None,
                    "summary": "",
                    "rpc_origins": [],
                }
            )
        if m == "GET" and p in ("/gateway", "/gateway/bot"):
            return json_response(
                {
                    "url": self.gateway_url,
                    "shards": 1,
                    "session_start_limit": {
                        "total": 1000,
                        "remaining": 999,
                        "reset_after": 0,
                        "max_concurrency": 1,
                    },
                }
            )
        if match := re.fullmatch(r"/interactions/(\d+)/([^/]+)/callback", p):
            return json_response(
                {"interaction": {"id": match[1], "type": 2}},
            )
        if m == "POST" and (match := re.fullmatch(r"/webhooks/(\d+)/([^/]+)", p)):
            return json_response(self.message("0", call.json, webhook_id=match[1]))
        if m in ("PATCH", "GET") and re.fullmatch(r"/webhooks/(\d+)/([^/]+)/messages/\S+", p):
            return json_response(self.message("0", call.body or {}))
        if match := re.fullmatch(r"/channels/(\d+)/messages", p):
            channel = match[1]
            if m == "GET":
                history = list(reversed(self.channels.get(channel, [])))
                return json_response(history[: int(call.query.get("limit", "50"))])
            if m == "POST":
                body = call.json
                nonce = body.get("nonce")
                if nonce and body.get("enforce_nonce"):
                    existing = self._nonces.get((channel, nonce))
                    if existing is not None:
                        return json_response(existing)
                message = self.message(channel, body)
                self.channels.setdefault(channel, []).append(message)
                if nonce and body.get("enforce_nonce"):
                    self._nonces[(channel, nonce)] = message
                return json_response(message)
        if m == "PUT" and re.fullmatch(r"/applications/\d+(/guilds/\d+)?/commands", p):
            guild = re.search(r"/guilds/(\d+)/", p)
            registered = [
                {
                    **command,
                    "id": self.next_id(),
                    "application_id": APP_ID,
                    "version": self.next_id(),
                    "default_member_permissions": command.get("default_member_permissions"),
                    # Discord answers context-menu commands with an empty description.
                    "description": command.get("description", ""),
                    **({"guild_id": guild[1]} if guild else {}),
                }
                for command in call.body or []
            ]
            return json_response(registered)
        return json_response({"message": "404: Not Found", "code": 0}, 404)


class FakeGateway:
    """A loopback Discord gateway speaking plain-text JSON frames (no zlib needed).

    On connect it sends HELLO; it answers IDENTIFY with READY (one unavailable guild) and
    then GUILD_CREATE for it, acks heartbeats, and dispatches INTERACTION_CREATE events
    when a test calls `dispatch`.
    """

    def __init__(self, guild_id: str, channel_id: str, heartbeat_ms: int = 500) -> None:
        self.guild_id = guild_id
        self.channel_id = channel_id
        self.heartbeat_ms = heartbeat_ms
        self.url = ""
        self.identify: dict[str, Any] | None = None
        self.heartbeats = 0
        self.ready = asyncio.Event()
        self.heartbeat_acked = asyncio.Event()
        self._seq = 0
        self._sockets: list[web.WebSocketResponse] = []
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"ws://127.0.0.1:{port}/"
        return self.url

    async def close(self) -> None:
        for ws in self._sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _send(self, ws: web.WebSocketResponse, op: int, d: Any, t: str | None = None) -> None:
        frame: dict[str, Any] = {"op": op, "d": d, "s": None, "t": t}
        if op == 0:
            self._seq += 1
            frame["s"] = self._seq
        await ws.send_str(json.dumps(frame))

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        await self.ready.wait()
        await self._send(self._sockets[-1], 0, data, event)

    def guild_payload(self) -> dict[str, Any]:
        return {
            "id": self.guild_id,
            "name": "Papers Lab",
            "icon": None,
            "owner_id": OWNER["id"],
            "features": [],
            "roles": [
                {
                    "id": self.guild_id,
                    "name": "@everyone",
                    "permissions": str(1024 | 2048),
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                }
            ],
            "emojis": [],
            "stickers": [],
            "channels": [
                {
                    "id": self.channel_id,
                    "type": 0,
                    "guild_id": self.guild_id,
                    "name": "papers",
                    "position": 0,
                    "permission_overwrites": [],
                    "nsfw": False,
                    "parent_id": None,
                }
            ],
            "threads": [],
            "members": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "member_count": 2,
            "large": False,
            "unavailable": False,
            "joined_at": TIMESTAMP,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "system_channel_flags": 0,
        }

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await self._send(ws, 10, {"heartbeat_interval": self.heartbeat_ms})
        async for msg in ws:
            if msg.type != web.WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            if frame["op"] == 1:
                self.heartbeats += 1
                await self._send(ws, 11, None)
                self.heartbeat_acked.set()
            elif frame["op"] == 2:
                self.identify = frame["d"]
                await self._send(
                    ws,
                    0,
                    {
                        "v": 10,
                        "user": BOT_USER,
                        "guilds": [{"id": self.guild_id, "unavailable": True}],
                        "session_id": "fake-session",
                        "resume_gateway_url": self.url,
                        "application": {"id": APP_ID, "flags": 0},
                        "shard": [0, 1],
                    },
                    "READY",
                )
                await self._send(ws, 0, self.guild_payload(), "GUILD_CREATE")
                self.ready.set()
        return ws
