"""Previous/Next buttons that keep working across restarts, and sending replies to interactions.

The paging state lives entirely in each button's `custom_id` (Discord allows 100 chars):
`papers:page:<command>:<offset>:q:<query>` when the query fits, else
`papers:page:<command>:<offset>:h:<digest>` with the query stored under that digest in the
`kv_store` table. A `DynamicItem` template matches both forms, so a button on a message
sent before a restart still dispatches: no in-memory view has to exist for it.

`send_reply` and `run_with_deferral` are here too because both the slash commands and the
buttons answer interactions the same way: within 3 s, deferring first when the core is slow.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import re
from collections.abc import Awaitable
from typing import Any, ClassVar, Self

import discord

from adapters.discord.embeds import render_reply
from adapters.discord.translate import build_request
from bot.commands.core import CommandCore
from bot.commands.parser import replay
from bot.commands.types import AlertMatches, Command, Save, Similar
from bot.models import PageCursor, PaperCard, Reply, ReplyKind
from bot.paging import button_int
from bot.ports import KeyValueStore

log = logging.getLogger(__name__)

NONE_MENTIONS = discord.AllowedMentions.none()
CUSTOM_ID_MAX = 100
KV_NAMESPACE = "discord.page_query"
# Discord gives 3 s for the first response; beyond this the reply is deferred first.
DEFER_AFTER_SECONDS = 2.0

# Only listings page; the command part is never trusted to run anything else.
_TEMPLATE = re.compile(
    r"papers:page:(?P<command>search|trending|similar):(?P<offset>\d{1,9}):(?P<mode>[qh]):(?P<value>.*)",
    re.S,
)


def page_offset(match: re.Match[str]) -> int | None:
    """The offset of a matched page id, or None when a forged id asks for an absurd page."""
    return button_int(int(match["offset"]))


def _fits(custom_id: str) -> bool:
    # Count UTF-16 units as well as code points: whichever Discord applies, we stay under.
    return len(custom_id.encode("utf-16-le")) // 2 <= CUSTOM_ID_MAX


def query_digest(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8")).hexdigest()[:40]


class QueryStore:
    """Queries too long for a custom_id, content-addressed in the key-value port."""

    def __init__(self, kv: KeyValueStore) -> None:
        self.kv = kv

    def put(self, query: str) -> str:
        name = query_digest(query)
        # Content-addressed: if the name exists, it already holds this very query.
        self.kv.add(KV_NAMESPACE, name, query.encode("utf-8"))
        return name

    def get(self, name: str) -> str | None:
        value = self.kv.get(KV_NAMESPACE, name)
        return value.decode("utf-8") if value is not None else None


def query_fits_inline(command: str, query: str) -> bool:
    """Whether every page's custom_id can carry the query itself (largest offset allowed)."""
    return _fits(f"papers:page:{command}:{'9' * 9}:q:{query}")


def encode_custom_id(command: str, offset: int, query: str) -> str:
    """The custom_id of a button opening the page at `offset`.

    A query too long to inline is referenced by digest; the caller stores it first with
    `QueryStore.put`, which keeps this function pure and off the database.
    """
    base = f"papers:page:{command}:{offset}:"
    if query_fits_inline(command, query):
        return f"{base}q:{query}"
    return f"{base}h:{query_digest(query)}"


class PageButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=_TEMPLATE):
    """A Previous or Next button; everything needed to fetch its page is in its custom_id."""

    def __init__(
        self, command: str, offset: int, query: str, *, custom_id: str, label: str
    ) -> None:
        super().__init__(
            discord.ui.Button(style=discord.ButtonStyle.secondary, label=label, custom_id=custom_id)
        )
        self.command = command
        self.offset = offset
        self.query = query

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> PageButton:
        query: str | None = match["value"]
        offset = page_offset(match)
        if offset is None:
            # A forged id: the callback answers "expired" for an empty query.
            query, offset = "", 0
        elif match["mode"] == "h":
            kv: KeyValueStore | None = interaction.client.kv
            query = await asyncio.to_thread(QueryStore(kv).get, match["value"]) if kv else None
        return cls(
            match["command"],
            offset,
            query if query is not None else "",
            custom_id=match.string,
            label=getattr(item, "label", None) or "Page",
        )

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        handler: CommandCore = interaction.client.handler
        if not self.query:
            reply = Reply(
                ReplyKind.ERROR,
                "This result list has expired. Please run the search again.",
            )
        else:
            command = replay(self.command, self.query)
            request = build_request(interaction, command, offset=self.offset)
            reply = await run_with_deferral(interaction, handler.dispatch(request), edit=True)
        await send_reply(interaction, reply, kv=interaction.client.kv, edit=True)


# -- Card buttons: Save, More like this, Show all (and 👍 / 👎 in vote_buttons) ------------

PAPER_KEY = r"\d{1,18}"


class CommandButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"(?!)"):
    """A button whose whole state is in its custom_id, `papers:<name>:<field>:…`, so that
    it keeps working on old messages and after a restart; a press runs `command()` and
    answers the clicker only.

    A subclass is only what differs: its name, its fields (name: regex, in custom_id
    order), style and label in the class line, and the command its fields make:

        class SaveButton(CommandButton, name="save", fields={"key": PAPER_KEY}, ...):
            def command(self) -> Command:
                return Save(paper_key=int(self.fields["key"]))
    """

    # The base's own template matches nothing: only its subclasses are registered.
    prefix: ClassVar[str]
    style: ClassVar[discord.ButtonStyle]
    default_label: ClassVar[str]

    def __init_subclass__(
        cls, *, name: str, fields: dict[str, str], style: discord.ButtonStyle, label: str
    ) -> None:
        cls.prefix = f"papers:{name}"
        cls.style, cls.default_label = style, label
        parts = "".join(f":(?P<{field}>{pattern})" for field, pattern in fields.items())
        super().__init_subclass__(template=re.compile(re.escape(cls.prefix) + parts))

    def __init__(self, *values: object, label: str | None = None, row: int | None = None) -> None:
        custom_id = ":".join([self.prefix, *map(str, values)])
        button = discord.ui.Button[Any](
            style=self.style, label=label or self.default_label, custom_id=custom_id, row=row
        )
        super().__init__(button)
        match = self.template.fullmatch(custom_id)
        if match is None:
            raise ValueError(f"{custom_id!r} does not match {self.template.pattern!r}")
        self.fields: dict[str, str] = match.groupdict()

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        return cls(*match.groups(), label=getattr(item, "label", None))

    def command(self) -> Command:
        raise NotImplementedError

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await answer_button(interaction, self.command())


# Row 0 holds the paging buttons; rows 1-4 hold up to 20 Save buttons.
MAX_SAVE_BUTTONS = 20


class SaveButton(
    CommandButton,
    name="save",
    fields={"key": PAPER_KEY},
    style=discord.ButtonStyle.success,
    label="Save",
):
    """A card's Save button: the paper (by key) goes on this channel's reading list."""

    def command(self) -> Command:
        return Save(paper_key=int(self.fields["key"]))


class AlertsAllButton(
    CommandButton,
    name="alerts",
    fields={"delivery": r"\d{1,18}"},
    style=discord.ButtonStyle.primary,
    label="Show all",
):
    """An alert summary's "Show all" button: every paper of that delivery, to the clicker."""

    def command(self) -> Command:
        return AlertMatches(delivery_id=int(self.fields["delivery"]))


def alerts_view(delivery_id: int, total: int) -> discord.ui.View:
    """The view of an alert summary: its one "Show all N" button."""
    view = discord.ui.View(timeout=None)
    view.add_item(AlertsAllButton(delivery_id, label=f"Show all {total}"))
    return view


# -- More like this (issue 12) ----------------------------------------------------------

# Two buttons per card (Save N, More like N) in rows 1-4: a row of five Saves, then the
# row of their five More-like buttons. That holds 10 cards; a longer list (trending 25)
# keeps one Save button per card for its first 20, as before.
MAX_CARD_PAIRS = 10


class SimilarButton(
    CommandButton,
    name="similar",
    fields={"key": PAPER_KEY},
    style=discord.ButtonStyle.primary,
    label="More like this",
):
    """A card's "More like this" button: papers like this one (by key)."""

    def command(self) -> Command:
        return Similar(paper_key=int(self.fields["key"]))


def add_save_buttons(view: discord.ui.View, cards: tuple[PaperCard, ...]) -> None:
    """Per card (N: its rank, else its place in the reply) a "Save N" button and, for up to
    `MAX_CARD_PAIRS` cards, a "More like N" button in the row below its Save."""
    pairs = len(cards) <= MAX_CARD_PAIRS
    for i, card in enumerate(cards[:MAX_SAVE_BUTTONS]):
        number = card.rank if card.rank is not None else i + 1
        row = 1 + 2 * (i // 5) if pairs else 1 + i // 5
        view.add_item(SaveButton(card.paper.key, label=f"Save {number}", row=row))
        if pairs:
            label = f"More like {number}"
            view.add_item(SimilarButton(card.paper.key, label=label, row=row + 1))
    # Channel taste (issue 13): 👍 / 👎 under them, when there is room.
    from adapters.discord.vote_buttons import add_vote_buttons

    add_vote_buttons(view, cards)


def card_view(cards: tuple[PaperCard, ...]) -> discord.ui.View | None:
    """Save and More-like buttons for cards sent outside an interaction (digests)."""
    view = discord.ui.View(timeout=None)
    add_save_buttons(view, cards)
    return view if view.children else None


def reply_view(reply: Reply) -> discord.ui.View | None:
    """Paging buttons and a Save button per card, or None when there are neither."""
    view = page_view(reply.cursor) or discord.ui.View(timeout=None)
    add_save_buttons(view, reply.cards)
    return view if view.children else None


def page_view(cursor: PageCursor | None) -> discord.ui.View | None:
    """Previous / page x of y / Next, or None when everything fits one page."""
    if cursor is None or not (cursor.has_next or cursor.has_previous):
        return None
    view = discord.ui.View(timeout=None)
    if cursor.has_previous:
        prev = cursor.previous()
        view.add_item(
            PageButton(
                cursor.command,
                prev.offset,
                cursor.query,
                custom_id=encode_custom_id(cursor.command, prev.offset, cursor.query),
                label="◀ Previous",
            )
        )
    pages = max(1, -(-cursor.total // cursor.page_size))
    view.add_item(
        discord.ui.Button(
            label=f"Page {cursor.offset // cursor.page_size + 1} of {pages}",
            custom_id="papers:pageinfo",
            disabled=True,
        )
    )
    if cursor.has_next:
        nxt = cursor.next()
        view.add_item(
            PageButton(
                cursor.command,
                nxt.offset,
                cursor.query,
                custom_id=encode_custom_id(cursor.command, nxt.offset, cursor.query),
                label="Next ▶",
            )
        )
    return view


async def run_with_deferral(
    interaction: discord.Interaction[Any],
    work: Awaitable[Reply],
    *,
    edit: bool = False,
    ephemeral: bool = True,
) -> Reply:
    """Await the core's reply, deferring the interaction first if it is not ready in time.

    Most answers take milliseconds, and answering directly avoids a "thinking…" flash;
    a slow database must still not cost us the 3 s window.
    """
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=DEFER_AFTER_SECONDS)
    if not done and not interaction.response.is_done():
        if edit:
            await interaction.response.defer()
        else:
            await interaction.response.defer(ephemeral=ephemeral, thinking=True)
    return await task


async def answer_button(interaction: discord.Interaction[Any], command: Command) -> None:
    """A card button's whole turn: translate to a request, dispatch it, answer the clicker."""
    handler: CommandCore = interaction.client.handler
    reply = await run_with_deferral(
        interaction, handler.dispatch(build_request(interaction, command))
    )
    await send_reply(interaction, reply, kv=interaction.client.kv)


async def send_reply(
    interaction: discord.Interaction[Any],
    reply: Reply,
    *,
    kv: KeyValueStore | None,
    edit: bool = False,
) -> None:
    """Answer with the rendered reply: first message as the response, extra ones as follow-ups."""
    cursor = reply.cursor
    if (
        kv is not None
        and cursor is not None
        and not query_fits_inline(cursor.command, cursor.query)
    ):
        # The buttons will reference the query by digest: store it (off the event loop) first.
        await asyncio.to_thread(QueryStore(kv).put, cursor.query)
    view = reply_view(reply)
    messages = render_reply(reply)
    first, rest = messages[0], messages[1:]
    view_kwargs: dict[str, Any] = {"view": view} if view is not None else {}
    if edit:
        if interaction.response.is_done():
            await interaction.edit_original_response(
                content=first.content,
                embeds=first.embeds,
                allowed_mentions=NONE_MENTIONS,
                view=view,
            )
        else:
            await interaction.response.edit_message(
                content=first.content,
                embeds=first.embeds,
                allowed_mentions=NONE_MENTIONS,
                view=view,
            )
    elif interaction.response.is_done():
        await interaction.followup.send(
            content=first.content or discord.utils.MISSING,
            embeds=first.embeds,
            ephemeral=reply.ephemeral,
            allowed_mentions=NONE_MENTIONS,
            **view_kwargs,
        )
    else:
        await interaction.response.send_message(
            content=first.content,
            embeds=first.embeds,
            ephemeral=reply.ephemeral,
            allowed_mentions=NONE_MENTIONS,
            **view_kwargs,
        )
    for message in rest:
        await interaction.followup.send(
            content=message.content or discord.utils.MISSING,
            embeds=message.embeds,
            ephemeral=reply.ephemeral,
            allowed_mentions=NONE_MENTIONS,
        )
    if reply.attachment is not None:
        # The file (a .bib export) follows the answer as an attachment of its own message.
        attachment = reply.attachment
        await interaction.followup.send(
            content=shorten_filename(attachment.filename),
            file=discord.File(io.BytesIO(attachment.content), filename=attachment.filename),
            ephemeral=reply.ephemeral,
            allowed_mentions=NONE_MENTIONS,
        )


def shorten_filename(name: str) -> str:
    return f"📎 {discord.utils.escape_markdown(name)[:100]}"
