"""Parser for arXiv API Atom feeds (`export.arxiv.org/api/query`).

Each `<entry>` is one paper: the id loses its version (`2410.17243v2` -> `2410.17243`),
hard-wrapped titles and summaries are unwrapped, authors keep their order, and the
primary category comes first among the categories. arXiv reports errors as HTTP 200
with a single entry titled `Error`; that becomes an `IngestError` carrying its summary.

XML is parsed with the standard library. A DOCTYPE is refused outright: arXiv never
sends one, and refusing it rules out entity-expansion attacks without defusedxml.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from bot.ingest.common import clean, clean_or_none, iso_date
from bot.ingest.errors import IngestError
from bot.models import PaperRecord
from bot.text import bare_arxiv_id

SOURCE = "arxiv"
NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "arxiv": "http://arxiv.org/schemas/atom",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
}
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class AtomPage:
    """One page of a feed: its papers and the total the query matches (for paging)."""

    records: list[PaperRecord]
    total_results: int | None
    entries: int


def parse_arxiv_atom(data: str | bytes) -> list[PaperRecord]:
    return parse_arxiv_page(data).records


def parse_arxiv_page(data: str | bytes) -> AtomPage:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if _DOCTYPE.search(raw):
        raise IngestError("XML with a DOCTYPE or ENTITY declaration is refused", "prolog")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        line, column = exc.position
        raise IngestError(f"invalid XML: {exc}", f"line {line} column {column + 1}") from None
    if root.tag != f"{{{NS['atom']}}}feed":
        raise IngestError(f"expected an Atom <feed>, found <{_local(root.tag)}>", "root element")
    entries = root.findall("atom:entry", NS)
    _raise_for_error_entry(entries)
    total = root.findtext("opensearch:totalResults", namespaces=NS)
    records = [_parse_entry(entry, f"entry {n}") for n, entry in enumerate(entries, start=1)]
    return AtomPage(
        records=records,
        total_results=int(total) if total and total.strip().isdigit() else None,
        entries=len(entries),
    )


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _raise_for_error_entry(entries: list[ET.Element]) -> None:
    if len(entries) != 1:
        return
    entry = entries[0]
    title = clean(entry.findtext("atom:title", "", NS))
    entry_id = entry.findtext("atom:id", "", NS)
    if title == "Error" or "/api/errors" in entry_id:
        summary = clean(entry.findtext("atom:summary", "", NS)) or "no details given"
        raise IngestError(f"arXiv API error: {summary}", "entry 1")


def _parse_entry(entry: ET.Element, where: str) -> PaperRecord:
    raw_id = entry.findtext("atom:id", "", NS).strip()
    paper_id = bare_arxiv_id(raw_id)
    if paper_id is None:
        raise IngestError(f"id {raw_id[:80]!r} is not an arXiv id", where)
    title = clean(entry.findtext("atom:title", "", NS))
    if not title:
        raise IngestError(f"paper {paper_id} has no title", where)
    authors = tuple(
        name
        for name in (
            clean(a.findtext("atom:name", "", NS)) for a in entry.findall("atom:author", NS)
        )
        if name
    )
    primary = entry.find("arxiv:primary_category", NS)
    categories = [primary.get("term", "")] if primary is not None else []
    categories += [c.get("term", "") for c in entry.findall("atom:category", NS)]
    published = entry.findtext("atom:published", "", NS).strip()
    return PaperRecord(
        title=title,
        source=SOURCE,
        paper_id=paper_id,
        abstract=clean_or_none(entry.findtext("atom:summary", None, NS)),
        authors=authors,
        author_count=len(authors) or None,
        published=iso_date(published, where, "published") if published else None,
        categories=tuple(dict.fromkeys(c.strip() for c in categories if c.strip())),
    )
