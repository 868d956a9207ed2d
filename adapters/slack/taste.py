"""Channel taste on Slack (issue 13): the cards' 👍/👎 buttons, :+1: / :-1: reactions on
digest messages, and deleting a workspace's votes when the app is uninstalled.

Registered on the bolt app by `adapters.slack.app.register_listeners`. Votes are answered
ephemerally, to the voter only; reactions are silent.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from adapters.slack.blocks import ACTION_VOTE_DOWN, ACTION_VOTE_UP, render_reply
from adapters.slack.respond import error_reply, send_response
from adapters.slack.translate import action_request
from bot.commands.types import CastVote
from bot.models import ChannelRef, Platform

if TYPE_CHECKING:
    from adapters.slack.app import SlackBot

log = logging.getLogger(__name__)

# Reaction names (skin tones stripped) that vote, and which way.
VOTE_REACTIONS = {"+1": 1, "thumbsup": 1, "-1": -1, "thumbsdown": -1}


def reaction_vote(name: object) -> int | None:
    """+1 / -1 for a thumbs reaction (any skin tone), None for every other reaction."""
    return VOTE_REACTIONS.get(str(name or "").split("::", 1)[0])


def register_taste_listeners(bot: SlackBot) -> None:
    """👍/👎 buttons, thumbs reactions on digests, and forgetting votes on uninstall."""
    app = bot.app
    commands = bot.commands

    async def on_vote(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        # Ack at once (Slack's 3 s); the vote is recorded and confirmed right after.
        await ack()
        action = (body.get("actions") or [{}])[0]
        value = str(action.get("value") or "")
        if not value.isdigit():
            await send_response(
                respond, error_reply("That button has expired."), replace_original=False
            )
            return
        direction = 1 if action.get("action_id") == ACTION_VOTE_UP else -1
        request = action_request(body, command=CastVote(value=direction, paper_key=int(value)))
        reply = await commands.dispatch(request)
        # Ephemeral, to the voter only: nobody else learns who voted.
        await send_response(
            respond, render_reply(reply, paging=False, share=False), replace_original=False
        )

    app.action(ACTION_VOTE_UP)(on_vote)
    app.action(ACTION_VOTE_DOWN)(on_vote)

    async def on_reaction(event: dict[str, Any], body: dict[str, Any], added: bool) -> None:
        value = reaction_vote(event.get("reaction"))
        item = event.get("item") or {}
        if value is None or item.get("type") != "message" or not item.get("ts"):
            return
        channel = ChannelRef(
            Platform.SLACK, str(item.get("channel") or ""), body.get("team_id") or None
        )
        touched = await asyncio.to_thread(
            commands.taste.react,
            channel,
            str(item["ts"]),
            str(event.get("user") or ""),
            value,
            added=added,
        )
        if touched:
            log.info("slack reaction vote on a digest", extra={"channel": channel.key})

    @app.event("reaction_added")
    async def on_reaction_added(event: dict[str, Any], body: dict[str, Any]) -> None:
        await on_reaction(event, body, True)

    @app.event("reaction_removed")
    async def on_reaction_removed(event: dict[str, Any], body: dict[str, Any]) -> None:
        await on_reaction(event, body, False)

    async def forget(body: dict[str, Any], why: str) -> None:
        team = str(body.get("team_id") or "")
        if not team:
            return
        gone = await asyncio.to_thread(commands.taste.forget_workspace, "slack", team)
        log.info("%s: deleted %d votes of the workspace", why, gone, extra={"team": team})

    @app.event("app_uninstalled")
    async def on_uninstalled(body: dict[str, Any]) -> None:
        await forget(body, "app uninstalled")

    @app.event("tokens_revoked")
    async def on_tokens_revoked(event: dict[str, Any], body: dict[str, Any]) -> None:
        # Only the bot's own tokens going means the app is gone; a user token does not.
        if (event.get("tokens") or {}).get("bot"):
            await forget(body, "bot token revoked")
