"""A scripted HTTP server on 127.0.0.1 for fetcher tests: replays recorded responses and
records every request, so the real httpx client code runs against a real socket."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    path: str
    query: dict[str, str]


@dataclass
class Loopback:
    url: str
    requests: list[Request]


Script = Callable[[Request], Reply]


@contextmanager
def serve(script: Script) -> Iterator[Loopback]:
    requests: list[Request] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            request = Request(parts.path, query)
            requests.append(request)
            reply = script(request)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # A short poll interval keeps shutdown (and so each test) fast.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield Loopback(f"http://127.0.0.1:{server.server_address[1]}", requests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def json_reply(body: bytes, **headers: str) -> Reply:
    return Reply(200, body, {"Content-Type": "application/json", **headers})


def atom_feed(fixture: str, entries: list[str], total: int | None = None) -> bytes:
    """The fixture's feed header with only `entries` (whole `<entry>` elements) inside."""
    head = fixture.split("<entry>", 1)[0]
    if total is not None:
        start = head.index("<opensearch:totalResults>")
        end = head.index("</opensearch:totalResults>")
        head = head[:start] + f"<opensearch:totalResults>{total}" + head[end:]
    return (head + "".join(entries) + "</feed>\n").encode()


def atom_entries(fixture: str) -> list[str]:
    return [
        "<entry>" + part.split("</entry>", 1)[0] + "</entry>"
        for part in fixture.split("<entry>")[1:]
    ]
