"""Reads the configuration: the one place that constructs `Settings` from the environment."""

from __future__ import annotations

from typing import Any

from bot.settings import Settings


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and `.env`, with keyword overrides (by alias)."""
    return Settings(**overrides)
