"""Hostile paper fields never become links on either platform (same values, two renderers)."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from adapters.discord.embeds import render_reply as discord_render
from adapters.slack.blocks import render_reply as slack_render
from bot.models import Paper, PaperCard, Reply, ReplyKind
from bot.text import safe_url

NITRO = "https://github.com/a/b) · [Free Nitro](https://evil.example/nitro"
HOSTILE = Paper(
    key=1,
    paper_id="P19-1001) [Prize](https://evil.example/prize",
    title="[Free Nitro](https://evil.example/t) <!channel> *bold*",
    abstract="Click [here](https://evil.example/a) <https://evil.example/s|here>",
    authors=("[Eve](https://evil.example/e)",),
    published=date(2026, 11, 1),
    github_repo=NITRO,
    project_page="javascript:alert(1)",
    organization="<!here>",
)
GOOD = Paper(
    key=2,
    paper_id="2411.00001",
    title="A fine paper",
    github_repo="owner/repo",
    project_page="https://example.org/project?x=1#top",
)


def _reply() -> Reply:
    return Reply(
        ReplyKind.SEARCH, "Results", cards=(PaperCard(HOSTILE, 1.0, 1), PaperCard(GOOD, 0.9, 2))
    )


def test_discord_renders_no_forged_link() -> None:
    embeds = [e.to_dict() for m in discord_render(_reply()) for e in m.embeds]
    text = "\n".join(
        [e.get("description", "") for e in embeds]
        + [f["value"] for e in embeds for f in e.get("fields", [])]
    )
    # No masked link (`[label](url)` with an unescaped `[`) points at the attacker, and
    # no embed url does; an escaped `\[` shows the text literally.
    assert not re.search(r"(?<!\\)\[[^\]]*\]\(https?://evil", text)
    assert not any(str(e.get("url", "")).startswith("https://evil") for e in embeds)
    assert "evil" not in "".join(f["value"] for e in embeds for f in e.get("fields", []))
    assert "[Code](https://github.com/owner/repo)" in text
    assert "[Project](https://example.org/project?x=1#top)" in text


def test_slack_renders_no_forged_link() -> None:
    message = slack_render(_reply(), paging=False, share=False)
    text = json.dumps([b.to_dict() for b in message.blocks])
    assert not re.search(r"<https?://evil", text)
    assert "<!channel>" not in text and "<!here>" not in text
    assert "<https://github.com/owner/repo|" in text


@pytest.mark.parametrize(
    "url",
    [
        NITRO,
        "javascript:alert(1)",
        "https://evil.example/a b",
        "https://x.example/a|b",
        "https://x.example/<b>",
        "https:///nohost",
        "http://" + "a" * 3000,
        "https://x.example/a`b",
    ],
)
def test_shared_validator_refuses(url: str) -> None:
    assert safe_url(url) is None


@pytest.mark.parametrize(
    "url",
    ["https://github.com/a/b", "http://example.org:8080/x?y=1&z=2#f", "owner/name"],
)
def test_shared_validator_keeps(url: str) -> None:
    assert safe_url(url) is not None
