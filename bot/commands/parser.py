"""Parses the text after `/papers` into a `ParsedCommand`. Never raises on user input.

Grammar (case-insensitive verbs, Unicode-normalised text):
    search QUERY…                 (also the default when the first word is no verb)
    trending [N]
    subscribe [HH:MM|9am] [TZ] [days=mon-fri|daily|mon,wed] [top=N] [min=N] [KEYWORDS, …]
    unsubscribe | subscriptions | help
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.models import WEEKDAYS_DEFAULT, Weekday
from bot.text import clean_text, shorten

VERBS = ("search", "trending", "subscribe", "unsubscribe", "subscriptions", "help")
ALIASES = {
    "find": "search",
    "s": "search",
    "top": "trending",
    "trend": "trending",
    "hot": "trending",
    "sub": "subscribe",
    "unsub": "unsubscribe",
    "subs": "subscriptions",
    "list": "subscriptions",
    "status": "subscriptions",
    "?": "help",
    "-h": "help",
    "--help": "help",
}
MAX_TRENDING = 25
MAX_KEYWORDS = 10
MAX_KEYWORD_LENGTH = 60

_TIME_24 = re.compile(r"^(?P<h>[01]?\d|2[0-3])[:h.](?P<m>[0-5]\d)$")
_TIME_12 = re.compile(r"^(?P<h>0?[1-9]|1[0-2])(?::(?P<m>[0-5]\d))?\s*(?P<ap>am|pm)$")
_OPTION = re.compile(r"^(?P<k>days|weekdays|top|n|min|min-upvotes|min_upvotes)=(?P<v>\S+)$")
_DAY_NAMES = {
    "mon": Weekday.MON,
    "tue": Weekday.TUE,
    "wed": Weekday.WED,
    "thu": Weekday.THU,
    "fri": Weekday.FRI,
    "sat": Weekday.SAT,
    "sun": Weekday.SUN,
}


@dataclass(frozen=True, slots=True)
class SubscribeArgs:
    at: time | None = None
    timezone: str | None = None
    weekdays: tuple[Weekday, ...] = WEEKDAYS_DEFAULT
    keywords: tuple[str, ...] = ()
    top_n: int | None = None
    min_upvotes: int | None = None


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    verb: str
    query: str = ""
    count: int | None = None
    subscribe: SubscribeArgs | None = None
    error: str | None = None
    notes: tuple[str, ...] = field(default=())


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    names = {name.casefold(): name for name in available_timezones()}
    names.setdefault("utc", "UTC")
    return names


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


def _looks_like_time(token: str) -> bool:
    return bool(re.match(r"^\d{1,2}([:h.]\d{1,2})?\s*(am|pm)?$", token.lower()))


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


def _parse_subscribe(rest: str) -> ParsedCommand:
    tokens = rest.split()
    args: dict[str, object] = {}
    i = 0
    if i < len(tokens) and _looks_like_time(tokens[i]):
        at = parse_time(tokens[i])
        if at is None:
            return ParsedCommand(
                "subscribe",
                error=f"'{shorten(tokens[i], 20)}' is not a time of day; use HH:MM, e.g. 09:00.",
            )
        args["at"] = at
        i += 1
    if i < len(tokens) and ("/" in tokens[i] or tokens[i].upper() in {"UTC", "GMT", "Z"}):
        token = "UTC" if tokens[i].upper() == "Z" else tokens[i]
        zone = resolve_timezone(token)
        if zone is None:
            return ParsedCommand(
                "subscribe",
                error=f"'{shorten(tokens[i], 40)}' is not a known timezone; "
                "use an IANA name such as Europe/Berlin or UTC.",
            )
        args["timezone"] = zone
        i += 1
    keywords_text: list[str] = []
    for token in tokens[i:]:
        option = _OPTION.match(token.lower())
        if option is None:
            keywords_text.append(token)
            continue
        key, value = option["k"], option["v"]
        if key in {"days", "weekdays"}:
            days = parse_weekdays(value)
            if days is None:
                return ParsedCommand(
                    "subscribe",
                    error=f"'{shorten(value, 30)}' is not a set of weekdays; "
                    "use e.g. days=mon-fri, days=daily or days=mon,wed.",
                )
            args["weekdays"] = days
        elif key in {"top", "n"}:
            if not value.isdigit() or not 1 <= int(value) <= 10:
                return ParsedCommand("subscribe", error="top= takes a number from 1 to 10.")
            args["top_n"] = int(value)
        else:
            if not value.isdigit():
                return ParsedCommand("subscribe", error="min= takes a whole number of upvotes.")
            args["min_upvotes"] = int(value)
    notes: list[str] = []
    keywords = [
        k.strip() for k in " ".join(keywords_text).replace(";", ",").split(",") if k.strip()
    ]
    if len(keywords) > MAX_KEYWORDS:
        notes.append(f"Only the first {MAX_KEYWORDS} keywords are kept.")
        keywords = keywords[:MAX_KEYWORDS]
    keywords = [shorten(k, MAX_KEYWORD_LENGTH, "") for k in keywords]
    sub = SubscribeArgs(
        at=args.get("at"),  # type: ignore[arg-type]
        timezone=args.get("timezone"),  # type: ignore[arg-type]
        weekdays=args.get("weekdays", WEEKDAYS_DEFAULT),  # type: ignore[arg-type]
        keywords=tuple(keywords),
        top_n=args.get("top_n"),  # type: ignore[arg-type]
        min_upvotes=args.get("min_upvotes"),  # type: ignore[arg-type]
    )
    return ParsedCommand("subscribe", subscribe=sub, notes=tuple(notes))


def parse_command(text: str, *, max_query_length: int = 256) -> ParsedCommand:
    """Parse command text. Unknown verbs become searches; empty text becomes help."""
    text = clean_text(text or "")
    if text.lower().startswith("/papers"):
        text = text[len("/papers") :].strip()
    if not text:
        return ParsedCommand("help")
    head, _, rest = text.partition(" ")
    verb = ALIASES.get(head.lower(), head.lower())
    rest = rest.strip()
    if verb not in VERBS:
        verb, rest = "search", text
    if verb == "search":
        if not rest:
            return ParsedCommand("help", notes=("Tell me what to search for.",))
        notes: tuple[str, ...] = ()
        if len(rest) > max_query_length:
            notes = (
                f"Your query was {len(rest):,} characters long; only the first "
                f"{max_query_length} were used.",
            )
            rest = shorten(rest, max_query_length, "")
        return ParsedCommand("search", query=rest, notes=notes)
    if verb == "trending":
        if not rest:
            return ParsedCommand("trending")
        token = rest.split()[0]
        if not token.isdigit():
            return ParsedCommand(
                "trending", error=f"'{shorten(token, 20)}' is not a number; try `trending 10`."
            )
        count = int(token)
        notes = ()
        if count < 1 or count > MAX_TRENDING:
            clamped = min(max(count, 1), MAX_TRENDING)
            notes = (f"Showing {clamped}: trending lists 1 to {MAX_TRENDING} papers.",)
            count = clamped
        return ParsedCommand("trending", count=count, notes=notes)
    if verb == "subscribe":
        return _parse_subscribe(rest)
    return ParsedCommand(verb)
