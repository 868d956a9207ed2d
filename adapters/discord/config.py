"""The slice of the configuration the Discord adapter reads.

`bot.settings.Settings` satisfies it; the adapter depends on these fields only, so a test
or another runtime can hand it any object that has them.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import SecretStr


class DiscordSettings(Protocol):
    @property
    def discord_token(self) -> SecretStr | None: ...

    @property
    def discord_api_url(self) -> str: ...

    @property
    def discord_gateway_url(self) -> str | None: ...

    @property
    def discord_shards(self) -> str | None: ...

    @property
    def discord_enabled(self) -> bool: ...
