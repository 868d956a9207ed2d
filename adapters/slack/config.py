"""The slice of the configuration the Slack adapter reads.

`bot.settings.Settings` satisfies it; the adapter depends on these fields only, so a test
or another runtime can hand it any object that has them.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import SecretStr


class SlackSettings(Protocol):
    @property
    def slack_bot_token(self) -> SecretStr | None: ...

    @property
    def slack_signing_secret(self) -> SecretStr | None: ...

    @property
    def slack_app_token(self) -> SecretStr | None: ...

    @property
    def slack_api_url(self) -> str: ...

    @property
    def slack_client_id(self) -> str | None: ...

    @property
    def slack_client_secret(self) -> SecretStr | None: ...

    @property
    def slack_admins_only(self) -> bool: ...

    @property
    def token_encryption_key(self) -> SecretStr | None: ...

    @property
    def http_host(self) -> str: ...
