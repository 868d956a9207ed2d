"""The `/papers` app-command group: translates interactions into core requests and renders replies.

Every subcommand does the same three things (DESIGN.md §1): build a `CommandRequest`, call
`CommandCore.dispatch`, render the `Reply`. Discord specifics handled here:
- Manage Channels is checked at run time from the permissions Discord resolved for the
  member in this channel (`interaction.permissions`); `default_permissions` cannot be set
  per subcommand and is only a hint that server admins may override anyway.
- Subscriptions belong to a server channel: in a DM, or in a server the bot is not a member
  of (user-installed app), the user gets a clear message instead.
- Autocomplete answers from the in-memory index, bounded well below Discord's 3 s.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from adapters.discord.taste import taste_app_command
from adapters.discord.translate import build_request
from adapters.discord.views import NONE_MENTIONS, run_with_deferral, send_reply
from bot.commands.options import (
    parse_time,
    parse_weekday,
    parse_weekdays,
    resolve_timezone,
    split_keywords,
)
from bot.commands.parser import alert_command, follow_command
from bot.commands.similar import similar_command
from bot.commands.types import (
    AssignSaved,
    Cite,
    Command,
    ExportList,
    Following,
    Help,
    Invalid,
    MarkDone,
    RemoveSaved,
    Save,
    Search,
    ShowList,
    Subscribe,
    Subscriptions,
    Trending,
    Unfollow,
    Unsubscribe,
)
from bot.models import Cadence, ChannelRef, Platform, Reply, ReplyKind
from bot.text import clean_text, shorten

if TYPE_CHECKING:
    from adapters.discord.bot import PapersBot, ShardedPapersBot
    from bot.commands.core import CommandCore
    from bot.ports import KeyValueStore

log = logging.getLogger(__name__)

MAX_CHOICES = 25
CHOICE_MAX = 100
# Autocomplete must answer within 3 s; past this we answer with no choices rather than fail.
AUTOCOMPLETE_BUDGET_SECONDS = 2.0

PAPER_CARD_MENU = "Paper card"
NO_PAPER_LINK = (
    "I found no link to a paper I know in that message (arXiv, Hugging Face papers, "
    "alphaXiv or ACL Anthology)."
)

NOT_INSTALLED_MESSAGE = (
    "papers-bot is not a member of this server, so it cannot post digests here. "
    "Ask a server admin to add the bot first."
)


def _choices(titles: list[tuple[int, str]]) -> list[app_commands.Choice[str]]:
    """At most 25 choices; name and value both ≤ 100 chars (Discord rejects longer)."""
    choices: list[app_commands.Choice[str]] = []
    seen: set[str] = set()
    for _key, title in titles:
        text = shorten(clean_text(title), CHOICE_MAX)
        if not text or text in seen:
            continue
        seen.add(text)
        choices.append(app_commands.Choice(name=text, value=text))
        if len(choices) >= MAX_CHOICES:
            break
    return choices


def subscribe_command(
    time: str,
    timezone: str | None,
    keywords: str | None,
    days: str | None,
    *,
    top: int | None,
    min_upvotes: int | None,
    weekly_on: str | None = None,
) -> Command:
    """The typed `/papers subscribe` options as a command; nothing goes back through text,
    so `keywords` holds keywords only (never a timezone or a `days=` option)."""
    at = parse_time(time.replace(" ", ""))
    if at is None:
        error = f"“{shorten(clean_text(time), 20)}” is not a time of day; use HH:MM, e.g. 09:00."
        return Invalid(error=error, attempted="subscribe")
    zone = resolve_timezone(timezone.strip()) if timezone else None
    if timezone and zone is None:
        error = (
            f"“{shorten(clean_text(timezone), 40)}” is not a timezone; "
            "pick one from the list, e.g. Europe/Berlin."
        )
        return Invalid(error=error, attempted="subscribe")
    words, notes = split_keywords(clean_text(keywords)) if keywords else (None, ())
    weekly_day = parse_weekday(weekly_on) if weekly_on else None
    if weekly_on and weekly_day is None:
        error = f"“{shorten(clean_text(weekly_on), 20)}” is not a day of the week."
        return Invalid(error=error, attempted="subscribe")
    if weekly_day is not None:
        return Subscribe(
            at=at,
            timezone=zone,
            cadence=Cadence.WEEKLY,
            weekdays=(weekly_day,),
            keywords=words,
            top_n=top,
            min_upvotes=min_upvotes,
            notes=notes,
        )
    return Subscribe(
        at=at,
        timezone=zone,
        cadence=Cadence.DAILY if days else None,
        weekdays=parse_weekdays(days) if days else None,
        keywords=words,
        top_n=top,
        min_upvotes=min_upvotes,
        notes=notes,
    )


def list_command(action: str | None, number: int | None, user: str | None) -> Command:
    """The typed `/papers list` options as a reading-list command."""
    if action in (None, "show"):
        return ShowList()
    if action == "export":
        return ExportList()
    if number is None:
        return Invalid(
            error=f"`/papers list {action}` needs the number the list shows (option `number`).",
            attempted="list",
        )
    if action == "done":
        return MarkDone(position=number)
    if action == "remove":
        return RemoveSaved(position=number)
    if user is None:
        return Invalid(
            error="Who presents it? Pick someone in the `user` option.", attempted="list"
        )
    return AssignSaved(position=number, user=user)


class PapersCog(
    commands.GroupCog,
    group_name="papers",
    group_description="Find and follow research papers",
):
    def __init__(self, bot: PapersBot | ShardedPapersBot) -> None:
        self.bot = bot
        super().__init__()
        # Link memory (issue 14): a message context-menu command; it reads the message the
        # interaction carries, so it needs no message-content intent.
        self.paper_card_menu = app_commands.ContextMenu(
            name=PAPER_CARD_MENU, callback=self.paper_card
        )
        bot.tree.add_command(self.paper_card_menu)
        # Channel taste (issue 13): `/papers taste`, built in adapters/discord/taste.py.
        assert self.app_command is not None  # a GroupCog always has its group
        self.app_command.add_command(taste_app_command(self._run))

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(PAPER_CARD_MENU, type=discord.AppCommandType.message)

    async def paper_card(
        self, interaction: discord.Interaction[Any], message: discord.Message
    ) -> None:
        """The cards of the papers a message links to, with who first shared them here."""
        guild = interaction.guild_id
        channel = ChannelRef(
            Platform.DISCORD, str(interaction.channel_id or ""), str(guild) if guild else None
        )

        async def cards() -> Reply:
            found = await asyncio.to_thread(
                self.handler.link_cards,
                message.content or "",
                channel=channel,
                user=str(message.author.id),
                at=message.created_at,
                limit=5,
            )
            if not found:
                return Reply(ReplyKind.INFO, NO_PAPER_LINK, title="Paper card")
            return Reply(
                ReplyKind.SEARCH,
                "",
                cards=tuple(card for _link, card in found),
                title="Paper card",
            )

        reply = await run_with_deferral(interaction, cards())
        await send_reply(interaction, reply, kv=self.kv)

    @property
    def handler(self) -> CommandCore:
        handler = self.bot.handler
        if handler is None:
            # Only `papers-bot discord sync` builds a bot without a core, and it never serves.
            raise RuntimeError("the Discord bot was built without a command core")
        return handler

    @property
    def kv(self) -> KeyValueStore | None:
        return self.bot.kv

    async def _run(self, interaction: discord.Interaction[Any], command: Command) -> None:
        reply: Reply | None = None
        # Discord's own condition (DMs are the core's rule): a server that has not added the
        # bot, where a user-installed app can be run but digests cannot be posted.
        guild = interaction.guild_id is not None
        if command.channel_only and guild and not interaction.is_guild_integration():
            reply = Reply(ReplyKind.ERROR, NOT_INSTALLED_MESSAGE, title="Subscription")
        if reply is None:
            request = build_request(interaction, command)
            reply = await run_with_deferral(interaction, self.handler.dispatch(request))
        await send_reply(interaction, reply, kv=self.kv)

    @app_commands.command(name="search", description="Fuzzy search over papers")
    @app_commands.describe(query="Words from the title, authors or abstract; typos are fine")
    async def search(self, interaction: discord.Interaction[Any], query: str) -> None:
        await self._run(interaction, Search(query=clean_text(query)))

    @search.autocomplete("query")
    async def search_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        prefix = clean_text(current)
        if not prefix:
            return []
        try:
            titles = await asyncio.wait_for(
                asyncio.to_thread(self.handler.suggest, prefix, limit=MAX_CHOICES),
                AUTOCOMPLETE_BUDGET_SECONDS,
            )
        except TimeoutError:
            log.warning("autocomplete for %r exceeded its budget", prefix[:50])
            return []
        return _choices(titles)

    @app_commands.command(name="trending", description="The hottest papers of the last days")
    @app_commands.describe(count="How many papers (1–25, default 5)")
    async def trending(
        self,
        interaction: discord.Interaction[Any],
        count: app_commands.Range[int, 1, 25] | None = None,
    ) -> None:
        await self._run(interaction, Trending(count=count))

    @app_commands.command(
        name="subscribe", description="Post a daily or weekly digest of papers in this channel"
    )
    @app_commands.describe(
        time="Time of day, e.g. 09:00 or 9am",
        timezone="IANA timezone, e.g. Europe/Berlin (default: the bot's)",
        keywords="Comma-separated keywords to filter by, e.g. diffusion, speech",
        days="Which days to post (daily digest)",
        weekly="Post a weekly digest (top papers of the past 7 days) on this day instead",
        top="Papers per digest (1–10)",
        min_upvotes="Only papers with at least this many upvotes",
    )
    @app_commands.choices(
        days=[
            app_commands.Choice(name="Monday to Friday", value="mon-fri"),
            app_commands.Choice(name="Every day", value="daily"),
            app_commands.Choice(name="Weekends", value="weekends"),
        ],
        weekly=[
            app_commands.Choice(name=name, value=name[:3].lower())
            for name in (
                "Monday",
                "Tuesday",
                "Wednesday",
                "Thursday",
                "Friday",
                "Saturday",
                "Sunday",
            )
        ],
    )
    async def subscribe(
        self,
        interaction: discord.Interaction[Any],
        time: str,
        timezone: str | None = None,
        keywords: str | None = None,
        days: app_commands.Choice[str] | None = None,
        top: app_commands.Range[int, 1, 10] | None = None,
        min_upvotes: app_commands.Range[int, 0, 100000] | None = None,
        weekly: app_commands.Choice[str] | None = None,
    ) -> None:
        await self._run(
            interaction,
            subscribe_command(
                time,
                timezone,
                keywords,
                days.value if days else None,
                top=top,
                min_upvotes=min_upvotes,
                weekly_on=weekly.value if weekly else None,
            ),
        )

    @subscribe.autocomplete("timezone")
    async def timezone_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        from zoneinfo import available_timezones

        needle = current.strip().casefold()
        names = sorted(available_timezones())
        if needle:
            names = [n for n in names if needle in n.casefold()]
        return [app_commands.Choice(name=n, value=n) for n in names[:MAX_CHOICES]]

    @app_commands.command(name="unsubscribe", description="Stop this channel's digest")
    async def unsubscribe(self, interaction: discord.Interaction[Any]) -> None:
        await self._run(interaction, Unsubscribe())

    @app_commands.command(name="subscriptions", description="Show this channel's digest settings")
    async def subscriptions(self, interaction: discord.Interaction[Any]) -> None:
        await self._run(interaction, Subscriptions())

    @app_commands.command(name="help", description="How to use papers-bot")
    async def help(self, interaction: discord.Interaction[Any]) -> None:
        await self._run(interaction, Help())

    # -- alerts (issue 14) ---------------------------------------------------------------

    @app_commands.command(name="follow", description="Post new papers by an author here")
    @app_commands.describe(
        author="The author's name, e.g. Yann LeCun (initials and accents are fine)",
        choice="Which person, when the name means several (the number the bot listed)",
    )
    async def follow(
        self,
        interaction: discord.Interaction[Any],
        author: str,
        choice: app_commands.Range[int, 1, 99] | None = None,
    ) -> None:
        await self._run(interaction, follow_command(author, choice))

    @app_commands.command(name="alert", description="Post new papers matching a search here")
    @app_commands.describe(query='A search, e.g. diffusion speech or "state space" author:Gu')
    async def alert(self, interaction: discord.Interaction[Any], query: str) -> None:
        await self._run(interaction, alert_command(query))

    @app_commands.command(name="following", description="List this channel's alerts")
    async def following(self, interaction: discord.Interaction[Any]) -> None:
        await self._run(interaction, Following())

    @app_commands.command(name="unfollow", description="Remove one of this channel's alerts")
    @app_commands.describe(number="The alert's number in /papers following")
    async def unfollow(
        self, interaction: discord.Interaction[Any], number: app_commands.Range[int, 1, 999]
    ) -> None:
        await self._run(interaction, Unfollow(number=number))

    # -- Reading list and citations (issue 14) -------------------------------------------

    @app_commands.command(name="save", description="Save a paper to this channel's reading list")
    @app_commands.describe(paper="An arXiv or ACL Anthology id, or a link to the paper")
    async def save(self, interaction: discord.Interaction[Any], paper: str) -> None:
        await self._run(interaction, Save(ref=shorten(clean_text(paper), 300, "")))

    @app_commands.command(name="list", description="This channel's reading list")
    @app_commands.describe(
        action="What to do (default: show the list)",
        number="The paper's number in the list",
        user="Who presents the paper (with action Assign)",
    )
    @app_commands.choices(
        action=[
            app_commands.Choice(name="Show", value="show"),
            app_commands.Choice(name="Mark discussed", value="done"),
            app_commands.Choice(name="Remove", value="remove"),
            app_commands.Choice(name="Assign a presenter", value="assign"),
            app_commands.Choice(name="Export BibTeX", value="export"),
        ]
    )
    async def reading_list(
        self,
        interaction: discord.Interaction[Any],
        action: app_commands.Choice[str] | None = None,
        number: app_commands.Range[int, 1, 10000] | None = None,
        user: discord.User | None = None,
    ) -> None:
        command = list_command(
            action.value if action else None, number, str(user.id) if user else None
        )
        await self._run(interaction, command)

    @app_commands.command(name="cite", description="BibTeX for a paper")
    @app_commands.describe(paper="An arXiv or ACL Anthology id, or a link to the paper")
    async def cite(self, interaction: discord.Interaction[Any], paper: str) -> None:
        await self._run(interaction, Cite(ref=shorten(clean_text(paper), 300, "")))

    @app_commands.command(name="similar", description="Papers like one paper (More like this)")
    @app_commands.describe(paper="An arXiv or ACL Anthology id, a link to the paper, or its title")
    async def similar(self, interaction: discord.Interaction[Any], paper: str) -> None:
        await self._run(interaction, similar_command(paper))

    async def cog_app_command_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        """Errors outside the core (Discord HTTP, rendering) get logged and a short apology."""
        log.error("discord command failed: %s", error, exc_info=error)
        text = "Sorry, something went wrong while answering. Please try again."
        try:
            if interaction.response.is_done():
                await interaction.followup.send(
                    text, ephemeral=True, allowed_mentions=NONE_MENTIONS
                )
            else:
                await interaction.response.send_message(
                    text, ephemeral=True, allowed_mentions=NONE_MENTIONS
                )
        except discord.HTTPException as exc:
            # The interaction token may be gone (expired or already answered): log and move on.
            log.warning("could not report the error to the user: %s", exc)
