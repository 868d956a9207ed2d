"""Settings validation: every misconfiguration fails at start with one clear message.

Each test builds `Settings` from keyword arguments only (no `.env`, a cleared
environment), so the developer's own environment cannot change the outcome.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from bot.settings import Settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, field in Settings.model_fields.items():
        monkeypatch.delenv(field.alias or name.upper(), raising=False)


def make(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def error_of(**values: Any) -> str:
    """The error as the CLI prints it: one line naming the variable and the problem."""
    with pytest.raises(ValidationError) as info:
        make(**values)
    parts = [
        f"{'.'.join(str(x) for x in err['loc']) or 'settings'}: {err['msg']}"
        for err in info.value.errors()
    ]
    return "configuration error: " + "; ".join(parts)


def test_defaults_are_valid() -> None:
    settings = make()
    assert settings.database_url == "sqlite:///papers-bot.db"
    assert settings.timezone == "UTC"
    assert not settings.slack_enabled
    assert not settings.discord_enabled
    assert settings.metrics_port == 9100


def test_reads_aliases_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERS_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("PAPERS_METRICS_PORT", "0")
    monkeypatch.setenv("PAPERS_LOG_LEVEL", "debug")
    settings = make()
    assert settings.timezone == "Europe/Berlin"
    assert settings.metrics_port == 0
    assert settings.log_level == "DEBUG"


def test_reads_dotenv_file(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("PAPERS_TIMEZONE=Asia/Tokyo\nDISCORD_SHARDS=auto\n")
    settings = Settings(_env_file=env)  # type: ignore[call-arg]
    assert settings.timezone == "Asia/Tokyo"
    assert settings.discord_shards == "auto"


def test_slack_bot_token_in_http_mode_needs_signing_secret() -> None:
    line = error_of(SLACK_BOT_TOKEN="xoxb-1-2-abc")
    assert line.startswith("configuration error:")
    assert "SLACK_SIGNING_SECRET" in line
    assert "SLACK_APP_TOKEN" in line
    assert "\n" not in line


def test_slack_socket_mode_needs_no_signing_secret() -> None:
    settings = make(SLACK_BOT_TOKEN="xoxb-1-2-abc", SLACK_APP_TOKEN="xapp-1-abc")
    assert settings.slack_enabled and settings.slack_socket_mode


def test_slack_http_mode_with_signing_secret_is_valid() -> None:
    settings = make(SLACK_BOT_TOKEN="xoxb-1-2-abc", SLACK_SIGNING_SECRET="s3cr3t-signing")
    assert settings.slack_enabled and not settings.slack_socket_mode


def test_empty_values_mean_unset() -> None:
    # compose passes `SLACK_BOT_TOKEN=` when the variable is empty in .env.
    settings = make(SLACK_BOT_TOKEN="", DISCORD_TOKEN=" ", PAPERS_ENCRYPTION_KEY="")
    assert not settings.slack_enabled
    assert not settings.discord_enabled
    assert settings.token_encryption_key is None


def test_client_id_without_secret() -> None:
    line = error_of(SLACK_CLIENT_ID="123.456", SLACK_SIGNING_SECRET="sig")
    assert "SLACK_CLIENT_SECRET" in line


def test_client_secret_without_id() -> None:
    assert "SLACK_CLIENT_ID" in error_of(SLACK_CLIENT_SECRET="abc", SLACK_SIGNING_SECRET="sig")


def test_oauth_install_also_needs_signing_secret() -> None:
    line = error_of(SLACK_CLIENT_ID="123.456", SLACK_CLIENT_SECRET="abcdef")
    assert "SLACK_SIGNING_SECRET" in line


def test_oauth_names_every_missing_setting_at_once() -> None:
    line = error_of(SLACK_CLIENT_ID="123.456", SLACK_CLIENT_SECRET="abcdef")
    assert "SLACK_SIGNING_SECRET" in line and "PAPERS_ENCRYPTION_KEY" in line
    assert "\n" not in line


def test_oauth_needs_the_encryption_key() -> None:
    line = error_of(SLACK_CLIENT_ID="1.2", SLACK_CLIENT_SECRET="c", SLACK_SIGNING_SECRET="s")
    assert "PAPERS_ENCRYPTION_KEY" in line


def test_slack_state_secret_is_not_a_setting() -> None:
    # Bolt's OAuth state is a random one-time value in the database; nothing signs it.
    assert "SLACK_STATE_SECRET" not in {f.alias for f in Settings.model_fields.values()}


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("not a url", "not a valid SQLAlchemy URL"),
        ("mysql://u@h/db", "'mysql'"),
        ("postgresql://user@localhost", "must name a database"),
        ("sqlite:////no/such/directory/papers.db", "not an existing directory"),
    ],
)
def test_bad_database_url(url: str, needle: str) -> None:
    line = error_of(DATABASE_URL=url)
    assert "DATABASE_URL" in line
    assert needle in line


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///papers-bot.db",
        "sqlite://",
        "sqlite:///:memory:",
        "postgresql://bot:pw@db:5432/papers",
        "postgresql+psycopg://bot@db/papers",
    ],
)
def test_good_database_urls(url: str) -> None:
    assert make(DATABASE_URL=url).database_url == url


def test_unknown_timezone() -> None:
    line = error_of(PAPERS_TIMEZONE="Mars/Olympus_Mons")
    assert "PAPERS_TIMEZONE" in line and "IANA" in line


def test_malformed_encryption_key_is_not_echoed() -> None:
    line = error_of(PAPERS_ENCRYPTION_KEY="definitely-not-a-fernet-key")
    assert "Fernet" in line
    assert "definitely-not-a-fernet-key" not in line
    with pytest.raises(ValidationError) as info:
        make(PAPERS_ENCRYPTION_KEY="definitely-not-a-fernet-key")
    assert "definitely-not-a-fernet-key" not in str(info.value)


def test_valid_encryption_key() -> None:
    key = Fernet.generate_key().decode()
    settings = make(PAPERS_ENCRYPTION_KEY=key)
    assert settings.token_encryption_key is not None
    assert key in settings.secret_values()


@pytest.mark.parametrize("alias", ["PAPERS_INGEST_HF_CRON", "PAPERS_INGEST_ARXIV_CRON"])
@pytest.mark.parametrize("expr", ["61 * * * *", "every hour", "* * *", "0 0 31 2 * *"])
def test_bad_cron(alias: str, expr: str) -> None:
    line = error_of(**{alias: expr})
    assert alias in line
    assert "crontab" in line


def test_good_cron() -> None:
    settings = make(
        PAPERS_INGEST_HF_CRON="*/15 * * * *", PAPERS_INGEST_ARXIV_CRON="0 7 * * mon-fri"
    )
    assert settings.ingest_hf_cron == "*/15 * * * *"


@pytest.mark.parametrize(
    ("values", "needle"),
    [
        ({"PAPERS_LOG_LEVEL": "chatty"}, "PAPERS_LOG_LEVEL"),
        ({"PAPERS_LOG_FORMAT": "xml"}, "PAPERS_LOG_FORMAT"),
        ({"DISCORD_SHARDS": "many"}, "DISCORD_SHARDS"),
        ({"DISCORD_GATEWAY_URL": "http://gw"}, "DISCORD_GATEWAY_URL"),
        ({"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL"),
        ({"PORT": "0"}, "PORT"),
        ({"PAPERS_METRICS_PORT": "70000"}, "PAPERS_METRICS_PORT"),
        ({"PAPERS_PAGE_SIZE": "50"}, "PAPERS_PAGE_SIZE"),
    ],
)
def test_other_bad_values(values: dict[str, str], needle: str) -> None:
    assert needle in error_of(**values)


def test_secrets_are_collected_and_hidden_from_repr() -> None:
    settings = make(
        SLACK_BOT_TOKEN="xoxb-1-2-secretbot",
        SLACK_SIGNING_SECRET="signing-secret-value",
        DISCORD_TOKEN="discord-secret-value",
        DATABASE_URL="postgresql://bot:pg-password@db/papers",
    )
    values = settings.secret_values()
    for secret in ("xoxb-1-2-secretbot", "signing-secret-value", "discord-secret-value"):
        assert secret in values
        assert secret not in repr(settings)
    assert "pg-password" in values


def test_aliases_are_unique_and_upper_case() -> None:
    aliases = [field.alias for field in Settings.model_fields.values()]
    assert all(alias and alias == alias.upper() for alias in aliases)
    assert len(aliases) == len(set(aliases))
