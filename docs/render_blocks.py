"""Render real Block Kit output of papers-bot as Slack-like HTML, and shoot it to PNG.

This makes the README pictures from the code that produces Slack messages, not from a
mock-up: papers from the recorded Hugging Face fixture (or the bundled seeds) are
ingested into a temporary SQLite database, the command core answers a real `/papers`
search, the trending ranking picks a digest, and `adapters.slack.blocks` renders both.
The resulting blocks JSON is turned into HTML that imitates Slack's message view, and
headless Chromium takes the screenshots.

    .venv/bin/python docs/render_blocks.py                  # docs/img/slack-*.png
    .venv/bin/python docs/render_blocks.py --html-only      # just the .html and .json
    .venv/bin/python docs/render_blocks.py --blocks msg.json --out preview.html

The HTML renderer (`message_html`) covers the blocks papers-bot sends: header, section
(mrkdwn text, fields), context, divider and actions with buttons.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
HF_FIXTURE = SHARED / "fixtures" / "hf_daily_papers_2024-10-25.json"
# The fixture's day, so "trending" and the digest show those papers as fresh.
AS_OF = date(2024, 10, 25)
SEARCH_QUERY = "hallucination"

_EMOJI = {":warning:": "⚠️", ":mag:": "🔍", ":fire:": "🔥", ":newspaper:": "📰"}
_CONTROL = re.compile(r"<([^<>]+)>")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])")
_CODE = re.compile(r"`([^`\n]+)`")


def _unslack(text: str) -> str:
    """Undo Slack's own escaping (& < > only), giving the literal characters."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _control_html(inner: str) -> str:
    """One `<…>` control sequence: a link, a user or channel mention, or a special."""
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return f'<span class="mention">@{html.escape(label or target[1:])}</span>'
    if target.startswith("#"):
        return f'<span class="mention">#{html.escape(label or target[1:])}</span>'
    if target.startswith("!"):
        return f'<span class="mention">@{html.escape(target[1:].split("^")[0])}</span>'
    shown = html.escape(_unslack(label or target))
    return f'<a href="{html.escape(target, quote=True)}">{shown}</a>'


def _inline(text: str) -> str:
    """mrkdwn of one line (Slack-escaped) to HTML."""
    links: list[str] = []

    def stash(match: re.Match[str]) -> str:
        links.append(_control_html(match.group(1)))
        return f"\x00{len(links) - 1}\x00"

    text = _CONTROL.sub(stash, text)
    text = html.escape(_unslack(text), quote=False)
    codes: list[str] = []

    def stash_code(match: re.Match[str]) -> str:
        codes.append(f"<code>{match.group(1)}</code>")
        return f"\x01{len(codes) - 1}\x01"

    text = _CODE.sub(stash_code, text)
    text = _BOLD.sub(r"<b>\1</b>", text)
    text = _ITALIC.sub(r"<i>\1</i>", text)
    text = _STRIKE.sub(r"<s>\1</s>", text)
    for code, emoji in _EMOJI.items():
        text = text.replace(code, emoji)
    text = re.sub("\x01(\\d+)\x01", lambda m: codes[int(m.group(1))], text)
    return re.sub("\x00(\\d+)\x00", lambda m: links[int(m.group(1))], text)


def mrkdwn_html(text: str) -> str:
    """Slack mrkdwn (already Slack-escaped, as the bot sends it) to an HTML fragment."""
    out: list[str] = []
    quote: list[str] = []
    for line in text.split("\n"):
        # A raw ">" opens a quote; a literal one in the text arrives escaped as "&gt;".
        if line.startswith(">"):
            quote.append(_inline(line[1:]))
            continue
        if quote:
            out.append(f"<blockquote>{'<br>'.join(quote)}</blockquote>")
            quote = []
        out.append(_inline(line) + "<br>")
    if quote:
        out.append(f"<blockquote>{'<br>'.join(quote)}</blockquote>")
    joined = "".join(out)
    return joined.removesuffix("<br>")


def _text_html(obj: dict[str, Any]) -> str:
    if obj.get("type") == "mrkdwn":
        return mrkdwn_html(str(obj.get("text", "")))
    return html.escape(str(obj.get("text", "")))


def _button_html(element: dict[str, Any]) -> str:
    style = element.get("style")
    css = "button primary" if style == "primary" else "button"
    return f'<span class="{css}">{_text_html(element["text"])}</span>'


def block_html(block: dict[str, Any]) -> str:
    kind = block.get("type")
    if kind == "header":
        return f'<div class="header">{_text_html(block["text"])}</div>'
    if kind == "divider":
        return '<hr class="divider">'
    if kind == "context":
        parts = []
        for element in block.get("elements", []):
            if element.get("type") == "image":
                alt = html.escape(str(element.get("alt_text", "")), quote=True)
                parts.append(f'<img class="ctx-img" src="{element["image_url"]}" alt="{alt}">')
            else:
                parts.append(f"<span>{_text_html(element)}</span>")
        return f'<div class="context">{"".join(parts)}</div>'
    if kind == "section":
        body = _text_html(block["text"]) if block.get("text") else ""
        fields = "".join(
            f'<div class="field">{_text_html(f)}</div>' for f in block.get("fields", [])
        )
        accessory = block.get("accessory")
        side = _button_html(accessory) if accessory and accessory.get("type") == "button" else ""
        fields_html = f'<div class="fields">{fields}</div>' if fields else ""
        return (
            f'<div class="section"><div class="section-body">{body}{fields_html}</div>'
            f'<div class="accessory">{side}</div></div>'
        )
    if kind == "actions":
        buttons = "".join(
            _button_html(e) for e in block.get("elements", []) if e.get("type") == "button"
        )
        return f'<div class="actions">{buttons}</div>'
    return f'<div class="unknown">[{html.escape(str(kind))} block]</div>'


CSS = """
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: #1d1c1d;
  font: 15px/1.46668 "Lato", "Helvetica Neue", "Liberation Sans", "DejaVu Sans", Arial, sans-serif;
  -webkit-font-smoothing: antialiased; }
.channel { border-bottom: 1px solid #e2e2e2; padding: 12px 20px; font-weight: 900;
  font-size: 18px; }
.channel small { font-weight: 400; color: #616061; font-size: 13px; margin-left: 8px; }
.composer-cmd { margin: 14px 20px 0; color: #616061; font-size: 13px; }
.composer-cmd code { color: #e01e5a; }
.message { display: flex; padding: 8px 20px 14px; }
.avatar { width: 36px; height: 36px; border-radius: 6px; flex: none; margin-right: 8px;
  background: linear-gradient(135deg, #4a154b, #1264a3); color: #fff; font-weight: 900;
  font-size: 15px; display: flex; align-items: center; justify-content: center; }
.content { flex: 1; min-width: 0; }
.meta { margin-bottom: 2px; }
.meta .name { font-weight: 900; }
.meta .badge { background: #e8e8e8; color: #616061; font-size: 10px; font-weight: 700;
  border-radius: 2px; padding: 1px 3px; margin-left: 4px; vertical-align: 2px; }
.meta .time { color: #616061; font-size: 12px; margin-left: 6px; }
.meta .only { color: #616061; font-size: 12px; margin-left: 6px; }
.header { font-size: 18px; font-weight: 900; line-height: 1.33; margin: 4px 0 6px; }
.section { display: flex; margin: 4px 0; }
.section-body { flex: 1; min-width: 0; overflow-wrap: anywhere; }
.accessory { margin-left: 12px; }
.fields { display: grid; grid-template-columns: 1fr 1fr; gap: 4px 16px; margin-top: 4px; }
.context { color: #616061; font-size: 13px; margin: 4px 0; }
.context span + span::before { content: " "; }
.divider { border: 0; border-top: 1px solid #dddddd; margin: 10px 0; }
.actions { margin: 8px 0 2px; display: flex; gap: 8px; flex-wrap: wrap; }
.button { display: inline-block; border: 1px solid #bbbabb; border-radius: 4px; padding: 0 12px;
  height: 28px; line-height: 26px; font-size: 13px; font-weight: 700; background: #fff; }
.button.primary { background: #007a5a; border-color: #007a5a; color: #fff; }
a { color: #1264a3; text-decoration: none; }
b a, a b { font-weight: 900; }
blockquote { margin: 4px 0; padding-left: 12px; border-left: 4px solid #dddddd; color: #1d1c1d; }
code { font-family: Monaco, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12px;
  color: #e01e5a; background: #f6f6f6; border: 1px solid #e2e2e2; border-radius: 3px;
  padding: 1px 3px; }
.mention { background: #e8f5fa; color: #1264a3; border-radius: 3px; padding: 0 2px; }
"""


def message_html(
    blocks: list[dict[str, Any]],
    *,
    channel: str = "papers",
    bot_name: str = "papers-bot",
    time_label: str = "9:00 AM",
    command: str | None = None,
    ephemeral: bool = False,
) -> str:
    """A whole page: channel header, optional slash command line, and the bot's message."""
    body = "\n".join(block_html(b) for b in blocks)
    typed = (
        f'<div class="composer-cmd">You ran <code>{html.escape(command)}</code></div>'
        if command
        else ""
    )
    only = '<span class="only">Only visible to you</span>' if ephemeral else ""
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(bot_name)} preview</title>
<style>{CSS}</style></head>
<body>
<div class="channel">#{html.escape(channel)}
  <small>Slack preview rendered from Block Kit JSON</small></div>
{typed}
<div class="message">
  <div class="avatar">PB</div>
  <div class="content">
    <div class="meta"><span class="name">{html.escape(bot_name)}</span>
      <span class="badge">APP</span><span class="time">{html.escape(time_label)}</span>{only}
    </div>
{body}
  </div>
</div>
</body></html>
"""


# --- real data through the real code ----------------------------------------------------


def build_examples(workdir: Path) -> dict[str, dict[str, Any]]:
    """Blocks of a search reply and of a digest, produced by the bot's own code."""
    sys.path.insert(0, str(REPO))
    from adapters.slack.blocks import render_digest, render_reply
    from bot.commands.parser import parse
    from bot.digests.delivery import MORE_URL, digest_title
    from bot.ingest.service import ingest_file, ingest_seeds
    from bot.models import ChannelRef, CommandRequest, Digest, Platform
    from bot.settings import Settings
    from bot.trending.score import TrendingQuery, top_trending
    from runtime.core import build_core
    from storage.db import Database

    url = f"sqlite:///{workdir / 'papers.db'}"
    now = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 9, 0, tzinfo=UTC)
    database = Database(url)
    database.upgrade()
    if HF_FIXTURE.exists():
        # One real day of Hugging Face daily papers: ids, authors, upvotes, links.
        ingest_file(database.uow, HF_FIXTURE, as_of=AS_OF, now=now)
    else:
        ingest_seeds(database.uow, as_of=AS_OF, now=now)
    database.dispose()

    settings = Settings(_env_file=None, DATABASE_URL=url)  # type: ignore[call-arg]
    core = build_core(settings, upgrade=False)
    core.commands.clock = lambda: now
    request = CommandRequest(
        Platform.SLACK, "C0PAPERS", "U0ALICE", parse(f"search {SEARCH_QUERY}"), "T0TEAM"
    )
    reply = core.commands.handle(request)
    search = render_reply(reply)
    with core.db.uow() as uow:
        cards = top_trending(uow, TrendingQuery(now=now, days=3, limit=5)).cards
    digest = Digest(
        delivery_id=1,
        channel=ChannelRef(Platform.SLACK, "C0PAPERS", "T0TEAM"),
        digest_date=AS_OF,
        cards=tuple(cards),
        title=digest_title(AS_OF),
        more_url=MORE_URL,
    )
    rendered = render_digest(digest)
    core.db.dispose()
    return {
        "slack-search": {
            "blocks": search.block_dicts(),
            "command": f"/papers search {SEARCH_QUERY}",
            "ephemeral": True,
            "time": "10:42 AM",
        },
        "slack-digest": {"blocks": rendered.block_dicts(), "command": None, "time": "9:00 AM"},
    }


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(html_path: Path, png_path: Path, *, width: int = 900, height: int = 2400) -> None:
    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("chromium not found: apt-get install -y chromium (or use --html-only)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--screenshot={png_path}",
                f"--window-size={width},{height}",
                html_path.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    trim(png_path)


def trim(png_path: Path, *, margin: int = 16) -> None:
    """Cut the empty page below the message (needs Pillow; skipped without it)."""
    try:
        from PIL import Image, ImageChops
    except ImportError:
        return
    with Image.open(png_path) as image:
        rgb = image.convert("RGB")
        background = Image.new("RGB", rgb.size, (255, 255, 255))
        box = ImageChops.difference(rgb, background).getbbox()
        if box is None:
            return
        bottom = min(rgb.height, box[3] + margin)
        rgb.crop((0, 0, rgb.width, bottom)).save(png_path, optimize=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=REPO / "docs" / "img")
    parser.add_argument("--html-only", action="store_true", help="write HTML and JSON only")
    parser.add_argument("--blocks", type=Path, help="render this blocks JSON file instead")
    parser.add_argument("--out", type=Path, help="with --blocks: the HTML file to write")
    args = parser.parse_args(argv)

    if args.blocks:
        data = json.loads(args.blocks.read_text())
        blocks = data["blocks"] if isinstance(data, dict) else data
        out = args.out or args.blocks.with_suffix(".html")
        out.write_text(message_html(blocks))
        print(out)
        return 0

    args.out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        examples = build_examples(Path(tmp))
        for name, example in examples.items():
            page = message_html(
                example["blocks"],
                command=example["command"],
                ephemeral=bool(example.get("ephemeral")),
                time_label=example["time"],
            )
            html_path = Path(tmp) / f"{name}.html"
            html_path.write_text(page)
            if args.html_only:
                (args.out_dir / f"{name}.html").write_text(page)
                (args.out_dir / f"{name}.json").write_text(
                    json.dumps({"blocks": example["blocks"]}, indent=2, ensure_ascii=False)
                )
            else:
                screenshot(html_path, args.out_dir / f"{name}.png")
            print(args.out_dir / f"{name}.{'html' if args.html_only else 'png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
