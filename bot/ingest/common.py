"""Small helpers shared by the parsers: fast text cleaning and date parsing.

`clean` gives exactly what `bot.text.clean_text` gives, but skips the per-character
Unicode category scan for text that is already printable; that scan dominated the time
to ingest the 138k-paper corpus.
"""

from __future__ import annotations

import unicodedata
from datetime import date

from bot.ingest.errors import IngestError
from bot.text import clean_text


def clean(value: str) -> str:
    """`clean_text(value)`, faster on the common case (no control or invisible characters)."""
    # Printable (no control, invisible or non-space whitespace characters), no double or
    # edge spaces, ASCII (so NFKC-stable): already clean. Most corpus text is.
    if (
        value.isascii()
        and value.isprintable()
        and "  " not in value
        and value[:1] != " "
        and value[-1:] != " "
    ):
        return value
    # str.split() splits on exactly the characters `\s` matches, and is far faster than
    # a regex substitution on long abstracts.
    collapsed = " ".join(value.split())
    # Invisible and bidi characters are category Cf, hence not printable: they take the
    # slow path, so the fast path never needs to strip them.
    if collapsed.isprintable():
        if not collapsed.isascii():
            collapsed = " ".join(unicodedata.normalize("NFKC", collapsed).split())
        return collapsed
    return clean_text(value)


def clean_all(values: list[str]) -> tuple[str, ...]:
    """`clean` on each of `values` (e.g. author names), dropping the empty ones."""
    # One check of the joined names is much cheaper than one `clean` per name; "|" may
    # occur in a name, but then " |" or "| " or "||" cannot hide a bad space.
    joined = "|".join(values)
    if (
        (joined or not values)
        and joined.isascii()
        and joined.isprintable()
        and "  " not in joined
        and " |" not in joined
        and "| " not in joined
        and "||" not in joined
        and joined[:1] not in (" ", "|")
        and joined[-1:] not in (" ", "|")
    ):
        return tuple(values)
    return tuple(name for name in (clean(v) for v in values) if name)


def clean_or_none(value: str | None) -> str | None:
    if value is None:
        return None
    text = clean(value)
    return text or None


def iso_date(value: str, location: str, field: str = "date") -> date:
    """The date part of an ISO 8601 date or timestamp (`2024-10-22T17:59:30.000Z`)."""
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise IngestError(f"{field} {value!r} is not an ISO date", location) from None
