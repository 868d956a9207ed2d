"""Parser for arXiv API Atom feeds (`export.arxiv.org/api/query`).

Each `<entry>` is one paper: the id loses its version (`2410.17243v2` -> `2410.17243`),
hard-wrapped titles and summaries are unwrapped, authors keep their order, and the
primary category comes first among the categories. arXiv reports errors as HTTP 200
with a single entry titled `Error`; that becomes an `IngestError` carrying its summary.

XML is parsed with defusedxml, which refuses any DTD (arXiv never sends one), and so
every entity-expansion attack, whatever the document's encoding. The content must be
UTF-8, as arXiv's is; an unknown or exotic declared encoding is refused too.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

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
# An ASCII count; `str.isdigit` also accepts `²`, which `int` then refuses.
_COUNT = re.compile(r"[0-9]{1,18}")


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
    try:
        # Strict UTF-8 first: expat would otherwise detect UTF-16 (no BOM needed) itself.
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IngestError(f"XML is not UTF-8: {exc.reason}", f"byte offset {exc.start}") from None
    if (nul := raw.find(b"\x00")) >= 0:
        # Valid UTF-8, but XML never holds NUL: this is UTF-16 (or binary) in disguise.
        raise IngestError("XML is not UTF-8: NUL byte (UTF-16?)", f"byte offset {nul}")
    try:
        root = fromstring(raw, forbid_dtd=True)
    except ET.ParseError as exc:
        line, column = exc.position
        raise IngestError(f"invalid XML: {exc}", f"line {line} column {column + 1}") from None
    except DefusedXmlException as exc:
        raise IngestError(
            f"XML with a DOCTYPE (DTD) or ENTITY declaration is refused ({exc})", "prolog"
        ) from None
    except (LookupError, ValueError) as exc:
        # An unknown (`UTV-8`) or unsupported (`UTF-7`) declared encoding.
        raise IngestError(f"XML declares an unusable encoding: {exc}", "prolog") from None
    if root.tag != f"{{{NS['atom']}}}feed":
        raise IngestError(f"expected an Atom <feed>, found <{_local(root.tag)}>", "root element")
    entries = root.findall("atom:entry", NS)
    _raise_for_error_entry(entries)
    total = root.findtext("opensearch:totalResults", namespaces=NS)
    records = [_parse_entry(entry, f"entry {n}") for n, entry in enumerate(entries, start=1)]
    return AtomPage(
        records=records,
        total_results=int(total) if total and _COUNT.fullmatch(total.strip()) else None,
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
