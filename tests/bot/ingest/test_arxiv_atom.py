"""arXiv Atom: the recorded query response, the error feed, and hostile or broken XML."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.ingest.arxiv_atom import parse_arxiv_atom, parse_arxiv_page
from bot.ingest.errors import IngestError

ERROR_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <link href="http://arxiv.org/api/query?search_query=&amp;id_list=1234.12345v9" rel="self"/>
  <title type="html">ArXiv Query: search_query=&amp;id_list=1234.12345v9</title>
  <id>http://arxiv.org/api/kvuntZ8c9a4Eq5CF7KY03nMug+Q</id>
  <updated>2024-10-25T00:00:00-04:00</updated>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">1</opensearch:totalResults>
  <entry>
    <id>http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345v9</id>
    <title>Error</title>
    <summary>incorrect id format for 1234.12345v9</summary>
    <updated>2024-10-25T00:00:00-04:00</updated>
    <link href="http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345v9" rel="alternate"/>
    <author><name>arXiv api core</name></author>
  </entry>
</feed>
"""


def test_query_fixture(fixtures_dir: Path) -> None:
    page = parse_arxiv_page((fixtures_dir / "arxiv_query_sample.xml").read_bytes())
    assert page.entries == 10 and len(page.records) == 10
    assert page.total_results == 214881
    first = page.records[0]
    assert first.paper_id == "2202.12139"
    assert first.title.startswith("Testing Deep Learning Models: A First Comparative Study")
    assert first.authors == ("Mohit Kumar Ahuja", "Arnaud Gotlieb", "Helge Spieker")
    assert first.categories == ("cs.SE", "cs.LG")
    assert first.published == date(2022, 2, 24)
    assert first.source == "arxiv"
    assert [len(r.authors) for r in page.records] == [3, 4, 5, 4, 5, 2, 4, 2, 4, 2]
    assert [r.categories[0] for r in page.records].count("cs.SE") == 9
    assert all(r.paper_id and "v" not in r.paper_id for r in page.records)
    assert all(r.abstract and "\n" not in r.abstract for r in page.records)


def test_hard_wrapped_title_and_versioned_id_are_cleaned() -> None:
    feed = """<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">
    <entry><id>http://arxiv.org/abs/2410.17243v2</id>
    <title>Breaking the Memory Barrier: Near Infinite Batch Size Scaling for
      Contrastive Loss</title><summary>  Line one
    line two.</summary><published>2024-10-22T17:59:30Z</published>
    <arxiv:primary_category term="cs.CV"/><category term="cs.LG"/><category term="cs.CV"/>
    </entry></feed>"""
    (record,) = parse_arxiv_atom(feed)
    assert record.paper_id == "2410.17243"
    assert record.title.endswith("Scaling for Contrastive Loss")
    assert record.abstract == "Line one line two."
    assert record.categories == ("cs.CV", "cs.LG")


def test_error_entry_raises_with_its_summary() -> None:
    with pytest.raises(IngestError) as info:
        parse_arxiv_atom(ERROR_FEED)
    assert info.value.message == "arXiv API error: incorrect id format for 1234.12345v9"
    assert info.value.location == "entry 1"


def test_empty_feed_is_fine() -> None:
    page = parse_arxiv_page('<feed xmlns="http://www.w3.org/2005/Atom"></feed>')
    assert page.records == [] and page.total_results is None


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]>'
            '<feed xmlns="http://www.w3.org/2005/Atom"><title>&lol;</title></feed>',
            "DOCTYPE",
        ),
        ('<feed xmlns="http://www.w3.org/2005/Atom"><entry>', "invalid XML"),
        ("<html><body>Service unavailable</body></html>", "expected an Atom <feed>"),
        (
            '<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>nope</id>'
            "<title>x</title></entry><entry><id>y</id></entry></feed>",
            "is not an arXiv id",
        ),
        (
            '<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/abs/2401.00001v1'
            "</id><title> </title></entry></feed>",
            "has no title",
        ),
    ],
)
def test_bad_xml(text: str, needle: str) -> None:
    with pytest.raises(IngestError, match=needle):
        parse_arxiv_atom(text)
