"""Parser for text captures of Hugging Face daily-papers pages (the `seeds/` files).

A capture is a few header lines ending with the page date (`Nov 7`), then one entry per
paper: a title line, an abstract line and, in some captures, a metadata block::

      • 11 authors            (or an organisation line such as `ServiceNow-AI ServiceNow-AI`)
    ·
    Aug 14 2                  (`Mon D` or `Mon D, YYYY`, optionally followed by upvotes)

Blank lines carry no meaning. Dates without a year resolve against `as_of`: the latest
such date that is not after `as_of`. An entry without a date of its own (captures 002 and
003 have no metadata) takes the page date: the day Hugging Face listed it, the best date
the capture offers and the one trending needs to age it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from bot.ingest.common import clean
from bot.ingest.errors import IngestError
from bot.models import PaperRecord

SOURCE = "hf-page"

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH = "|".join(MONTHS)
PAGE_DATE = re.compile(rf"^(?:{_MONTH}) \d{{1,2}}$")
META_DATE = re.compile(
    rf"^(?P<month>{_MONTH}) (?P<day>\d{{1,2}})(?:, (?P<year>\d{{4}}))?(?: (?P<upvotes>\d{{1,7}}))?$"
)
AUTHORS = re.compile(r"^•\s*(?P<n>\d{1,6}) authors?$")
SEPARATOR = "·"
# The page date sits within the first few lines; a longer search would mistake a short
# title for it.
HEADER_LINES = 12


@dataclass(frozen=True, slots=True)
class _Line:
    number: int
    text: str


def _lines(text: str) -> list[_Line]:
    return [
        _Line(number, line.strip())
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]


def find_page_date(text: str) -> int | None:
    """Index (into the non-blank lines) of the page-date line that ends the header."""
    for index, line in enumerate(_lines(text)[:HEADER_LINES]):
        if PAGE_DATE.match(line.text):
            return index
    return None


def resolve_date(month: str, day: int, year: int | None, as_of: date, location: str) -> date:
    """A calendar date; without a year, the latest one on or before `as_of`."""
    month_number = MONTHS.index(month) + 1
    if year is not None:
        try:
            return date(year, month_number, day)
        except ValueError:
            raise IngestError(f"{month} {day}, {year} is not a valid date", location) from None
    # Feb 29 needs a leap year, so look back up to eight years before giving up.
    for candidate in range(as_of.year, as_of.year - 9, -1):
        try:
            resolved = date(candidate, month_number, day)
        except ValueError:
            continue
        if resolved <= as_of:
            return resolved
    raise IngestError(f"{month} {day} is not a valid date", location)


def _is_meta_start(lines: list[_Line], index: int) -> bool:
    """Does a metadata block (`• N authors` or an organisation, then `·`) start here?"""
    if index >= len(lines):
        return False
    if AUTHORS.match(lines[index].text):
        return True
    return index + 1 < len(lines) and lines[index + 1].text == SEPARATOR


def _organization(line: str) -> str:
    # The page repeats the organisation's handle and display name: `ServiceNow-AI ServiceNow-AI`.
    words = line.split()
    half = len(words) // 2
    if len(words) % 2 == 0 and words[:half] == words[half:]:
        return " ".join(words[:half])
    return line


def _check_text_line(line: _Line, what: str) -> str:
    if line.text == SEPARATOR or AUTHORS.match(line.text):
        article = "an" if what[0] in "aeiou" else "a"
        raise IngestError(f"expected {article} {what}, found {line.text!r}", f"line {line.number}")
    value = clean(line.text)
    if not value:
        raise IngestError(f"{what} is empty", f"line {line.number}")
    return value


def parse_hf_page(text: str, *, as_of: date) -> list[PaperRecord]:
    """Every entry of a daily-papers page capture, in page order (duplicates kept)."""
    lines = _lines(text)
    start = find_page_date(text)
    if start is None:
        where = f"line {lines[0].number}" if lines else "line 1"
        raise IngestError(
            "no page date (a line like 'Nov 7') in the header of a daily-papers page", where
        )
    page_line = lines[start]
    page_month, page_day = page_line.text.split()
    page_date = resolve_date(page_month, int(page_day), None, as_of, f"line {page_line.number}")
    records: list[PaperRecord] = []
    i = start + 1
    while i < len(lines):
        title_line = lines[i]
        title = _check_text_line(title_line, "paper title")
        if i + 1 >= len(lines):
            raise IngestError(f"title {title[:60]!r} has no abstract", f"line {title_line.number}")
        abstract = _check_text_line(lines[i + 1], "abstract")
        i += 2
        author_count = organization = published = upvotes = None
        if _is_meta_start(lines, i):
            meta, i = lines[i], i + 1
            authors = AUTHORS.match(meta.text)
            if authors:
                author_count = int(authors.group("n"))
            else:
                organization = clean(_organization(meta.text))
            if i >= len(lines) or lines[i].text != SEPARATOR:
                raise IngestError(
                    f"expected '{SEPARATOR}' after {meta.text!r}", f"line {meta.number}"
                )
            separator, i = lines[i], i + 1
            if i >= len(lines):
                raise IngestError(
                    "a metadata block ends without a date", f"line {separator.number}"
                )
            date_line, i = lines[i], i + 1
            match = META_DATE.match(date_line.text)
            if not match:
                raise IngestError(
                    "expected a date like 'Aug 14' or 'Oct 11, 2023', "
                    f"found {date_line.text[:40]!r}",
                    f"line {date_line.number}",
                )
            year = match.group("year")
            published = resolve_date(
                match.group("month"),
                int(match.group("day")),
                int(year) if year else None,
                as_of,
                f"line {date_line.number}",
            )
            if match.group("upvotes"):
                upvotes = int(match.group("upvotes"))
        records.append(
            PaperRecord(
                title=title,
                source=SOURCE,
                abstract=abstract,
                author_count=author_count,
                organization=organization,
                published=published or page_date,
                upvotes=upvotes,
            )
        )
    return records
