"""The naive alert matcher: every alert checked against every paper.

It is the reference `AlertIndex` must agree with (property tests) and the baseline
`bench/alerts.py` prints beside it; nothing in the bot calls it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.follow.matching import Alert, CompiledAlert, PaperMatch
from bot.follow.text import PaperText
from bot.models import Paper

__all__ = ["match_naively"]


def _alert_id(alert: Alert) -> int:
    return alert.id


def match_naively(
    alerts: Iterable[CompiledAlert], papers: Sequence[Paper]
) -> dict[str, list[PaperMatch]]:
    """Every alert checked against every paper: the baseline `AlertIndex` must agree with."""
    docs = [PaperText(p) for p in papers]
    hits: dict[int, dict[int, Alert]] = {}
    for compiled in alerts:
        for position, doc in enumerate(docs):
            if compiled.matches(doc):
                hits.setdefault(position, {})[compiled.alert.id] = compiled.alert
    result: dict[str, list[PaperMatch]] = {}
    for position in sorted(hits):
        per_channel: dict[str, list[Alert]] = {}
        for alert in sorted(hits[position].values(), key=_alert_id):
            per_channel.setdefault(alert.channel, []).append(alert)
        for channel, listed in per_channel.items():
            result.setdefault(channel, []).append(PaperMatch(papers[position], tuple(listed)))
    return result
