"""Paper links in message text: which papers a pasted link names, on which site.

Recognised (http or https, any `www.`/`export.` host prefix, Slack's `<url|label>` form):

- arXiv: `arxiv.org/abs/ID`, `/pdf/ID[.pdf]`, `/html/ID`, with or without `vN`, old ids
  such as `hep-th/9901001`, and `arXiv:ID` in running text -> the arXiv id.
- Hugging Face `huggingface.co/papers/ID` (`hf.co` too) and alphaXiv `alphaxiv.org/abs/ID`
  (`/overview/ID`) -> the arXiv id.
- ACL Anthology `aclanthology.org/ID` (`/`, `.pdf`, `.bib`) and `aclweb.org/anthology/ID`,
  ids such as `2023.acl-long.123` and `P19-1001` -> the ACL id (a volume is no paper).
- OpenReview `openreview.net/forum?id=ID` (`pdf?id=`, `attachment?id=`) -> an OpenReview
  reference: such papers have no arXiv id.

`find_paper_links` never raises: any text gives a (possibly empty) list, in order of
appearance, one entry per paper.  Every `PaperLink.url` parses back to the same paper.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

__all__ = ["LinkKind", "PaperLink", "find_paper_links", "parse_paper_link"]


class LinkKind(enum.StrEnum):
    ARXIV = "arxiv"
    ACL = "acl"
    OPENREVIEW = "openreview"


@dataclass(frozen=True, slots=True)
class PaperLink:
    """One paper a link names. `site` is where the link pointed (arXiv, hf, alphaxiv, …)."""

    kind: LinkKind
    id: str
    site: str
    version: int | None = None

    @property
    def url(self) -> str:
        """The canonical page of the paper."""
        if self.kind is LinkKind.ARXIV:
            return f"https://arxiv.org/abs/{self.id}"
        if self.kind is LinkKind.ACL:
            return f"https://aclanthology.org/{self.id}"
        return f"https://openreview.net/forum?id={self.id}"

    @property
    def paper_id(self) -> str | None:
        """The id papers are stored under (arXiv without version, ACL id); None for OpenReview."""
        return None if self.kind is LinkKind.OPENREVIEW else self.id


_NEW_ID = r"\d{4}\.\d{4,5}(?!\d)"
_OLD_ID = r"[a-z]+(?:-[a-z]+)*(?:\.[A-Z]{2})?/\d{7}(?!\d)"
_ARXIV_ID = rf"(?P<aid>{_NEW_ID}|{_OLD_ID})(?:v(?P<ver>\d{{1,3}})(?!\d))?"
# The host must start a word: `notarxiv.org` is not arXiv.
_HOST_START = r"(?<![\w.-])(?:https?://)?(?:(?:www|export|m)\.)?"
# New-style ACL ids are `YEAR.VENUE-VOLUME.NUMBER`; old ones a letter, two digits, four digits.
_ACL_ID = r"(?P<acl>\d{4}\.[a-z][a-z0-9]*(?:-[a-z0-9]+)*\.\d+|[A-Z]\d{2}-\d{4})(?![\w-])"

_LINK = re.compile(
    rf"""
    {_HOST_START}
    (?:
        (?P<arxivsite>arxiv\.org/(?:abs|pdf|html|format)/
          | (?:huggingface|hf)\.co/papers/
          | alphaxiv\.org/(?:abs|overview|pdf)/
          | arxiv:[ ]?
        ){_ARXIV_ID}
      | (?P<aclsite>aclanthology\.org/|aclweb\.org/anthology/){_ACL_ID}
      | openreview\.net/(?:forum|pdf|attachment)/?\?(?:[^\s#<>|]*?&)??id=
        (?P<orid>[A-Za-z0-9_\-]{{5,40}})(?![A-Za-z0-9_\-])
    )
    """,
    re.IGNORECASE | re.VERBOSE,
)


def _site(prefix: str) -> str:
    low = prefix.lower()
    if low.startswith(("huggingface", "hf.")):
        return "huggingface"
    if low.startswith("alphaxiv"):
        return "alphaxiv"
    return "arxiv"


def _from_match(m: re.Match[str]) -> PaperLink | None:
    if m.group("aid"):
        aid = m.group("aid")
        # Archive names are lower case and new ids digits: fold an `ARXIV.ORG/ABS/…` path.
        if "/" in aid:
            archive, number = aid.split("/", 1)
            head, dot, sub = archive.partition(".")
            aid = f"{head.lower()}{dot}{sub.upper()}/{number}"
        version = int(m.group("ver")) if m.group("ver") else None
        return PaperLink(LinkKind.ARXIV, aid, _site(m.group("arxivsite")), version)
    if m.group("acl"):
        acl = m.group("acl")
        acl = acl.upper() if re.fullmatch(r"[A-Za-z]\d{2}-\d{4}", acl) else acl.lower()
        return PaperLink(LinkKind.ACL, acl, "aclanthology")
    if m.group("orid"):
        return PaperLink(LinkKind.OPENREVIEW, m.group("orid"), "openreview")
    return None


def find_paper_links(text: str) -> list[PaperLink]:
    """Every paper linked in `text`, in order, once each (the first link's site and version)."""
    found: dict[tuple[LinkKind, str], PaperLink] = {}
    for m in _LINK.finditer(text):
        link = _from_match(m)
        if link is not None:
            found.setdefault((link.kind, link.id), link)
    return list(found.values())


def parse_paper_link(value: str) -> PaperLink | None:
    """The paper that one link (or `arXiv:ID`, or a bare arXiv id) names; None otherwise."""
    value = value.strip().strip("<>")
    links = find_paper_links(value)
    if links:
        return links[0]
    bare = re.fullmatch(_ARXIV_ID, value)
    if bare:
        return _from_match(_LINK.match(f"arxiv:{value}"))  # type: ignore[arg-type]
    return None
