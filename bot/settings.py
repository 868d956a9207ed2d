"""Configuration from the environment and `.env`, validated once at start.

Only the composition root (`runtime.settings.load_settings`) builds a `Settings`; nothing
else reads environment variables. Secrets are `SecretStr`, so they never show up in reprs or logs.

Validation happens here, before anything connects anywhere, so a misconfigured
deployment fails at start with one clear line naming the variable, instead of later
with a stack trace from the first request that needs it.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Self
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///papers-bot.db"


def _invalid(message: str) -> PydanticCustomError:
    # A custom error keeps the message as written: no "Value error, " prefix in the one
    # line the CLI prints.
    return PydanticCustomError("invalid_setting", message)


# SQLAlchemy's own URL grammar (sqlalchemy.engine.url._parse_url), so the core can check
# DATABASE_URL without importing SQLAlchemy; storage parses it for real with make_url.
_DATABASE_URL = re.compile(
    r"""
    (?P<name>[\w\+]+)://
    (?:(?P<username>[^:/]*)(?::(?P<password>[^@]*))?@)?
    (?:(?:\[(?P<ipv6host>[^/\?]+)\]|(?P<ipv4host>[^/:\?]+))?(?::(?P<port>[^/\?]*))?)?
    (?:/(?P<database>[^\?]*))?
    (?:\?(?P<query>.*))?
    """,
    re.X,
)


@dataclass(frozen=True)
class DatabaseUrlParts:
    backend: str
    database: str | None
    password: str | None


def parse_database_url(value: str) -> DatabaseUrlParts:
    """The parts of a SQLAlchemy URL that validation needs; ValueError if it is not one."""
    match = _DATABASE_URL.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"Could not parse SQLAlchemy URL from string {value!r}")
    password = match["password"]
    return DatabaseUrlParts(
        backend=match["name"].split("+", 1)[0],
        database=match["database"] or None,
        password=unquote(password) if password else None,
    )


_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
_SHARDS = re.compile(r"^(auto|[1-9][0-9]{0,4})$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        # Validation errors must not echo inputs: a malformed value may still be a secret.
        hide_input_in_errors=True,
    )

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        alias="DATABASE_URL",
        description="SQLAlchemy URL: SQLite (a local file) or PostgreSQL (needed for replicas).",
    )

    slack_bot_token: SecretStr | None = Field(
        default=None,
        alias="SLACK_BOT_TOKEN",
        description="Slack bot token (xoxb-…) for a single-workspace install. Enables Slack.",
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        alias="SLACK_SIGNING_SECRET",
        description="Slack signing secret; verifies /slack/events requests. Required in HTTP mode.",
    )
    slack_app_token: SecretStr | None = Field(
        default=None,
        alias="SLACK_APP_TOKEN",
        description="Slack app-level token (xapp-…); when set, Slack runs in Socket Mode.",
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        alias="SLACK_API_URL",
        description="Slack Web API base URL (for proxies and test fakes).",
    )
    slack_client_id: str | None = Field(
        default=None,
        alias="SLACK_CLIENT_ID",
        description="Slack OAuth client id for multi-workspace installs (/slack/install).",
    )
    slack_client_secret: SecretStr | None = Field(
        default=None,
        alias="SLACK_CLIENT_SECRET",
        description="Slack OAuth client secret. Needs SLACK_CLIENT_ID.",
    )
    slack_admins_only: bool = Field(
        default=False,
        alias="PAPERS_SLACK_ADMINS_ONLY",
        description="If true, only workspace admins may change Slack subscriptions.",
    )
    # Fernet key (urlsafe base64, 32 bytes) that encrypts stored OAuth tokens at rest.
    token_encryption_key: SecretStr | None = Field(
        default=None,
        alias="PAPERS_ENCRYPTION_KEY",
        description="Fernet key that encrypts stored OAuth tokens at rest.",
    )

    discord_token: SecretStr | None = Field(
        default=None, alias="DISCORD_TOKEN", description="Discord bot token. Enables Discord."
    )
    discord_api_url: str = Field(
        default="https://discord.com/api/v10",
        alias="DISCORD_API_URL",
        description="Discord REST API base URL (for proxies and test fakes).",
    )
    discord_gateway_url: str | None = Field(
        default=None,
        alias="DISCORD_GATEWAY_URL",
        description="Discord gateway WebSocket URL; unset uses discord.py's default.",
    )
    discord_shards: str | None = Field(
        default=None,
        alias="DISCORD_SHARDS",
        description="Discord shards: unset for one, 'auto' for Discord's advice, or a number.",
    )

    timezone: str = Field(
        default="UTC",
        alias="PAPERS_TIMEZONE",
        description="Default IANA timezone for new subscriptions that name none.",
    )
    log_level: str = Field(
        default="INFO",
        alias="PAPERS_LOG_LEVEL",
        description="Log level: DEBUG, INFO, WARNING, ERROR or CRITICAL.",
    )
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto",
        alias="PAPERS_LOG_FORMAT",
        description="Log format: auto (JSON unless stdout is a terminal), json or text.",
    )

    hf_api_url: str = Field(
        default="https://huggingface.co/api",
        alias="PAPERS_HF_API_URL",
        description="Hugging Face API base URL for the daily-papers fetcher.",
    )
    arxiv_api_url: str = Field(
        default="https://export.arxiv.org/api/query",
        alias="PAPERS_ARXIV_API_URL",
        description="arXiv API query URL for the Atom fetcher.",
    )
    ingest_hf_cron: str = Field(
        default="0 * * * *",
        alias="PAPERS_INGEST_HF_CRON",
        description="Crontab (UTC) for fetching Hugging Face daily papers while serving.",
    )
    ingest_arxiv_cron: str = Field(
        default="30 6 * * *",
        alias="PAPERS_INGEST_ARXIV_CRON",
        description="Crontab (UTC) for fetching new arXiv listings while serving.",
    )
    ingest_max_file_bytes: int = Field(
        default=2 << 30,
        gt=0,
        alias="PAPERS_INGEST_MAX_FILE_BYTES",
        description="Largest decompressed ingest file, in bytes; larger files are refused.",
    )
    ingest_max_record_bytes: int = Field(
        default=1 << 20,
        gt=0,
        alias="PAPERS_INGEST_MAX_RECORD_BYTES",
        description="Largest single record (JSON Lines line or one paper's text), in bytes.",
    )
    ingest_arxiv_categories: str = Field(
        default="cs.LG,cs.CL,cs.CV,cs.AI",
        alias="PAPERS_INGEST_ARXIV_CATEGORIES",
        description="Comma-separated arXiv categories the arXiv fetcher follows.",
    )

    max_query_length: int = Field(
        default=256,
        alias="PAPERS_MAX_QUERY_LENGTH",
        description="Longest search query kept, in characters (at least 16); longer ones are cut.",
        ge=16,
    )
    search_index_dir: str | None = Field(
        default=None,
        alias="PAPERS_SEARCH_INDEX_DIR",
        description="Directory of the persisted search index; unset: beside a SQLite "
        "database file (papers-bot.db -> papers-bot.index), else papers-bot.index in the "
        "working directory.",
    )
    index_poll_seconds: float = Field(
        default=5.0,
        alias="PAPERS_INDEX_POLL_SECONDS",
        gt=0,
        description="How often a serving bot checks the database for changes to index.",
    )
    page_size: int = Field(
        default=5,
        alias="PAPERS_PAGE_SIZE",
        description="Search results per page (1–10).",
        ge=1,
        le=10,
    )
    http_port: int = Field(
        default=3000,
        alias="PORT",
        description="Port of the Slack HTTP server (/slack/events); `serve --port` overrides it.",
        ge=1,
        le=65535,
    )
    # The interface the HTTP servers (Slack events, ops endpoints) bind to. Loopback by
    # default, so /metrics is not open to the network on a bare host; the container image,
    # compose and k8s set 0.0.0.0 because probes and Slack reach the pod from outside.
    http_host: str = Field(
        default="127.0.0.1",
        alias="PAPERS_HTTP_HOST",
        description="Interface the HTTP servers bind to (0.0.0.0 for every interface).",
    )
    # Port of the standalone /healthz, /readyz and /metrics server used in Discord and
    # console modes (Slack HTTP mode serves them on PORT as well). 0 turns it off.
    metrics_port: int = Field(
        default=9100,
        alias="PAPERS_METRICS_PORT",
        description="Port of the ops server (/healthz, /readyz, /metrics); 0 turns it off.",
        ge=0,
        le=65535,
    )

    digest_tick_seconds: float = Field(
        default=60,
        alias="PAPERS_DIGEST_TICK_SECONDS",
        description="Seconds between two digest clock ticks of `serve` (1–3600).",
        ge=1,
        le=3600,
    )
    shutdown_grace_seconds: float = Field(
        default=5,
        alias="PAPERS_SHUTDOWN_GRACE_SECONDS",
        description="On SIGTERM, how long digest posts in flight may take to finish (0–60 s).",
        ge=0,
        le=60,
    )

    @field_validator(
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "slack_client_id",
        "slack_client_secret",
        "token_encryption_key",
        "discord_token",
        "discord_gateway_url",
        "discord_shards",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # compose and k8s pass `VAR=` for optional values; that means "not configured".
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, SecretStr) and not value.get_secret_value().strip():
            return None
        return value

    @field_validator("database_url")
    @classmethod
    def _valid_database_url(cls, value: str) -> str:
        try:
            url = parse_database_url(value)
        except ValueError as exc:
            raise _invalid(f"DATABASE_URL is not a valid SQLAlchemy URL: {exc}") from exc
        backend = url.backend
        if backend not in {"sqlite", "postgresql"}:
            raise _invalid(f"DATABASE_URL uses {backend!r}; supported are sqlite and postgresql")
        if backend == "sqlite" and url.database and url.database != ":memory:":
            # SQLite would only say "unable to open database file" on the first query.
            parent = Path(url.database).expanduser().parent
            if not parent.is_dir():
                raise _invalid(
                    f"DATABASE_URL points to a SQLite file in {str(parent)!r}, "
                    "which is not an existing directory"
                )
        if backend == "postgresql" and not url.database:
            raise _invalid("DATABASE_URL for PostgreSQL must name a database")
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise _invalid(f"PAPERS_TIMEZONE {value!r} is not an IANA timezone") from exc
        return value

    @field_validator("log_level")
    @classmethod
    def _valid_log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in _LOG_LEVELS:
            raise _invalid(f"PAPERS_LOG_LEVEL {value!r} is not one of {', '.join(_LOG_LEVELS)}")
        return level

    @field_validator("ingest_hf_cron", "ingest_arxiv_cron")
    @classmethod
    def _valid_cron(cls, value: str, info: ValidationInfo) -> str:
        name = cls.model_fields[info.field_name or ""].alias if info.field_name else "cron"
        # Imported here: most processes (a CLI search) never validate a crontab.
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value, timezone="UTC")
        except ValueError as exc:
            raise _invalid(
                f"{name} {value!r} is not a 5-field crontab expression "
                f"(minute hour day month weekday): {exc}"
            ) from exc
        return value

    @field_validator("token_encryption_key")
    @classmethod
    def _valid_fernet_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        from cryptography.fernet import Fernet  # only when a key is configured

        try:
            Fernet(value.get_secret_value().encode())
        except (ValueError, binascii.Error) as exc:
            # Never echo the value: it is a secret even when it is malformed.
            raise _invalid(
                "PAPERS_ENCRYPTION_KEY must be a Fernet key (32 bytes, url-safe base64); "
                'generate one with: python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"'
            ) from exc
        return value

    @field_validator("discord_shards")
    @classmethod
    def _valid_shards(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().lower()
        if not _SHARDS.match(value):
            raise _invalid(f"DISCORD_SHARDS {value!r} must be 'auto' or a positive number")
        return value

    @field_validator("slack_api_url", "discord_api_url", "hf_api_url", "arxiv_api_url")
    @classmethod
    def _valid_http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise _invalid(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("discord_gateway_url")
    @classmethod
    def _valid_ws_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not re.match(r"^wss?://[^/\s]+", value):
            raise _invalid(f"DISCORD_GATEWAY_URL {value!r} is not a ws:// or wss:// URL")
        return value

    @model_validator(mode="after")
    def _consistent_platforms(self) -> Self:
        if self.slack_client_id and self.slack_client_secret is None:
            raise _invalid(
                "SLACK_CLIENT_ID is set but SLACK_CLIENT_SECRET is not; OAuth installs need both"
            )
        if self.slack_client_secret is not None and not self.slack_client_id:
            raise _invalid("SLACK_CLIENT_SECRET is set but SLACK_CLIENT_ID is not")
        if self.slack_enabled and (missing := self.slack_missing()):
            # Without a signing secret every request to /slack/events would be rejected;
            # without the key, OAuth installs could not be stored.
            raise _invalid("Slack is configured but also needs " + ", ".join(missing))
        return self

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None or self.slack_client_id is not None

    def slack_missing(self) -> list[str]:
        """Every setting Slack still needs, each with its alternative; empty if it can run."""
        missing = []
        if not self.slack_enabled:
            missing.append("SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for OAuth)")
        if self.slack_app_token is None and self.slack_signing_secret is None:
            missing.append("SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode)")
        if self.slack_client_id and self.token_encryption_key is None:
            missing.append(
                "PAPERS_ENCRYPTION_KEY (multi-workspace Slack encrypts the tokens it stores)"
            )
        return missing

    def discord_missing(self) -> list[str]:
        """The settings Discord still needs; empty if it can run."""
        return [] if self.discord_enabled else ["DISCORD_TOKEN"]

    @property
    def slack_socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def discord_enabled(self) -> bool:
        return self.discord_token is not None

    def secret_values(self) -> list[str]:
        """Every configured secret, so the log filter can redact them wherever they appear."""
        secrets = [
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
            self.slack_client_secret,
            self.token_encryption_key,
            self.discord_token,
        ]
        values = [s.get_secret_value() for s in secrets if s is not None and s.get_secret_value()]
        # A password embedded in DATABASE_URL is a secret too.
        password = parse_database_url(self.database_url).password
        if password:
            values.append(str(password))
        return values
