"""Search query syntax: free terms, "quoted phrases", `author:NAME` and `since:DATE`.

Grammar (informal, whitespace separated, case-insensitive keys):

- `"exact phrase"`: the words must occur next to each other in the title or abstract.
  An unterminated quote runs to the end of the query.
- `author:hinton` or `author:"Geoffrey Hinton"`: the paper must have a matching author.
- `since:2024-05-01`, `since:2024-05` or `since:2024`: published on or after that day.
  An invalid date is kept as free text, so a user never loses words silently, and is
  listed in `invalid_dates` so a command can say so.
- anything else is a free term.

`parse_query` never raises: every input, however odd, yields a `ParsedQuery`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from bot.text import clean_text

__all__ = ["ParsedQuery", "parse_date", "parse_query"]

# One token: a key with a quoted or bare value, a quoted phrase, or a bare word.
_TOKEN = re.compile(
    r"""(?P<key>author|since|from|by)\s*:\s*(?:"(?P<kq>[^"]*)(?:"|$)|(?P<kv>(?!(?:author|since|from|by):)[^\s"]*))
      | "(?P<phrase>[^"]*)(?:"|$)
      | (?P<word>[^\s"]+)
    """,
    re.IGNORECASE | re.VERBOSE,
)
_DATE = re.compile(r"^(?P<y>\d{4})(?:-(?P<m>\d{1,2})(?:-(?P<d>\d{1,2}))?)?$")
_KEY_ALIASES = {"by": "author", "from": "since"}


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """A query split into its parts. `terms` keeps the user's word order."""

    terms: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()
    authors: tuple[str, ...] = ()
    since: date | None = None
    raw: str = ""
    notes: tuple[str, ...] = field(default=())
    invalid_dates: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The free terms as one string, for fuzzy comparison with titles."""
        return " ".join(self.terms)

    @property
    def is_empty(self) -> bool:
        return not (self.terms or self.phrases or self.authors or self.since)

    @property
    def has_text(self) -> bool:
        return bool(self.terms or self.phrases)


def parse_date(value: str) -> date | None:
    """`2024-05-01`, `2024-05` or `2024` to the first day they name; else None."""
    m = _DATE.match(value.strip())
    if m is None:
        return None
    try:
        return date(int(m.group("y")), int(m.group("m") or 1), int(m.group("d") or 1))
    except ValueError:
        return None


def _words(value: str) -> tuple[str, ...]:
    return tuple(w for w in value.split() if w)


def parse_query(query: str) -> ParsedQuery:
    """Split `query` into terms, phrases and filters. Never raises."""
    text = clean_text(query if isinstance(query, str) else str(query))
    terms: list[str] = []
    phrases: list[tuple[str, ...]] = []
    authors: list[str] = []
    since: date | None = None
    notes: list[str] = []
    invalid_dates: list[str] = []
    for m in _TOKEN.finditer(text):
        if m.group("key") is not None:
            key = m.group("key").lower()
            key = _KEY_ALIASES.get(key, key)
            value = (m.group("kq") if m.group("kq") is not None else m.group("kv") or "").strip()
            if not value:
                continue
            if key == "author":
                authors.append(" ".join(_words(value)))
            else:
                parsed = parse_date(value)
                if parsed is None:
                    notes.append(f"ignored invalid date {value!r}")
                    invalid_dates.append(value)
                    terms.extend(_words(value))
                else:
                    since = parsed if since is None else max(since, parsed)
        elif m.group("phrase") is not None:
            words = _words(m.group("phrase"))
            if len(words) == 1:
                terms.append(words[0])
            elif words:
                phrases.append(words)
        elif m.group("word") is not None:
            terms.append(m.group("word"))
    return ParsedQuery(
        terms=tuple(terms),
        phrases=tuple(phrases),
        authors=tuple(authors),
        since=since,
        raw=text,
        notes=tuple(notes),
        invalid_dates=tuple(invalid_dates),
    )
