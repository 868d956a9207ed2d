"""`parse`: command text (Slack, console, mentions) → one typed command. Never raises.

Grammar (case-insensitive verbs, Unicode-normalised text, optional `/papers` or `/paper`):
    search QUERY…                 (also what text with no verb at all does)
    trending [N]
    subscribe [daily] [HH:MM|9am] [TZ] [days=mon-fri|daily|mon,wed] [top=N] [min=N]
              [keywords=none] [KEYWORDS, …]
    subscribe weekly [DAY] [HH:MM|9am] [TZ] [top=N] [min=N] [KEYWORDS, …]
    unsubscribe | subscriptions | help
    follow author NAME [#N] | alert QUERY… | following | unfollow N
    save ID|URL                   (reading list, issue 14)
    list [done N | remove N | assign N @USER | export [bibtex]]
    cite ID|URL
    similar ID|URL|TITLE|N        (more like this, issue 12; N: a console card number)
    taste [reset | off | on]      (channel taste, issue 13)
    vote up|down ID|URL

A first word that is one typo away from a verb (`trendng`) is answered with "did you
mean", not searched for; typo distances follow DESIGN.md §7 (none below 5 letters).
Every verb is one `_VERBS` entry: its name, its aliases and a function that reads the rest.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rapidfuzz.distance import OSA

from bot.commands.options import (
    looks_like_time,
    parse_time,
    parse_weekday,
    parse_weekdays,
    resolve_timezone,
    split_keywords,
    zones_for_city,
)
from bot.commands.similar import similar_command
from bot.commands.taste_syntax import read_taste, read_vote
from bot.commands.types import (
    AlertSearch,
    AssignSaved,
    Cite,
    Command,
    ExportList,
    FollowAuthor,
    Following,
    Help,
    Invalid,
    MarkDone,
    RemoveSaved,
    Save,
    Search,
    ShowList,
    Similar,
    Subscribe,
    Subscriptions,
    Trending,
    Unfollow,
    Unsubscribe,
)
from bot.models import Cadence
from bot.search.query import parse_query
from bot.text import clean_text, shorten

__all__ = [
    "ALIASES",
    "MAX_TRENDING",
    "VERBS",
    "alert_command",
    "cap_query",
    "follow_command",
    "mention_id",
    "parse",
    "replay",
    "search_command",
]

MAX_TRENDING = 25
DEFAULT_MAX_QUERY_LENGTH = 256

_SLASH = re.compile(r"^/(?P<name>\S*)\s*")
_OPTION = re.compile(
    r"^(?P<k>days|weekdays|top|n|min|min-upvotes|min_upvotes|keywords)=(?P<v>\S+)$"
)
_NO_KEYWORDS = {"none", "-", "any", "all"}


@dataclass(frozen=True, slots=True)
class _Verb:
    name: str
    aliases: tuple[str, ...]
    # Reads the text after the verb; the int is the longest query a search may keep.
    read: Callable[[str, int], Command]


def cap_query(query: str, max_length: int) -> tuple[str, tuple[str, ...]]:
    """`query` cut to `max_length` characters, with a note when it was cut."""
    if len(query) <= max_length:
        return query, ()
    note = f"Your query was {len(query):,} characters long; only the first {max_length} were used."
    return shorten(query, max_length, ""), (note,)


def search_command(rest: str, max_length: int, *, explicit: bool = True) -> Command:
    """A search for `rest`, cut to `max_length`; help if empty, an error for a bad date."""
    if not rest:
        return Help(notes=("Tell me what to search for.",))
    query, notes = cap_query(rest, max_length)
    bad_dates = parse_query(query).invalid_dates
    if bad_dates:
        return Invalid(
            error=f"since:{shorten(bad_dates[0], 30)} is not a valid date; "
            "use YYYY-MM-DD, YYYY-MM or YYYY, e.g. since:2025-01-31.",
            attempted="search",
        )
    return Search(query=query, explicit=explicit, notes=notes)


def _trending(rest: str, _max_length: int) -> Command:
    if not rest:
        return Trending()
    token = rest.split()[0]
    if not token.isdigit():
        return Invalid(
            error=f"'{shorten(token, 20)}' is not a number; try `trending 10`.",
            attempted="trending",
        )
    count = int(token)
    if 1 <= count <= MAX_TRENDING:
        return Trending(count=count)
    clamped = min(max(count, 1), MAX_TRENDING)
    return Trending(
        count=clamped, notes=(f"Showing {clamped}: trending lists 1 to {MAX_TRENDING} papers.",)
    )


def _subscribe_error(text: str) -> Invalid:
    return Invalid(error=text, attempted="subscribe")


def _not_a_zone(token: str) -> Invalid | None:
    # A place name where the timezone goes ("berlin") would silently become a keyword.
    zones = zones_for_city(token)
    if not zones:
        return None
    names = " or ".join(f"`{z}`" for z in zones[:3])
    return _subscribe_error(
        f"'{shorten(token, 30)}' is not a timezone: did you mean {names}? "
        f"For a keyword, put it after the timezone, e.g. `subscribe 09:00 UTC {token}`."
    )


def _subscribe(rest: str, _max_length: int) -> Command:
    tokens = rest.split()
    fields: dict[str, object] = {}
    i = 0
    # `weekly [DAY]` / `daily` come first, before the time, as in `subscribe weekly fri 09:00`.
    if i < len(tokens) and tokens[i].lower() in {"weekly", "daily"}:
        fields["cadence"] = Cadence(tokens[i].lower())
        i += 1
        if fields["cadence"] is Cadence.WEEKLY and i < len(tokens):
            day = parse_weekday(tokens[i])
            if day is not None:
                fields["weekdays"] = (day,)
                i += 1
    if i < len(tokens) and looks_like_time(tokens[i]):
        at = parse_time(tokens[i])
        if at is None:
            return _subscribe_error(
                f"'{shorten(tokens[i], 20)}' is not a time of day; use HH:MM, e.g. 09:00."
            )
        fields["at"] = at
        i += 1
    if i < len(tokens) and ("/" in tokens[i] or tokens[i].upper() in {"UTC", "GMT", "Z"}):
        token = "UTC" if tokens[i].upper() == "Z" else tokens[i]
        zone = resolve_timezone(token)
        if zone is None:
            return _subscribe_error(
                f"'{shorten(tokens[i], 40)}' is not a known timezone; "
                "use an IANA name such as Europe/Berlin or UTC."
            )
        fields["timezone"] = zone
        i += 1
    elif i < len(tokens) and (place := _not_a_zone(tokens[i])) is not None:
        return place
    keyword_words: list[str] = []
    for token in tokens[i:]:
        option = _OPTION.match(token.lower())
        if option is None:
            keyword_words.append(token)
            continue
        key, value = option["k"], option["v"]
        if key in {"days", "weekdays"}:
            days = parse_weekdays(value)
            if days is None:
                return _subscribe_error(
                    f"'{shorten(value, 30)}' is not a set of weekdays; "
                    "use e.g. days=mon-fri, days=daily or days=mon,wed."
                )
            if fields.get("cadence") is Cadence.WEEKLY and len(days) != 1:
                return _subscribe_error(
                    "A weekly digest comes on one day; use e.g. `subscribe weekly fri 09:00`."
                )
            fields["weekdays"] = days
        elif key in {"top", "n"}:
            if not value.isdigit() or not 1 <= int(value) <= 10:
                return _subscribe_error("top= takes a number from 1 to 10.")
            fields["top_n"] = int(value)
        elif key == "keywords":
            if value not in _NO_KEYWORDS:
                return _subscribe_error(
                    "keywords= only takes `none` (to drop the keywords); "
                    "list keywords after the options, e.g. `subscribe 09:00 UTC diffusion`."
                )
            fields["keywords"] = ()
        else:
            if not value.isdigit():
                return _subscribe_error("min= takes a whole number of upvotes.")
            fields["min_upvotes"] = int(value)
    notes: tuple[str, ...] = ()
    if keyword_words:
        fields["keywords"], notes = split_keywords(" ".join(keyword_words))
    return Subscribe(notes=notes, **fields)  # type: ignore[arg-type]


# -- alerts (issue 14) ---------------------------------------------------------------------
MAX_AUTHOR_NAME = 100
_CHOICE = re.compile(r"\s+#(?P<n>\d{1,3})$")
_QUOTES = "\"'“”‘’«»"


def _follow(rest: str, _max_length: int) -> Command:
    """`follow author "Yann LeCun"`, `follow author Yi Wang #2` (the word `author` optional)."""
    head, _, tail = rest.partition(" ")
    if head.lower() in {"author", "authors", "person"}:
        rest = tail.strip()
    choice: int | None = None
    m = _CHOICE.search(rest)
    if m is not None:
        choice = int(m["n"])
        rest = rest[: m.start()]
    return follow_command(rest, choice)


def follow_command(name: str, choice: int | None = None) -> Command:
    """Follow the author `name` (quotes dropped); `choice` picks one of several people."""
    name = clean_text(name).strip().strip(_QUOTES).strip()
    if not name:
        return Invalid(
            error='Tell me whom to follow, e.g. `follow author "Yann LeCun"`.', attempted="follow"
        )
    if len(name) > MAX_AUTHOR_NAME:
        return Invalid(
            error=f"That name is {len(name)} characters long; names are at most {MAX_AUTHOR_NAME}.",
            attempted="follow",
        )
    if choice is not None and choice < 1:
        return Invalid(error="Candidate numbers start at #1.", attempted="follow")
    return FollowAuthor(name=name, choice=choice)


def alert_command(rest: str, max_length: int = DEFAULT_MAX_QUERY_LENGTH) -> Command:
    """A saved search for `rest`, checked as `search` checks its query."""
    checked = search_command(clean_text(rest).strip(), max_length)
    if isinstance(checked, Search):
        return AlertSearch(query=checked.query, notes=checked.notes)
    if isinstance(checked, Invalid):
        return Invalid(error=checked.error, attempted="alert")
    return Invalid(
        error="Tell me what to watch for, e.g. `alert diffusion speech` or "
        '`alert "state space" author:Gu`.',
        attempted="alert",
    )


def _unfollow(rest: str, _max_length: int) -> Command:
    token = rest.strip().lstrip("#")
    if not token.isdigit() or int(token) < 1:
        return Invalid(
            error="Give the number `following` shows, e.g. `unfollow 2`.", attempted="unfollow"
        )
    return Unfollow(number=int(token))


_ALERT_VERBS = (
    _Verb("follow", (), _follow),
    _Verb("alert", (), alert_command),
    _Verb("following", ("alerts",), lambda _rest, _n: Following()),
    _Verb("unfollow", (), _unfollow),
)

# -- Reading list and citations (issue 14) ----------------------------------------------

# A Slack mention as a slash command carries it (`<@U123|name>`), a Discord one (`<@123>`).
_MENTION = re.compile(r"^<@!?(?P<id>[A-Za-z0-9]+)(?:\|[^>]*)?>$")
_LIST_USAGE = (
    "try `list`, `list done N`, `list remove N`, `list assign N @someone` or `list export bibtex`."
)


def _save(rest: str, _max_length: int) -> Command:
    ref = rest.split()[0] if rest else ""
    if not ref:
        return Help(notes=("Tell me which paper to save: `save 2401.12345` or a link.",))
    return Save(ref=shorten(ref, 300, ""))


def _cite(rest: str, _max_length: int) -> Command:
    ref = rest.split()[0] if rest else ""
    if not ref:
        return Help(notes=("Tell me which paper to cite: `cite 2401.12345` or a link.",))
    return Cite(ref=shorten(ref, 300, ""))


def mention_id(token: str) -> str:
    """The user id inside a platform mention (`<@U123|name>`, `<@123>`), else the token."""
    m = _MENTION.match(token)
    return m["id"] if m else token.lstrip("@")


def _list(rest: str, _max_length: int) -> Command:
    tokens = rest.split()
    if not tokens:
        return ShowList()
    action = tokens[0].lower()
    if action == "export":
        fmt = tokens[1].lower() if len(tokens) > 1 else "bibtex"
        if fmt not in {"bibtex", "bib"}:
            return Invalid(
                error="I can export the list as BibTeX only; try `list export bibtex`.",
                attempted="list",
            )
        return ExportList()
    if action not in {"done", "discussed", "remove", "rm", "delete", "assign", "present"}:
        return Invalid(error=f"`list {shorten(tokens[0], 20)}`: {_LIST_USAGE}", attempted="list")
    if len(tokens) < 2 or not tokens[1].lstrip("#").isdigit():
        return Invalid(
            error=f"`list {action}` needs the number the list shows, e.g. `list {action} 2`.",
            attempted="list",
        )
    position = int(tokens[1].lstrip("#"))
    if action in {"done", "discussed"}:
        return MarkDone(position=position)
    if action in {"remove", "rm", "delete"}:
        return RemoveSaved(position=position)
    if len(tokens) < 3:
        return Invalid(
            error=f"Who presents it? e.g. `list assign {position} @someone`.", attempted="list"
        )
    return AssignSaved(position=position, user=shorten(mention_id(tokens[2]), 64, ""))


_VERBS = (
    _Verb("search", ("find", "s"), search_command),
    _Verb("trending", ("top", "trend", "hot"), _trending),
    _Verb("subscribe", ("sub",), _subscribe),
    _Verb("unsubscribe", ("unsub",), lambda _rest, _n: Unsubscribe()),
    _Verb("subscriptions", ("subs", "status"), lambda _rest, _n: Subscriptions()),
    _Verb("help", ("?", "-h", "--help"), lambda _rest, _n: Help()),
    *_ALERT_VERBS,
    # Reading list and citations (issue 14).
    _Verb("save", ("bookmark",), _save),
    _Verb("list", ("reading", "readinglist"), _list),
    _Verb("cite", ("bibtex", "bib"), _cite),
    # More like this (issue 12).
    _Verb("similar", ("morelikethis", "more-like-this"), similar_command),
    # Channel taste (issue 13).
    _Verb("taste", (), read_taste),
    _Verb("vote", (), read_vote),
)
VERBS = tuple(v.name for v in _VERBS)
ALIASES = {alias: v.name for v in _VERBS for alias in v.aliases}
_BY_WORD = {**{v.name: v for v in _VERBS}, **{a: v for v in _VERBS for a in v.aliases}}


def _allowed_typos(word: str) -> int:
    return 0 if len(word) < 5 else 1 if len(word) < 9 else 2


def _near_verb(word: str) -> str | None:
    """The verb `word` is a typo of (DESIGN.md §7 distances), or None."""
    allowed = _allowed_typos(word)
    if allowed == 0:
        return None
    best: tuple[int, str] | None = None
    for verb in VERBS:
        # A typo in the first letter counts double, as in Meilisearch.
        distance = OSA.distance(word, verb) + (word[0] != verb[0])
        if distance <= allowed and (best is None or distance < best[0]):
            best = (distance, verb)
    return best[1] if best else None


def _strip_slash_command(text: str) -> tuple[str, Invalid | None]:
    m = _SLASH.match(text)
    if m is None:
        return text, None
    name = m["name"].lower()
    if name in {"papers", "paper"}:
        return text[m.end() :], None
    return text, Invalid(
        error=f"`/{shorten(m['name'], 30)}` is not a papers-bot command; "
        "type `/papers help` (or just `help`) to see what I can do."
    )


def parse(text: str, *, max_query_length: int = DEFAULT_MAX_QUERY_LENGTH) -> Command:
    """One command for any text: empty text is help, a verb-less text a search."""
    text = clean_text(text or "")
    text, wrong_slash = _strip_slash_command(text)
    if wrong_slash is not None:
        return wrong_slash
    if not text:
        return Help()
    head, _, rest = text.partition(" ")
    verb = _BY_WORD.get(head.lower())
    if verb is not None:
        return verb.read(rest.strip(), max_query_length)
    near = _near_verb(head.lower())
    if near is not None:
        word = shorten(head, 30)
        return Invalid(
            error=f"`{word}` is not a command: did you mean `{near}`? "
            f"To search for the word, type `search {word}`."
        )
    return search_command(text, max_query_length, explicit=False)


def replay(command: str, query: str = "", count: int | None = None) -> Command:
    """The command behind a Next/Previous/Share button (what `PageCursor` recorded)."""
    if command == "search":
        return search_command(clean_text(query), DEFAULT_MAX_QUERY_LENGTH)
    if command == "trending":
        return Trending(count=count)
    if command == "similar" and query.isascii() and query.isdigit():
        # A "More like this" page or share names the paper by its stored key.
        return Similar(paper_key=int(query))
    return Invalid(error="That button has expired. Run the command again.")
