"""The slack-bolt `AsyncApp`: `/papers`, paging and share buttons, mentions and unfurls.

Every listener follows the adapter shape of DESIGN.md §1: translate the Slack payload
into a `CommandRequest`, call `CommandCore.dispatch`, render the `Reply` with
`adapters.slack.blocks`. Commands and buttons `ack()` first (Slack allows 3 s) and answer
through `respond()` afterwards, so a slow search never times the user out.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.alert_blocks import ACTION_ALERTS_ALL
from adapters.slack.blocks import (
    ACTION_NEXT,
    ACTION_PREVIOUS,
    ACTION_SAVE,
    ACTION_SHARE,
    SlackMessage,
    decode_button,
    render_reply,
    render_unfurl,
)
from adapters.slack.bolt_notices import quiet_client_token_notice
from adapters.slack.card_actions import ACTION_CARD_MENU, ACTION_SIMILAR, card_action_command
from adapters.slack.config import SlackSettings
from adapters.slack.guard import SignatureGuard
from adapters.slack.installation_store import DbInstallationStore, DbOAuthStateStore
from adapters.slack.respond import error_reply as _error_reply
from adapters.slack.respond import send_response
from adapters.slack.taste import register_taste_listeners
from adapters.slack.translate import (
    action_request,
    command_request,
    describe_slack_error,
    mention_request,
    mention_text,
    normalise,
    slack_error_code,
    user_can_manage,
)
from bot.commands.core import CommandCore
from bot.commands.parser import replay
from bot.commands.types import AlertMatches, Save
from bot.models import ChannelRef, CommandRequest, Platform, Reply, ReplyKind
from bot.ports import KeyValueStore

log = logging.getLogger(__name__)

BOT_SCOPES = [
    "commands",
    "chat:write",
    "chat:write.public",
    "links:read",
    "links:write",
    "app_mentions:read",
    "channels:history",
    "groups:history",
    "users:read",
    # Reading list export (issue 14): the .bib goes up with files_upload_v2.
    "files:write",
    # Channel taste (issue 13): :+1: / :-1: reactions on digests count as votes.
    "reactions:read",
]
MAX_UNFURLS = 10
NOT_INSTALLED_TEXT = (
    ":warning: papers-bot is not installed in this workspace (or its install was revoked). "
    "Ask a workspace admin to install it again."
)


class SlackConfigError(Exception):
    """Slack settings that cannot work together (reported at start, one line)."""


def api_base_url(settings: SlackSettings) -> str:
    # slack_sdk joins the method name onto base_url verbatim, so it must end in "/".
    url = settings.slack_api_url
    return url if url.endswith("/") else url + "/"


def make_web_client(settings: SlackSettings, token: str | None = None) -> AsyncWebClient:
    """An AsyncWebClient on SLACK_API_URL that waits out 429s as Slack's Retry-After asks."""
    return AsyncWebClient(
        token=token,
        base_url=api_base_url(settings),
        timeout=15,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=1),
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
        ],
    )


def is_oauth_mode(settings: SlackSettings) -> bool:
    return bool(settings.slack_client_id and settings.slack_client_secret)


def _secret(value: Any) -> str | None:
    return str(value.get_secret_value()) if value is not None else None


@dataclass
class SlackBot:
    """The bolt app plus what its listeners need; `installation_store` in OAuth mode."""

    app: AsyncApp
    commands: CommandCore
    settings: SlackSettings
    installation_store: DbInstallationStore | None = None


def build_installation_store(settings: SlackSettings, kv: KeyValueStore) -> DbInstallationStore:
    key = _secret(settings.token_encryption_key)
    if not key:
        raise SlackConfigError(
            "multi-workspace Slack (SLACK_CLIENT_ID) needs PAPERS_ENCRYPTION_KEY to encrypt "
            "stored tokens"
        )
    return DbInstallationStore(kv, key)


def build_slack_app(
    commands: CommandCore,
    settings: SlackSettings,
    *,
    kv: KeyValueStore | None = None,
    client: AsyncWebClient | None = None,
    socket_mode: bool = False,
) -> SlackBot:
    """Build the bolt app: single-workspace with SLACK_BOT_TOKEN, or OAuth multi-workspace.

    OAuth mode keeps installations and states in `kv`. `socket_mode` allows a missing
    signing secret (Socket Mode frames are not signed);
    over HTTP the signature guard is mandatory.
    """
    signing_secret = _secret(settings.slack_signing_secret)
    if not signing_secret and not socket_mode:
        raise SlackConfigError("Slack HTTP mode needs SLACK_SIGNING_SECRET")
    guard = SignatureGuard(signing_secret) if signing_secret else None
    common: dict[str, Any] = {
        "name": "papers-bot",
        "signing_secret": signing_secret or "",
        # Our guard replaces bolt's verification: bolt answers a garbled timestamp with 500.
        "request_verification_enabled": False,
        "before_authorize": guard,
        "user_facing_authorize_error_message": NOT_INSTALLED_TEXT,
    }
    quiet_client_token_notice()
    installation_store: DbInstallationStore | None = None
    if is_oauth_mode(settings):
        if kv is None:
            raise SlackConfigError("multi-workspace Slack needs a key-value store")
        installation_store = build_installation_store(settings, kv)
        oauth = AsyncOAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=_secret(settings.slack_client_secret),
            scopes=BOT_SCOPES,
            installation_store=installation_store,
            state_store=DbOAuthStateStore(kv),
            install_path="/slack/install",
            redirect_uri_path="/slack/oauth_redirect",
        )
        app = AsyncApp(client=client or make_web_client(settings), oauth_settings=oauth, **common)
    else:
        token = _secret(settings.slack_bot_token)
        if not token:
            raise SlackConfigError("Slack needs SLACK_BOT_TOKEN, or SLACK_CLIENT_ID for OAuth")
        app = AsyncApp(client=client or make_web_client(settings, token), **common)
    bot = SlackBot(app, commands, settings, installation_store)
    register_listeners(bot)
    return bot


# -- listeners -------------------------------------------------------------------------


async def upload_attachment(client: AsyncWebClient, request: CommandRequest, reply: Reply) -> Reply:
    """Upload the reply's file to the channel (files_upload_v2); the reply then says so."""
    attachment = reply.attachment
    if attachment is None:
        return reply
    try:
        await client.files_upload_v2(
            channel=request.channel,
            content=attachment.content,
            filename=attachment.filename,
            title=attachment.title or attachment.filename,
            initial_comment=reply.text,
        )
    except SlackApiError as exc:
        code = slack_error_code(exc)
        log.warning("file upload failed: %s", code, extra={"channel": request.channel})
        return Reply(
            ReplyKind.ERROR,
            f"I could not upload {attachment.filename}: {describe_slack_error(code)}",
        )
    return Reply(
        ReplyKind.INFO, f"Uploaded {attachment.filename} to this channel.", title=reply.title
    )


def register_listeners(bot: SlackBot) -> None:
    app = bot.app
    commands = bot.commands
    admins_only = bot.settings.slack_admins_only

    @app.command("/papers")
    async def on_papers(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        # Ack before any work: Slack shows an error after 3 s without it.
        await ack()
        command = commands.parse(normalise(body.get("text")))
        can_manage = command.needs_manage and await user_can_manage(
            client, str(body.get("user_id") or ""), admins_only=admins_only
        )
        request = command_request(body, command=command, can_manage=can_manage)
        reply = await upload_attachment(client, request, await commands.dispatch(request))
        log.info(
            "slack command %s -> %s",
            command.label,
            reply.kind.value,
            extra={"platform": "slack", "command": command.label},
        )
        message = render_reply(reply, paging=True, share=not request.is_direct_message)
        await send_response(
            respond, message, response_type="ephemeral" if reply.ephemeral else "in_channel"
        )

    async def on_page(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        action = (body.get("actions") or [{}])[0]
        state = decode_button(action.get("value"))
        if state is None or state.command not in {"search", "similar"}:
            await send_response(
                respond,
                _error_reply("That button has expired. Run the search again."),
                replace_original=False,
            )
            return
        command = replay(state.command, state.query)
        request = action_request(body, command=command, offset=state.offset)
        reply = await commands.dispatch(request)
        message = render_reply(reply, paging=True, share=not request.is_direct_message)
        await send_response(respond, message, replace_original=True)

    app.action(ACTION_NEXT)(on_page)
    app.action(ACTION_PREVIOUS)(on_page)

    @app.action(ACTION_SHARE)
    async def on_share(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        action = (body.get("actions") or [{}])[0]
        state = decode_button(action.get("value"))
        if state is None:
            await send_response(
                respond, _error_reply("That button has expired."), replace_original=False
            )
            return
        command = replay(state.command, state.query, state.count)
        request = action_request(body, command=command, offset=state.offset)
        reply = await commands.dispatch(request)
        message = render_reply(reply, paging=False, share=False, shared_by=request.user)
        try:
            await client.chat_postMessage(
                channel=request.channel,
                text=message.text,
                blocks=message.block_dicts(),
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            code = slack_error_code(exc)
            log.warning("share to channel failed: %s", code, extra={"channel": request.channel})
            await send_response(
                respond, _error_reply(describe_slack_error(code)), replace_original=False
            )
            return
        await send_response(
            respond,
            SlackMessage(text="Shared to the channel."),
            replace_original=False,
        )

    @app.action(ACTION_SAVE)
    async def on_save(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """A card's Save button: the paper goes on this channel's reading list."""
        await ack()
        action = (body.get("actions") or [{}])[0]
        value = str(action.get("value") or "")
        if not value.isdigit():
            await send_response(
                respond, _error_reply("That button has expired."), replace_original=False
            )
            return
        request = action_request(body, command=Save(paper_key=int(value)))
        reply = await commands.dispatch(request)
        await send_response(
            respond, render_reply(reply, paging=False, share=False), replace_original=False
        )

    @app.action(ACTION_ALERTS_ALL)
    async def on_alerts_all(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """An alert summary's "Show all": every paper of it, to the person who clicked.

        `response_type` is explicit: Slack documents `ephemeral` as the default only for
        slash-command responses, and the summary itself is an ordinary channel message.
        """
        await ack()
        value = str(((body.get("actions") or [{}])[0]).get("value") or "")
        if not value.isdigit():
            message = _error_reply("That button has expired.")
        else:
            request = action_request(body, command=AlertMatches(delivery_id=int(value)))
            reply = await commands.dispatch(request)
            message = render_reply(reply, paging=False, share=False)
        await send_response(respond, message, response_type="ephemeral", replace_original=False)

    async def on_card_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """A card's "More like this" button, or its "⋯" menu (Save / More like this)."""
        await ack()
        action = (body.get("actions") or [{}])[0]
        option = action.get("selected_option") or {}
        command = card_action_command(action.get("value") or option.get("value"))
        reply, share = Reply(ReplyKind.ERROR, "That button has expired."), False
        if command is not None:
            request = action_request(body, command=command)
            reply, share = await commands.dispatch(request), not request.is_direct_message
        message = render_reply(reply, paging=True, share=share)
        await send_response(respond, message, replace_original=False)

    app.action(ACTION_SIMILAR)(on_card_button)
    app.action(ACTION_CARD_MENU)(on_card_button)
    # Channel taste (issue 13): 👍/👎 buttons, reactions, forgetting votes on uninstall.
    register_taste_listeners(bot)

    @app.event("app_mention")
    async def on_mention(
        event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        team = body.get("team_id") or event.get("team")
        command = commands.parse(mention_text(event))
        can_manage = command.needs_manage and await user_can_manage(
            client, str(event.get("user") or ""), admins_only=admins_only
        )
        request = mention_request(event, team_id=team, command=command, can_manage=can_manage)
        reply = await upload_attachment(client, request, await commands.dispatch(request))
        message = render_reply(reply, paging=False, share=False)
        thread = event.get("thread_ts") or event.get("ts")
        try:
            await client.chat_postMessage(
                channel=request.channel,
                thread_ts=thread,
                text=message.text,
                blocks=message.block_dicts(),
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            code = slack_error_code(exc)
            log.warning(
                "reply to mention failed: %s (%s)",
                code,
                describe_slack_error(code),
                extra={"channel": request.channel},
            )

    @app.event("link_shared")
    async def on_link_shared(
        event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """Paper links get their card, fetched from arXiv if need be, and the channel's
        memory of who shared the paper first (links still in the composer are not shares)."""
        composer = bool(event.get("unfurl_id")) and event.get("source") == "composer"
        channel = ChannelRef(
            Platform.SLACK,
            str(event.get("channel") or ""),
            body.get("team_id") or event.get("team") or None,
        )
        unfurls: dict[str, Any] = {}
        for item in (event.get("links") or [])[:MAX_UNFURLS]:
            url = str(item.get("url") or "")
            if not url:
                continue
            cards = await asyncio.to_thread(
                commands.link_cards,
                url,
                channel=channel,
                user=str(event.get("user") or ""),
                remember=not composer,
                limit=1,
            )
            if cards:
                unfurls[url] = render_unfurl(cards[0][1])
        if not unfurls:
            return
        kwargs: dict[str, Any] = {"unfurls": unfurls}
        if composer:
            # Links typed in the composer have no message yet; Slack identifies them so.
            kwargs.update(unfurl_id=event["unfurl_id"], source="composer")
        else:
            kwargs.update(channel=event.get("channel"), ts=event.get("message_ts"))
        try:
            await client.chat_unfurl(**kwargs)
        except SlackApiError as exc:
            code = slack_error_code(exc)
            log.warning("chat.unfurl failed: %s (%s)", code, describe_slack_error(code))

    @app.event("message")
    async def ignore_messages() -> None:
        # channels:history delivers message events we do not act on; ack them quietly.
        return None

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        kind = body.get("type") or body.get("command") or "request"
        if isinstance(error, SlackApiError):
            code = slack_error_code(error)
            log.error(
                "Slack API error while handling %s: %s (%s)", kind, code, describe_slack_error(code)
            )
        else:
            log.error(
                "error while handling Slack %s: %s", kind, type(error).__name__, exc_info=error
            )
