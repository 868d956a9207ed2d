"""BibTeX output: every entry parses with bibtexparser 2, keys are unique, text survives."""

from __future__ import annotations

import re
from datetime import date

import bibtexparser
import pytest
from bibtexparser.middlewares import LatexDecodingMiddleware
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cite.bibtex import acl_venue, bibtex, bibtex_entry, cite_key, escape_latex, unique_keys
from bot.models import Paper
from bot.text import clean_text


def parse(text: str) -> bibtexparser.Library:
    library = bibtexparser.parse_string(text)
    assert library.failed_blocks == [], [b.error for b in library.failed_blocks]  # type: ignore[attr-defined]
    return library


def _plain(text: str) -> str:
    """Text as pylatexenc decodes it back: braces (grouping, case protection) dropped, and
    `\\textasciicircum` decoded as the modifier letter U+02C6."""
    return text.replace("{", "").replace("}", "").replace("\u02c6", "^")


def fields(text: str) -> dict[str, str]:
    (entry,) = parse(text).entries
    return {f.key: f.value for f in entry.fields}


ATTENTION = Paper(
    1,
    "Attention Is All You Need",
    paper_id="1706.03762",
    authors=("Ashish Vaswani", "Noam Shazeer"),
    published=date(2017, 6, 12),
    categories=("cs.CL", "cs.LG"),
)


def test_arxiv_entry_has_eprint_fields() -> None:
    text = bibtex_entry(ATTENTION)
    (entry,) = parse(text).entries
    assert entry.entry_type == "misc" and entry.key == "vaswani2017attention"
    assert fields(text) == {
        "title": "Attention Is All You Need",
        "author": "Ashish Vaswani and Noam Shazeer",
        "year": "2017",
        "eprint": "1706.03762",
        "archivePrefix": "arXiv",
        "primaryClass": "cs.CL",
        "url": "https://arxiv.org/abs/1706.03762",
    }


def test_old_style_arxiv_id_and_no_category() -> None:
    paper = Paper(2, "Dualities", paper_id="hep-th/9901001", authors=("E. Witten",))
    got = fields(bibtex_entry(paper))
    assert got["eprint"] == "hep-th/9901001" and "primaryClass" not in got and "year" not in got
    assert cite_key(paper) == "witten" + "nd" + "dualities"


@pytest.mark.parametrize(
    ("acl_id", "entry_type", "where"),
    [
        ("2023.acl-long.123", "inproceedings", "Proceedings of the 61st Annual Meeting of the "
         "Association for Computational Linguistics (Volume 1: Long Papers)"),
        ("2020.acl-main.5", "inproceedings", "Proceedings of the 58th Annual Meeting of the "
         "Association for Computational Linguistics"),
        ("2022.findings-emnlp.4", "inproceedings",
         "Findings of the Association for Computational Linguistics: EMNLP 2022"),
        ("2023.emnlp-main.1", "inproceedings",
         "Proceedings of the 2023 Conference on Empirical Methods in Natural Language Processing"),
        ("P19-1001", "inproceedings", "Proceedings of the 57th Annual Meeting of the "
         "Association for Computational Linguistics"),
        ("2020.tacl-1.5", "article",
         "Transactions of the Association for Computational Linguistics"),
        ("J19-1001", "article", "Computational Linguistics"),
        ("W18-5446", "misc", None),  # which workshop is not in the id: no guessed booktitle
        ("2024.lrec-main.3", "misc", None),
    ],
)  # fmt: skip
def test_acl_entries(acl_id: str, entry_type: str, where: str | None) -> None:
    paper = Paper(3, "Some ACL Paper", paper_id=acl_id, authors=("Ada Lovelace",))
    text = bibtex_entry(paper)
    (entry,) = parse(text).entries
    got = {f.key: f.value for f in entry.fields}
    assert entry.entry_type == entry_type
    assert got["url"] == f"https://aclanthology.org/{acl_id}"
    assert got["year"] == str(acl_venue(acl_id).year)  # type: ignore[union-attr]
    if entry_type == "inproceedings":
        assert got["booktitle"] == where
    elif entry_type == "article":
        assert got["journal"] == where
    else:
        assert got["howpublished"] == "ACL Anthology" and "booktitle" not in got


def test_special_characters_are_escaped_and_decode_back() -> None:
    title = r"100% of {R&D} costs $5 #1 a_b ~x^2 C:\path"
    paper = Paper(4, title, paper_id="2401.00001", authors=("Zoë Ça_t & Co",))
    text = bibtex_entry(paper)
    assert r"100\% of {\textbraceleft{}R\&D\textbraceright{}} costs \$5 \#1 a\_b" in text
    library = bibtexparser.parse_string(text, append_middleware=[LatexDecodingMiddleware()])
    (entry,) = library.entries
    assert _plain(entry.fields_dict["title"].value) == _plain(title)
    assert entry.fields_dict["author"].value == "Zoë Ça_t & Co"  # UTF-8 kept


def test_inner_capitals_are_protected() -> None:
    got = fields(bibtex_entry(Paper(5, "LoRA adapters for BERT and GPT-4", paper_id="2106.09685")))
    assert got["title"] == "{LoRA} adapters for {BERT} and {GPT-4}"


def test_keys_are_unique_with_letter_suffixes() -> None:
    same = [
        Paper(i, "Attention please", paper_id=f"2401.0000{i}", authors=("A. Vaswani",),
              published=date(2017, 1, 1))
        for i in range(4)
    ]  # fmt: skip
    other = Paper(9, "The attention", authors=("Vaswani, Ashish",), published=date(2017, 1, 1))
    keys = unique_keys([*same, other])
    assert keys == [
        "vaswani2017attention",
        "vaswani2017attentiona",
        "vaswani2017attentionb",
        "vaswani2017attentionc",
        "vaswani2017attentiond",
    ]
    library = parse(bibtex([*same, other]))
    assert [e.key for e in library.entries] == keys


def test_keys_fold_to_ascii_and_fall_back() -> None:
    assert cite_key(Paper(1, "Über Bäume", authors=("Erwin Schrödinger",),
                          published=date(1935, 1, 1))) == "schrodinger1935uber"  # fmt: skip
    assert cite_key(Paper(1, "!!!", authors=())) == "anonndpaper"
    # Keys are ASCII: other scripts are transliterated (anyascii), never dropped silently.
    assert cite_key(Paper(1, "深度学习", authors=("王毅",))) == "wangyindshenduxuexi"


def test_escape_latex_leaves_plain_text_alone() -> None:
    assert escape_latex("Plain text, 1-2 (ok).") == "Plain text, 1-2 (ok)."


SPECIALS = list('{}\\&%$#_~^@,="')
hostile = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)) | st.sampled_from(SPECIALS),
    min_size=0,
    max_size=40,
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(hostile, st.lists(hostile, max_size=4), st.sampled_from(
            ["2401.00001", "hep-th/9901001", "2023.acl-long.1", "W18-5446", None, "odd id"]
        )),
        min_size=1, max_size=6,
    )
)  # fmt: skip
def test_hostile_titles_and_authors_always_parse(
    rows: list[tuple[str, list[str], str | None]],
) -> None:
    papers = [
        Paper(i, title or "x", paper_id=pid, authors=tuple(authors), published=date(2024, 1, 1))
        for i, (title, authors, pid) in enumerate(rows)
    ]
    library = bibtexparser.parse_string(
        bibtex(papers), append_middleware=[LatexDecodingMiddleware()]
    )
    assert library.failed_blocks == []
    assert len(library.entries) == len(papers)
    assert len({e.key for e in library.entries}) == len(papers)
    assert all(re.fullmatch(r"[a-z0-9]+", e.key) for e in library.entries)
    for entry, paper in zip(library.entries, papers, strict=True):
        decoded = entry.fields_dict["title"].value
        # What the reader gets back is the cleaned title, braces of case protection aside.
        assert _plain(decoded) == _plain(clean_text(paper.title))


@pytest.mark.parametrize("title", ["?`x", "!` y", "a -- b", "a---b", "``quoted''"])
def test_tex_ligatures_do_not_change_the_title(title: str) -> None:
    # Hypothesis found `?` + backtick coming back as an inverted question mark.
    library = bibtexparser.parse_string(
        bibtex([Paper(1, title, paper_id="2401.00001", published=date(2024, 1, 1))]),
        append_middleware=[LatexDecodingMiddleware()],
    )
    assert library.entries[0].fields_dict["title"].value == title
