"""`MessageSink` for the console: a subscription made in the terminal gets its digest printed.

The console has no message history, so `find_posted` remembers what this process printed;
after a crash the worst case is that a digest is printed once more, which a terminal
reader can live with (no platform guarantees apply to stdout).
"""

from __future__ import annotations

import asyncio

from rich.console import Console

from adapters.console.render import render_alerts, render_digest
from bot.alerts.models import AlertPost
from bot.models import ChannelRef, Digest, PostResult


class ConsoleSink:
    def __init__(self, console: Console) -> None:
        self.console = console
        self._printed: dict[tuple[str, int], str] = {}
        # Two digests printed at the same moment must not interleave their lines.
        self._lock = asyncio.Lock()

    async def post_digest(self, digest: Digest) -> PostResult:
        async with self._lock:
            self.console.print(render_digest(digest))
        message_id = f"console-{digest.delivery_id}"
        self._printed[(digest.channel.key, digest.delivery_id)] = message_id
        return PostResult(ok=True, message_id=message_id)

    async def find_posted(self, channel: ChannelRef, delivery_id: int) -> str | None:
        return self._printed.get((channel.key, delivery_id))

    async def post_alerts(self, post: AlertPost) -> PostResult:
        """Every paper, even of a burst: a terminal has no "show all" button to press."""
        async with self._lock:
            self.console.print(render_alerts(post))
        message_id = f"console-alert-{post.delivery_id}"
        self._printed[(post.channel.key, -post.delivery_id)] = message_id
        return PostResult(ok=True, message_id=message_id)

    async def find_alert_posted(self, channel: ChannelRef, delivery_id: int) -> str | None:
        return self._printed.get((channel.key, -delivery_id))
