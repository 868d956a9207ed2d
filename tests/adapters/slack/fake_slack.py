"""A loopback fake of the Slack Web API and of response_url endpoints, for tests.

Modelled on bolt-python's `tests/mock_web_api_server`: a small aiohttp server that answers
the methods the bot uses, records every call, and can be told to fail (429 with
`Retry-After`, 500, or a Slack error such as `channel_not_found`). The real slack_sdk /
slack_bolt code talks to it over HTTP, so only the network end is fake.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_USER_ID = "UBOTPAPERS"
BOT_ID = "BPAPERS"
TEAM_ID = "T0TEST"


@dataclass
class Call:
    """One request the fake received: Web API method (or `response_url`) and its data."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    path: str = ""

    @property
    def blocks(self) -> list[dict[str, Any]]:
        blocks = self.params.get("blocks") or []
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        return list(blocks)

    def text_dump(self) -> str:
        """Everything the user would see, as one string, for simple content assertions."""
        return json.dumps(self.params, ensure_ascii=False)


@dataclass
class Fault:
    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    times: int = 1
    channel: str | None = None


@dataclass
class FakeSlack:
    calls: list[Call] = field(default_factory=list)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Channels the bot is not allowed to post to: channel id -> Slack error code.
    channel_errors: dict[str, str] = field(default_factory=dict)
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Tokens the fake accepts; None accepts any token starting with xoxb-.
    valid_tokens: set[str] | None = None
    oauth_team_id: str = "T0OAUTH"
    port: int = 0
    _runner: web.AppRunner | None = None
    _changed: asyncio.Condition | None = None
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    # files_upload_v2: bytes received per file id, and the files completed (shared) so far.
    uploads: dict[str, bytes] = field(default_factory=dict)
    # The arXiv API too (GET /arxiv/query?id_list=…), for unfurls of papers not stored yet:
    # `arxiv_entries` maps an arXiv id to its whole Atom `<entry>` element.
    arxiv_entries: dict[str, str] = field(default_factory=dict)
    shared_files: list[dict[str, Any]] = field(default_factory=list)
    # Where apps.connections.open sends Socket Mode clients; None: the fake's own socket.
    socket_url: str | None = None

    # -- lifecycle --------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{rid}", self._response_url)
        app.router.add_get("/socket", self._socket)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/arxiv/query", self._arxiv)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._changed = asyncio.Condition()
        return self

    async def stop(self) -> None:
        for ws in self.sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, rid: str = "1") -> str:
        return f"http://127.0.0.1:{self.port}/response/{rid}"

    # -- configuration ----------------------------------------------------------------

    def fail(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        channel: str | None = None,
    ) -> None:
        """Make the next `times` calls of `method` (optionally to `channel`) fail."""
        self.faults.setdefault(method, []).append(Fault(status, error, retry_after, times, channel))

    # -- queries ----------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, predicate: Callable[[list[Call]], Any], *, wait: float = 30.0) -> Any:
        """Wait until `predicate(calls)` is truthy and return its value."""
        assert self._changed is not None

        async def _wait() -> Any:
            async with self._changed:
                while True:
                    value = predicate(self.calls)
                    if value:
                        return value
                    await self._changed.wait()

        return await asyncio.wait_for(_wait(), wait)

    async def wait_for_calls(
        self, method: str, count: int = 1, *, wait: float = 30.0
    ) -> list[Call]:
        return await self.wait_for(
            lambda calls: (
                (found := [c for c in calls if c.method == method])[count - 1 :] and found
            ),
            wait=wait,
        )

    # -- handlers ---------------------------------------------------------------------

    async def _record(self, call: Call) -> None:
        self.calls.append(call)
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            ctype = request.content_type
            if ctype == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    params.update(body)
            else:
                form = await request.post()
                params.update({k: v for k, v in form.items() if isinstance(v, str)})
        for key in ("blocks", "unfurls", "metadata", "attachments"):
            value = params.get(key)
            if isinstance(value, str):
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(value)
        return params

    def _take_fault(self, method: str, channel: str | None) -> Fault | None:
        for fault in self.faults.get(method, []):
            if fault.times > 0 and (fault.channel is None or fault.channel == channel):
                fault.times -= 1
                return fault
        return None

    def _token_ok(self, headers: dict[str, str], params: dict[str, Any], method: str) -> bool:
        auth = headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() or str(params.get("token", ""))
        if method == "apps.connections.open":
            return token.startswith("xapp-")
        if self.valid_tokens is None:
            return token.startswith("xoxb-")
        return token in self.valid_tokens

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        headers = dict(request.headers)
        await self._record(Call(method, params, headers, request.path))
        channel = params.get("channel")
        fault = self._take_fault(method, channel if isinstance(channel, str) else None)
        if fault is not None:
            if fault.status == 429:
                return web.json_response(
                    {"ok": False, "error": "ratelimited"},
                    status=429,
                    headers={"Retry-After": str(fault.retry_after or 1)},
                )
            if fault.status >= 500:
                return web.Response(status=fault.status, text="upstream trouble")
            return web.json_response({"ok": False, "error": fault.error or "unknown_error"})
        if method == "oauth.v2.access":
            return web.json_response(self._oauth_access())
        if not self._token_ok(headers, params, method):
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if isinstance(channel, str) and channel in self.channel_errors:
            return web.json_response({"ok": False, "error": self.channel_errors[channel]})
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": True})
        return web.json_response(handler(params))

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        await self._record(Call("response_url", body, dict(request.headers), request.path))
        return web.Response(text="ok")

    @property
    def arxiv_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/arxiv/query"

    async def _arxiv(self, request: web.Request) -> web.Response:
        ids = [i for i in request.query.get("id_list", "").split(",") if i]
        await self._record(
            Call("arxiv.query", {"id_list": ids}, dict(request.headers), request.path)
        )
        entries = "".join(self.arxiv_entries[i] for i in ids if i in self.arxiv_entries)
        feed = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">'
            '<opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">'
            f"{entries.count('<entry>')}</opensearch:totalResults>{entries}</feed>\n"
        )
        return web.Response(text=feed, content_type="application/atom+xml")

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload URL files.getUploadURLExternal hands out: the file's raw bytes."""
        file_id = request.match_info["file_id"]
        self.uploads[file_id] = await request.read()
        await self._record(
            Call("upload", {"file_id": file_id}, dict(request.headers), request.path)
        )
        return web.Response(text=f"OK - {len(self.uploads[file_id])}")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Socket Mode: say hello, then record every frame (acks) the app sends back."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {}})
        await self._record(Call("socket_connected", {}, dict(request.headers), request.path))
        async for msg in ws:
            if msg.type.name == "TEXT":
                await self._record(Call("socket_frame", json.loads(msg.data), {}, request.path))
        return ws

    async def socket_send(self, envelope: dict[str, Any]) -> None:
        """Push one Socket Mode envelope to the connected app."""
        await self.sockets[-1].send_json(envelope)

    # -- Web API methods --------------------------------------------------------------

    def _m_auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://test.slack.com/",
            "team": "Test Team",
            "user": "papers",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _m_chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        ts = self._next_ts()
        message = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "text": params.get("text", ""),
            "ts": ts,
        }
        if params.get("metadata"):
            message["metadata"] = params["metadata"]
        self.history.setdefault(str(params.get("channel")), []).insert(0, message)
        return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": message}

    def _m_apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": self.socket_url or f"ws://127.0.0.1:{self.port}/socket"}

    def _m_chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        messages = self.history.get(str(params.get("channel")), [])
        include = str(params.get("include_all_metadata", "")).lower() in {"1", "true"}
        out = []
        for m in messages:
            m = dict(m)
            if not include:
                m.pop("metadata", None)
            out.append(m)
        return {"ok": True, "messages": out, "has_more": False}

    def _m_users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = str(params.get("user"))
        flags = self.users.get(user_id)
        if flags is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": {"id": user_id, "team_id": TEAM_ID, **flags}}

    def _m_files_getUploadURLExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("filename") or not str(params.get("length", "")).isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ts):08d}"
        return {
            "ok": True,
            "upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}",
            "file_id": file_id,
        }

    def _m_files_completeUploadExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        files = params.get("files")
        if isinstance(files, str):
            files = json.loads(files)
        if not files or any(f.get("id") not in self.uploads for f in files):
            return {"ok": False, "error": "file_not_found"}
        done = []
        for f in files:
            shared = {
                "id": f["id"],
                "title": f.get("title"),
                "channel": params.get("channel_id"),
                "initial_comment": params.get("initial_comment"),
                "content": self.uploads[f["id"]],
            }
            self.shared_files.append(shared)
            done.append({"id": f["id"], "title": f.get("title")})
        return {"ok": True, "files": done}

    def _oauth_access(self) -> dict[str, Any]:
        return {
            "ok": True,
            "app_id": "A0PAPERS",
            "authed_user": {"id": "U0INSTALLER"},
            "scope": "commands,chat:write",
            "token_type": "bot",
            "access_token": "xoxb-oauth-installed-token-123456",
            "bot_user_id": BOT_USER_ID,
            "team": {"id": self.oauth_team_id, "name": "OAuth Team"},
            "enterprise": None,
            "is_enterprise_install": False,
        }
