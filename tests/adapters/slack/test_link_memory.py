"""Link memory on Slack: `link_shared` unfurls paper links, fetching papers not stored yet
from (the loopback fake of) the arXiv API, and names the channel's first share."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runtime.core import Core
from tests.adapters.slack.conftest import Served, event_body
from tests.adapters.slack.fake_slack import FakeSlack
from tests.bot.ingest.loopback import atom_entries

PAPER = "2202.12139"
TITLE = "Testing Deep Learning Models"


def shared(
    url: str, *, user: str, channel: str = "C0GENERAL", ts: str = "1700000000.000500"
) -> dict[str, Any]:
    return {
        "type": "link_shared",
        "channel": channel,
        "user": user,
        "message_ts": ts,
        "links": [{"domain": url.split("/")[2], "url": url}],
        "source": "conversations_history",
        "unfurl_id": f"{channel}.{ts}.abc",
        "event_ts": ts,
    }


async def unfurl(served: Served, fake: FakeSlack, event: dict[str, Any], n: int) -> str:
    await served.post(event_body(event), content_type="application/json")
    call = (await fake.wait_for_calls("chat.unfurl", n))[n - 1]
    return json.dumps(call.params["unfurls"])


async def test_unknown_paper_is_fetched_then_remembered(
    served: Served, fake: FakeSlack, core: Core, fixtures_dir: Path
) -> None:
    entries = atom_entries((fixtures_dir / "arxiv_query_sample.xml").read_text("utf-8"))
    fake.arxiv_entries = {PAPER: next(e for e in entries if PAPER in e)}

    first = await unfurl(
        served, fake, shared(f"https://alphaxiv.org/abs/{PAPER}", user="U0ALICE"), 1
    )
    assert TITLE in first and "first shared" not in first
    assert fake.calls_to("arxiv.query")[0].params["id_list"] == [PAPER]
    with core.db.uow() as uow:
        assert uow.papers.find_by_paper_id(PAPER) is not None  # stored for next time

    again = await unfurl(
        served,
        fake,
        shared(f"https://arxiv.org/pdf/{PAPER}v1", user="U0BOB", ts="1700000100.000100"),
        2,
    )
    assert TITLE in again and "first shared here by <@U0ALICE> on " in again
    assert len(fake.calls_to("arxiv.query")) == 1  # known now: no second lookup

    elsewhere = await unfurl(
        served,
        fake,
        shared(f"https://huggingface.co/papers/{PAPER}", user="U0BOB", channel="C0OTHER"),
        3,
    )
    assert TITLE in elsewhere and "first shared" not in elsewhere


async def test_a_forged_user_is_never_a_mention(
    served: Served, fake: FakeSlack, core: Core, fixtures_dir: Path
) -> None:
    entries = atom_entries((fixtures_dir / "arxiv_query_sample.xml").read_text("utf-8"))
    fake.arxiv_entries = {PAPER: next(e for e in entries if PAPER in e)}
    await unfurl(served, fake, shared(f"https://arxiv.org/abs/{PAPER}", user="<!channel>"), 1)
    again = await unfurl(
        served, fake, shared(f"https://arxiv.org/abs/{PAPER}", user="U0BOB", ts="1700000200.1"), 2
    )
    assert "first shared here by &lt;!channel&gt;" in again and "<!channel>" not in again


async def test_links_in_the_composer_are_not_shares(
    served: Served, fake: FakeSlack, core: Core, fixtures_dir: Path
) -> None:
    entries = atom_entries((fixtures_dir / "arxiv_query_sample.xml").read_text("utf-8"))
    fake.arxiv_entries = {PAPER: next(e for e in entries if PAPER in e)}
    composing = shared(f"https://arxiv.org/abs/{PAPER}", user="U0ALICE") | {
        "source": "composer",
        "channel": "COMPOSER",
    }
    await unfurl(served, fake, composing, 1)
    posted = await unfurl(served, fake, shared(f"https://arxiv.org/abs/{PAPER}", user="U0BOB"), 2)
    assert "first shared" not in posted
