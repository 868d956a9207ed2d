"""BibTeX for papers: one entry for `cite`, a whole `.bib` file for a reading-list export.

- **arXiv papers** are `@misc` entries with `eprint`, `archivePrefix = {arXiv}`,
  `primaryClass` (the first category, when the paper has one) and the abstract page `url`:
  the form arXiv's own "Export BibTeX" gives and biblatex reads as an eprint.
- **ACL Anthology papers** are `@inproceedings` with `booktitle` and `url` when the
  venue is known from the id (`2023.acl-long.123`, `2022.findings-emnlp.4`, `P19-1001`),
  `@article` with `journal` for TACL and Computational Linguistics, and otherwise
  honestly `@misc` with `howpublished = {ACL Anthology}` and the `url`: a workshop id such
  as `W18-5446` does not say which workshop, and a guessed booktitle would be wrong.
  Booktitles follow each series' usual proceedings title; the Anthology's own `.bib` is
  the authority for a camera-ready citation.
- **Keys** are surname + year + first significant title word (`vaswani2017attention`),
  ASCII and lower case, and unique within one export: a repeat gets `a`, `b`, `c`….
- **Escaping**: `& % $ # _` get a backslash, `{ } ~ ^ \\` become `\\textbraceleft{}`,
  `\\textbraceright{}`, `\\textasciitilde{}`, `\\textasciicircum{}` and `\\textbackslash{}`
  (an escaped `\\{` would still count in BibTeX's brace matching). Title words with inner
  capitals (`BERT`, `LoRA`) are wrapped in braces so styles keep their case. Other
  non-ASCII text is kept as UTF-8, for biblatex/biber (and BibTeX with `inputenc`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from anyascii import anyascii

from bot.follow.names import parse_name
from bot.models import Paper
from bot.text import clean_text

__all__ = [
    "AclVenue",
    "acl_venue",
    "bibtex",
    "bibtex_entry",
    "cite_key",
    "escape_latex",
    "unique_keys",
]

_SPECIAL = {
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\textbraceleft{}",
    "}": r"\textbraceright{}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "\\": r"\textbackslash{}",
}
_SPECIAL_RE = re.compile(r"[&%$#_{}~^\\]")
_KEY_STOPWORDS = frozenset(
    {"a", "an", "the", "on", "of", "in", "for", "to", "and", "with", "at", "by", "is", "are"}
)
_NEW_ACL = re.compile(
    r"^(?P<year>\d{4})\.(?P<venue>[a-z][a-z0-9]*(?:-[a-z0-9]+)*?)-(?P<vol>[a-z0-9]+)\.\d+$"
)
_OLD_ACL = re.compile(r"^(?P<letter>[A-Z])(?P<yy>\d{2})-(?P<vol>\d)\d{3}$")
ACL_PUBLISHER = "Association for Computational Linguistics"


# TeX turns these pairs into other characters (`--` into an en dash, `?` + backtick into
# an inverted question mark, two backticks into a quote); an empty group between them keeps
# the characters the title really has.
_LIGATURE_RE = re.compile(r"(?<=-)(?=-)|(?<=[?!`])(?=`)|(?<=')(?=')")


def escape_latex(text: str) -> str:
    """`text` safe inside a braced BibTeX field: specials escaped, control characters gone."""
    escaped = _SPECIAL_RE.sub(lambda m: _SPECIAL[m.group()], clean_text(text))
    return _LIGATURE_RE.sub("{}", escaped)


def _protect_case(title: str) -> str:
    """Escape, then brace words whose capitals a style must keep (`BERT`, `LoRA`, `GPT-4`)."""
    words = []
    for word in clean_text(title).split(" "):
        escaped = escape_latex(word)
        if any(ch.isupper() for ch in word[1:]):
            escaped = "{" + escaped + "}"
        words.append(escaped)
    return " ".join(words)


def _author(name: str) -> str:
    escaped = escape_latex(name)
    # A literal " and " or a comma BibTeX would misread as name parts: keep it whole.
    if re.search(r"\band\b", escaped, re.IGNORECASE) or escaped.count(",") > 1:
        return "{" + escaped + "}"
    return escaped


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass(frozen=True, slots=True)
class AclVenue:
    """What an ACL Anthology id says about where the paper appeared."""

    year: int
    entry_type: str  # inproceedings, article or misc
    booktitle: str | None = None
    journal: str | None = None


def _acl_meeting(year: int) -> str:
    return (
        f"Proceedings of the {_ordinal(year - 1962)} Annual Meeting of the "
        "Association for Computational Linguistics"
    )


_ACL_VOLUMES = {
    "long": "Volume 1: Long Papers",
    "short": "Volume 2: Short Papers",
    "demo": "Volume 3: System Demonstrations",
    "demos": "Volume 3: System Demonstrations",
    "srw": "Volume 4: Student Research Workshop",
}
_NAACL = (
    "Proceedings of the {year} Conference of the North American Chapter of the Association "
    "for Computational Linguistics: Human Language Technologies"
)
_EMNLP = "Proceedings of the {year} Conference on Empirical Methods in Natural Language Processing"
_EMNLP_TRACKS = {
    "main": "",
    "demos": ": System Demonstrations",
    "demo": ": System Demonstrations",
    "industry": ": Industry Track",
}
_NAACL_VOLUMES = {
    "main": "",
    "long": " (Volume 1: Long Papers)",
    "short": " (Volume 2: Short Papers)",
}
_JOURNALS = {
    "tacl": "Transactions of the Association for Computational Linguistics",
    "cl": "Computational Linguistics",
}


def _new_style(year: int, venue: str, vol: str) -> AclVenue:
    if venue in _JOURNALS:
        return AclVenue(year, "article", journal=_JOURNALS[venue])
    if venue.startswith("findings"):
        # `2022.findings-emnlp.4`: the conference is the volume part of the id.
        conference = vol if venue == "findings" else venue.split("-", 1)[1]
        return AclVenue(
            year,
            "inproceedings",
            booktitle=(
                "Findings of the Association for Computational Linguistics: "
                f"{conference.upper()} {year}"
            ),
        )
    if venue == "acl" and year >= 2000:
        if vol == "main":
            return AclVenue(year, "inproceedings", booktitle=_acl_meeting(year))
        if vol in _ACL_VOLUMES:
            return AclVenue(
                year, "inproceedings", booktitle=f"{_acl_meeting(year)} ({_ACL_VOLUMES[vol]})"
            )
    if venue == "emnlp":
        suffix = _EMNLP_TRACKS.get(vol)
        if suffix is not None:
            return AclVenue(year, "inproceedings", booktitle=_EMNLP.format(year=year) + suffix)
    if venue == "naacl":
        volume = _NAACL_VOLUMES.get(vol)
        if volume is not None:
            return AclVenue(year, "inproceedings", booktitle=_NAACL.format(year=year) + volume)
    return AclVenue(year, "misc")


def acl_venue(acl_id: str) -> AclVenue | None:
    """The venue an ACL Anthology id names, as far as the id tells; None if not an ACL id."""
    m = _NEW_ACL.match(acl_id)
    if m:
        return _new_style(int(m.group("year")), m.group("venue"), m.group("vol"))
    m = _OLD_ACL.match(acl_id)
    if m is None:
        return None
    yy = int(m.group("yy"))
    year = 1900 + yy if yy >= 50 else 2000 + yy
    letter, vol = m.group("letter"), m.group("vol")
    if letter == "Q":
        return AclVenue(year, "article", journal=_JOURNALS["tacl"])
    if letter == "J":
        return AclVenue(year, "article", journal=_JOURNALS["cl"])
    if letter == "P" and vol == "1" and year >= 2000:
        return AclVenue(year, "inproceedings", booktitle=_acl_meeting(year))
    return AclVenue(year, "misc")


def _key_word(title: str) -> str:
    for word in re.findall(r"[a-z0-9]+", str(anyascii(title)).lower()):
        if word not in _KEY_STOPWORDS:
            return str(word)
    return "paper"


def cite_key(paper: Paper) -> str:
    """The base key: first author's surname, year, first significant title word."""
    surname = ""
    if paper.authors:
        person = parse_name(paper.authors[0])
        if person is not None:
            surname = re.sub(r"[^a-z0-9]", "", str(anyascii(person.surname)).lower())
    year = str(paper.published.year) if paper.published else "nd"
    return f"{surname or 'anon'}{year}{_key_word(paper.title)}"


def _suffix(n: int) -> str:
    """0 -> a, 25 -> z, 26 -> aa…"""
    letters = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


def _fields(paper: Paper) -> tuple[str, list[tuple[str, str]]]:
    fields: list[tuple[str, str]] = [("title", _protect_case(paper.title))]
    if paper.authors:
        fields.append(("author", " and ".join(_author(a) for a in paper.authors)))
    year = paper.published.year if paper.published else None
    entry_type = "misc"
    if paper.is_arxiv and paper.paper_id:
        if year:
            fields.append(("year", str(year)))
        fields.append(("eprint", paper.paper_id))
        fields.append(("archivePrefix", "arXiv"))
        if paper.categories:
            fields.append(("primaryClass", escape_latex(paper.categories[0])))
        fields.append(("url", f"https://arxiv.org/abs/{paper.paper_id}"))
        return entry_type, fields
    venue = acl_venue(paper.paper_id) if paper.paper_id else None
    if venue is not None and paper.paper_id:
        entry_type = venue.entry_type
        if venue.booktitle:
            fields.append(("booktitle", escape_latex(venue.booktitle)))
        if venue.journal:
            fields.append(("journal", escape_latex(venue.journal)))
        if entry_type != "misc":
            fields.append(("publisher", ACL_PUBLISHER))
        else:
            fields.append(("howpublished", "ACL Anthology"))
        fields.append(("year", str(year or venue.year)))
        fields.append(("url", f"https://aclanthology.org/{paper.paper_id}"))
        return entry_type, fields
    if year:
        fields.append(("year", str(year)))
    if paper.url:
        fields.append(("url", paper.url))
    return entry_type, fields


def bibtex_entry(paper: Paper, key: str | None = None) -> str:
    """One BibTeX entry for `paper`, under `key` (default: `cite_key(paper)`)."""
    entry_type, fields = _fields(paper)
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@{entry_type}{{{key or cite_key(paper)},\n{body}\n}}\n"


def unique_keys(papers: Sequence[Paper]) -> list[str]:
    """`cite_key` of each paper, made unique with suffixes a, b, c… in order."""
    used: set[str] = set()
    repeats: dict[str, int] = {}
    keys = []
    for paper in papers:
        base = key = cite_key(paper)
        while key in used:
            n = repeats.get(base, 0)
            repeats[base] = n + 1
            key = base + _suffix(n)
        used.add(key)
        keys.append(key)
    return keys


def bibtex(papers: Iterable[Paper]) -> str:
    """A `.bib` file for `papers`, one entry each, with unique keys, in the order given."""
    listed = list(papers)
    return "\n".join(
        bibtex_entry(paper, key) for paper, key in zip(listed, unique_keys(listed), strict=True)
    )
