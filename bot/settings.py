"""Configuration from the environment and `.env`, validated once at start.

Only the composition root (`bot.app`) and the CLI build a `Settings`; nothing else reads
environment variables. Secrets are `SecretStr`, so they never show up in reprs or logs.
"""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite:///papers-bot.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    database_url: str = Field(default=DEFAULT_DATABASE_URL, alias="DATABASE_URL")

    slack_bot_token: SecretStr | None = Field(default=None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(default=None, alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", alias="SLACK_API_URL")
    slack_client_id: str | None = Field(default=None, alias="SLACK_CLIENT_ID")
    slack_client_secret: SecretStr | None = Field(default=None, alias="SLACK_CLIENT_SECRET")
    slack_state_secret: SecretStr | None = Field(default=None, alias="SLACK_STATE_SECRET")
    slack_admins_only: bool = Field(default=False, alias="PAPERS_SLACK_ADMINS_ONLY")
    # Fernet key (urlsafe base64, 32 bytes) that encrypts stored OAuth tokens at rest.
    token_encryption_key: SecretStr | None = Field(default=None, alias="PAPERS_ENCRYPTION_KEY")

    discord_token: SecretStr | None = Field(default=None, alias="DISCORD_TOKEN")
    discord_api_url: str = Field(default="https://discord.com/api/v10", alias="DISCORD_API_URL")
    discord_gateway_url: str | None = Field(default=None, alias="DISCORD_GATEWAY_URL")
    discord_shards: str | None = Field(default=None, alias="DISCORD_SHARDS")

    timezone: str = Field(default="UTC", alias="PAPERS_TIMEZONE")
    log_level: str = Field(default="INFO", alias="PAPERS_LOG_LEVEL")
    log_format: Literal["auto", "json", "text"] = Field(default="auto", alias="PAPERS_LOG_FORMAT")

    hf_api_url: str = Field(default="https://huggingface.co/api", alias="PAPERS_HF_API_URL")
    arxiv_api_url: str = Field(
        default="https://export.arxiv.org/api/query", alias="PAPERS_ARXIV_API_URL"
    )
    ingest_hf_cron: str = Field(default="0 * * * *", alias="PAPERS_INGEST_HF_CRON")
    ingest_arxiv_cron: str = Field(default="30 6 * * *", alias="PAPERS_INGEST_ARXIV_CRON")
    ingest_arxiv_categories: str = Field(
        default="cs.LG,cs.CL,cs.CV,cs.AI", alias="PAPERS_INGEST_ARXIV_CATEGORIES"
    )

    max_query_length: int = Field(default=256, alias="PAPERS_MAX_QUERY_LENGTH", ge=16)
    page_size: int = Field(default=5, alias="PAPERS_PAGE_SIZE", ge=1, le=10)
    http_port: int = Field(default=3000, alias="PORT", ge=1, le=65535)

    @field_validator("database_url")
    @classmethod
    def _valid_database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"DATABASE_URL is not a valid SQLAlchemy URL: {exc}") from exc
        if url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ValueError(
                f"DATABASE_URL uses {url.get_backend_name()!r}; supported are sqlite and postgresql"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"PAPERS_TIMEZONE {value!r} is not an IANA timezone") from exc
        return value

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None or self.slack_client_id is not None

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
            self.slack_state_secret,
            self.token_encryption_key,
            self.discord_token,
        ]
        return [s.get_secret_value() for s in secrets if s is not None and s.get_secret_value()]
