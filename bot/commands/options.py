"""Values inside commands: times of day, timezones, weekday sets and keyword lists.

Shared by the text parser and by adapters that receive typed options (Discord), so a
time or a timezone means the same wherever it was typed.
"""

from __future__ import annotations

import re
from datetime import time
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.models import WEEKDAYS_DEFAULT, Weekday
from bot.text import shorten

MAX_KEYWORDS = 10
MAX_KEYWORD_LENGTH = 60

_TIME_24 = re.compile(r"^(?P<h>[01]?\d|2[0-3])[:h.](?P<m>[0-5]\d)$")
_TIME_12 = re.compile(r"^(?P<h>0?[1-9]|1[0-2])(?::(?P<m>[0-5]\d))?\s*(?P<ap>am|pm)$")
_DAY_NAMES = {
    "mon": Weekday.MON,
    "tue": Weekday.TUE,
    "wed": Weekday.WED,
    "thu": Weekday.THU,
    "fri": Weekday.FRI,
    "sat": Weekday.SAT,
    "sun": Weekday.SUN,
}


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    names = {name.casefold(): name for name in available_timezones()}
    names.setdefault("utc", "UTC")
    return names


@lru_cache(maxsize=1)
def _zones_by_city() -> dict[str, tuple[str, ...]]:
    # "Europe/Berlin" → "berlin"; "America/New_York" → "new_york" and "new york".
    cities: dict[str, list[str]] = {}
    for name in sorted(available_timezones()):
        if "/" not in name or name.startswith("Etc/"):
            continue
        city = name.rsplit("/", 1)[1].casefold()
        for key in {city, city.replace("_", " "), city.replace("_", "-")}:
            cities.setdefault(key, []).append(name)
    return {city: tuple(zones) for city, zones in cities.items()}


def resolve_timezone(token: str) -> str | None:
    """The canonical IANA name for `token` (case-insensitive), or None if it is no zone."""
    name = _zone_names().get(token.casefold())
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def zones_for_city(word: str) -> tuple[str, ...]:
    """IANA zones whose city part is `word` (`berlin` → `Europe/Berlin`); () if none."""
    return _zones_by_city().get(word.casefold(), ())


def parse_time(token: str) -> time | None:
    token = token.strip().lower()
    m = _TIME_24.match(token)
    if m:
        return time(int(m["h"]), int(m["m"]))
    m = _TIME_12.match(token)
    if m:
        hour = int(m["h"]) % 12 + (12 if m["ap"] == "pm" else 0)
        return time(hour, int(m["m"] or 0))
    return None


def looks_like_time(token: str) -> bool:
    return bool(re.match(r"^\d{1,2}([:h.]\d{1,2})?\s*(am|pm)?$", token.lower()))


def parse_weekday(token: str) -> Weekday | None:
    """One day of the week (`fri`, `Friday`), or None if `token` names none."""
    word = token.lower()
    day = _DAY_NAMES.get(word[:3])
    if day is None or not (3 <= len(word) <= 9) or not day.name.lower().startswith(word[:3]):
        return None
    full = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")[day]
    return day if full.startswith(word) or word in {"tues", "thur", "thurs"} else None


def parse_weekdays(value: str) -> tuple[Weekday, ...] | None:
    value = value.lower()
    if value in {"daily", "all", "everyday", "mon-sun"}:
        return tuple(Weekday)
    if value in {"weekdays", "workdays", "mon-fri"}:
        return WEEKDAYS_DEFAULT
    if value in {"weekends", "weekend", "sat-sun"}:
        return (Weekday.SAT, Weekday.SUN)
    days: list[Weekday] = []
    for part in value.split(","):
        if "-" in part:
            start, _, end = part.partition("-")
            if start[:3] not in _DAY_NAMES or end[:3] not in _DAY_NAMES:
                return None
            a, b = _DAY_NAMES[start[:3]], _DAY_NAMES[end[:3]]
            span = range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)]
            days.extend(Weekday(d) for d in span)
        elif part[:3] in _DAY_NAMES:
            days.append(_DAY_NAMES[part[:3]])
        else:
            return None
    return tuple(sorted(set(days))) or None


def split_keywords(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Comma- or semicolon-separated keywords, capped; and the notes on what was cut."""
    keywords = [k.strip() for k in text.replace(";", ",").split(",") if k.strip()]
    notes: list[str] = []
    if len(keywords) > MAX_KEYWORDS:
        notes.append(f"Only the first {MAX_KEYWORDS} keywords are kept.")
        keywords = keywords[:MAX_KEYWORDS]
    return tuple(shorten(k, MAX_KEYWORD_LENGTH, "") for k in keywords), tuple(notes)
