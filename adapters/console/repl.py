"""`papers-bot serve console`: an interactive prompt that speaks the same /papers commands.

Anyone can try the bot without Slack or Discord tokens. The console user owns the console
"channel", so they may subscribe; their digests are printed here by the digest clock.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys
import threading
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.text import Text

from adapters.console.render import render_reply
from bot.commands.core import CommandCore
from bot.commands.parser import replay
from bot.commands.types import Cite, Command, Help, Save, Similar
from bot.models import ChannelRef, CommandRequest, PageCursor, Platform, Reply, ReplyKind

CONSOLE_CHANNEL = "console"
CONSOLE_WORKSPACE = "local"
CONSOLE_USER = "console-user"
EXIT_WORDS = {"quit", "exit", ":q", "/quit", "/exit"}

BANNER = (
    "papers-bot console — type `/papers help`, `/papers search diffusion`, "
    "`/papers trending`; `next`/`prev` to page; `similar N`, `save N` and `cite N` act on "
    "card N; `quit` to leave."
)
# Commands whose paper a console user may name by a card number shown before, since the
# console has no buttons: (title of the error reply, the command's own word).
NUMBERED = {Similar: "More like this", Save: "Reading list", Cite: "Citation"}


class RawLines:
    """Lines of a file descriptor read with `os.read`, for stdin that is not a terminal.

    `input()` on a pipe reads through `sys.stdin`'s buffered reader and holds its lock
    while it waits. A daemon thread left waiting there when the process stops (SIGTERM
    from a supervisor) makes the interpreter abort at exit ("could not acquire lock for
    <stdin> at interpreter shutdown"). `os.read` holds no such lock.
    """

    def __init__(self, fd: int, encoding: str) -> None:
        self.fd = fd
        self.encoding = encoding
        self.pending = b""

    def readline(self) -> str:
        """The next line without its newline; EOFError at the end, as `input()` does."""
        while b"\n" not in self.pending:
            chunk = os.read(self.fd, 65536)
            if not chunk:
                if not self.pending:
                    raise EOFError
                line, self.pending = self.pending, b""
                return line.decode(self.encoding, errors="replace")
            self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        return line.decode(self.encoding, errors="replace").removesuffix("\r")


@functools.cache
def _raw_lines(fd: int, encoding: str) -> RawLines:
    return RawLines(fd, encoding)  # one per descriptor: it keeps what follows a line


def piped_stdin() -> RawLines | None:
    """`RawLines` of stdin unless `input()` would use the terminal's own line editing."""
    stdin, stdout = sys.__stdin__, sys.__stdout__
    if stdin is None or (stdin.isatty() and stdout is not None and stdout.isatty()):
        return None
    return _raw_lines(stdin.fileno(), stdin.encoding or "utf-8")


def read_line(console: Console, prompt: str) -> asyncio.Future[str]:
    """`console.input(prompt)` in a daemon thread, as a future of the event loop.

    Not `asyncio.to_thread`: the loop's executor is joined when the process ends, so a
    Ctrl-C would wait for the user to press Enter. A daemon thread blocked on the terminal
    is simply left behind; the process exits at once. Piped stdin is read with `RawLines`.
    """
    loop = asyncio.get_running_loop()
    lines = piped_stdin()
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
            if lines is None:
                line = console.input(prompt)
            else:
                console.print(prompt, end="")  # as console.input prints it
                line = lines.readline()
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
        user=CONSOLE_USER,
        command=command,
        can_manage=True,
        offset=offset,
    )


class ConsoleSession:
    """Keeps the paging cursor between prompts; one instance per terminal."""

    def __init__(
        self, commands: CommandCore, console: Console, *, export_dir: Path | None = None
    ) -> None:
        self.commands = commands
        self.console = console
        self.cursor: PageCursor | None = None
        # Card number -> paper key of the cards shown so far, for `similar N` (issue 12).
        self.numbered: dict[int, int] = {}
        # Where `list export` writes its file: the directory the console was started in.
        self.export_dir = export_dir or Path.cwd()

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
        elif (cards := await self._pasted_link(text)) is not None:
            return cards
        else:
            command = self.commands.parse(text)
            numbered = self._card_command(command)
            if isinstance(numbered, Reply):
                return numbered
            request = console_request(numbered)
        reply = await self.commands.dispatch(request)
        self.cursor = reply.cursor if reply.cursor else self.cursor
        self._remember(reply)
        if reply.attachment is not None:
            reply = await asyncio.to_thread(self._write_attachment, reply)
        return reply

    def _card_command(self, command: Command) -> Command | Reply:
        """`similar 3`, `save 3`, `cite 3`: the command for card 3's paper, or an error
        reply when no card 3 was shown. A paper id is never all digits, so a number is a
        card number."""
        if isinstance(command, Similar) and command.number is not None:
            number: int | None = command.number
        elif isinstance(command, Save | Cite) and command.ref.isdigit():
            number = int(command.ref)
        else:
            return command
        key = self.numbered.get(number) if number is not None else None
        if key is None:
            title = NUMBERED[type(command)]
            error = f"No card numbered {number} was shown; `{command.verb} ID` works too."
            return Reply(ReplyKind.ERROR, error, title=title)
        if isinstance(command, Similar):
            return Similar(paper_key=key)
        return replace(command, ref="", paper_key=key)

    async def _pasted_link(self, text: str) -> Reply | None:
        """A pasted paper link (link memory): its card, as Slack unfurls and Discord's
        "Paper card" show it; None when the line is not a link, so it runs as a command."""
        if not text.lower().startswith(("http://", "https://", "arxiv:")):
            return None
        channel = ChannelRef(Platform.CONSOLE, CONSOLE_CHANNEL, CONSOLE_WORKSPACE)
        found = await asyncio.to_thread(
            self.commands.link_cards, text, channel=channel, user=CONSOLE_USER
        )
        if not found:
            return None
        reply = Reply(
            ReplyKind.SEARCH, "", cards=tuple(card for _link, card in found), title="Paper card"
        )
        self._remember(reply)
        return reply

    def _remember(self, reply: Reply) -> None:
        """Number the reply's cards as they are shown (rank, else place), for `similar N`."""
        for i, card in enumerate(reply.cards, start=1):
            self.numbered[card.rank if card.rank is not None else i] = card.paper.key

    def _write_attachment(self, reply: Reply) -> Reply:
        """The console's upload: the file goes next to the user, and the reply says where."""
        assert reply.attachment is not None
        path = (self.export_dir / reply.attachment.filename).resolve()
        try:
            path.write_bytes(reply.attachment.content)
        except OSError as exc:
            note = f"Could not write {path}: {exc.strerror or exc}."
        else:
            note = f"Wrote {path}."
        return replace(reply, notes=(*reply.notes, note))

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
