"""`papers-bot serve console`: an interactive prompt that speaks the same /papers commands.

Anyone can try the bot without Slack or Discord tokens. The console user owns the console
"channel", so they may subscribe; their digests are printed here by the digest clock.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace

from rich.console import Console
from rich.text import Text

from adapters.console.render import render_reply
from bot.commands.core import CommandCore
from bot.commands.parser import replay
from bot.commands.types import Command, Help
from bot.models import CommandRequest, PageCursor, Platform, Reply

CONSOLE_CHANNEL = "console"
CONSOLE_WORKSPACE = "local"
EXIT_WORDS = {"quit", "exit", ":q", "/quit", "/exit"}

BANNER = (
    "papers-bot console — type `/papers help`, `/papers search diffusion`, "
    "`/papers trending`; `next`/`prev` to page; `quit` to leave."
)


def read_line(console: Console, prompt: str) -> asyncio.Future[str]:
    """`console.input(prompt)` in a daemon thread, as a future of the event loop.

    Not `asyncio.to_thread`: the loop's executor is joined when the process ends, so a
    Ctrl-C would wait for the user to press Enter. A daemon thread blocked on the terminal
    is simply left behind; the process exits at once.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str] = loop.create_future()

    def settle(line: str | None, error: BaseException | None) -> None:
        if future.done():  # cancelled: the session ended while the user was typing
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(line or "")

    def read() -> None:
        line: str | None = None
        error: BaseException | None = None
        try:
            line = console.input(prompt)
        except (EOFError, OSError, UnicodeDecodeError) as exc:
            error = exc
        try:
            loop.call_soon_threadsafe(settle, line, error)
        except RuntimeError:
            # The loop is closed: the process is exiting and nobody waits for this line.
            return

    threading.Thread(target=read, name="console-input", daemon=True).start()
    return future


def console_request(command: Command, *, offset: int = 0) -> CommandRequest:
    return CommandRequest(
        platform=Platform.CONSOLE,
        channel=CONSOLE_CHANNEL,
        workspace=CONSOLE_WORKSPACE,
        user="console-user",
        command=command,
        can_manage=True,
        offset=offset,
    )


class ConsoleSession:
    """Keeps the paging cursor between prompts; one instance per terminal."""

    def __init__(self, commands: CommandCore, console: Console) -> None:
        self.commands = commands
        self.console = console
        self.cursor: PageCursor | None = None

    async def handle_line(self, line: str) -> Reply | None:
        text = line.strip()
        if not text:
            return None
        lowered = text.lower()
        if lowered in {"next", "n", "prev", "previous", "p"}:
            if self.cursor is None:
                reply = await self.commands.dispatch(console_request(Help()))
                return replace(reply, notes=("Nothing to page through yet.",))
            target = self.cursor.next() if lowered.startswith("n") else self.cursor.previous()
            command = replay(target.command, target.query)
            request = console_request(command, offset=target.offset)
        else:
            request = console_request(self.commands.parse(text))
        reply = await self.commands.dispatch(request)
        self.cursor = reply.cursor if reply.cursor else self.cursor
        return reply

    async def run(self) -> None:
        self.console.print(Text(BANNER, style="dim"))
        while True:
            try:
                line = await read_line(self.console, "[bold cyan]papers>[/] ")
            except EOFError:
                return
            if line.strip().lower() in EXIT_WORDS:
                return
            reply = await self.handle_line(line)
            if reply is not None:
                self.console.print(render_reply(reply))
