"""The app manifest matches what the code needs: command, scopes, events, URLs."""

from __future__ import annotations

from pathlib import Path

import yaml

from adapters.slack.app import BOT_SCOPES

MANIFEST = Path(__file__).resolve().parents[3] / "deploy" / "slack-manifest.yaml"


def test_manifest_declares_what_the_app_uses() -> None:
    data = yaml.safe_load(MANIFEST.read_text())
    assert data["oauth_config"]["scopes"]["bot"] == BOT_SCOPES
    (command,) = data["features"]["slash_commands"]
    assert command["command"] == "/papers"
    assert command["url"].endswith("/slack/events")
    settings = data["settings"]
    # Channel taste (issue 13) adds the reactions and the uninstall events.
    assert set(settings["event_subscriptions"]["bot_events"]) == {
        "app_mention",
        "link_shared",
        "reaction_added",
        "reaction_removed",
        "app_uninstalled",
        "tokens_revoked",
    }
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"].endswith("/slack/events")
    assert set(data["features"]["unfurl_domains"]) == {
        "arxiv.org",
        "huggingface.co",
        "hf.co",
        "alphaxiv.org",
        "aclanthology.org",
        "openreview.net",
    }
    assert data["oauth_config"]["redirect_urls"][0].endswith("/slack/oauth_redirect")
