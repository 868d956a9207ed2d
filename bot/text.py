"""Text normalisation shared by parsers, storage and search.

Titles from different sources differ in case, Unicode form, punctuation and hard line
wraps; `title_key` folds all of that so the same paper dedupes to one row.
"""

from __future__ import annotations

import re
import unicodedata

_ARXIV_NEW = re.compile(r"^(?P<id>\d{4}\.\d{4,5})(?:v\d+)?$")
_ARXIV_OLD = re.compile(r"^(?P<id>[a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?$")
_ARXIV_URL = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf|html)/|huggingface\.co/papers/|hf\.co/papers/)"
    r"(?P<id>\d{4}\.\d{4,5}|[a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?",
    re.IGNORECASE,
)
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_UNICODE_NON_ALNUM = re.compile(r"[\W_]+")
_WS = re.compile(r"\s+")
# Zero-width and bidi control characters: invisible, but they break matching and can be
# used to disguise text, so they are removed from all user and paper text.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad]")


def clean_text(value: str) -> str:
    """NFKC-normalise, drop invisible/bidi control characters and collapse whitespace."""
    value = unicodedata.normalize("NFKC", value)
    value = _INVISIBLE.sub("", value)
    value = "".join(
        ch if unicodedata.category(ch)[0] != "C" or ch in "\t\n" else " " for ch in value
    )
    return _WS.sub(" ", value).strip()


def title_key(title: str) -> str:
    """The dedupe key of a title: NFKC, case-folded, accents and punctuation folded.

    ASCII titles (almost all of them) take a fast path that gives the identical key; the
    138k-paper corpus spent seconds in Unicode normalisation otherwise. Titles with no
    Latin letters or digits at all (e.g. Chinese) keep their letters, so their key is
    never empty.
    """
    if title.isascii():
        return _NON_ALNUM.sub(" ", title.lower()).strip()
    folded = unicodedata.normalize("NFKC", title).casefold()
    folded = "".join(
        ch for ch in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(ch)
    )
    key = _NON_ALNUM.sub(" ", folded).strip()
    return key or _UNICODE_NON_ALNUM.sub(" ", folded).strip()


def bare_arxiv_id(value: str) -> str | None:
    """`2410.17243v2`, `arxiv:2410.17243` or an arXiv/HF URL -> `2410.17243`; else None."""
    value = value.strip()
    match = _ARXIV_URL.search(value)
    if match:
        return match.group("id")
    if value.lower().startswith("arxiv:"):
        value = value[6:]
    for pattern in (_ARXIV_NEW, _ARXIV_OLD):
        m = pattern.match(value)
        if m:
            return m.group("id")
    return None


def is_arxiv_id(value: str) -> bool:
    return bool(_ARXIV_NEW.match(value) or _ARXIV_OLD.match(value))


def find_arxiv_ids(text: str) -> list[str]:
    """Every arXiv id linked (arXiv or HF papers URL) in a message, in order, deduplicated."""
    seen: dict[str, None] = {}
    for m in _ARXIV_URL.finditer(text):
        seen.setdefault(m.group("id"), None)
    return list(seen)


def shorten(value: str, limit: int, ellipsis: str = "…") -> str:
    """Cut `value` to at most `limit` characters, at a word boundary when one is near."""
    if len(value) <= limit:
        return value
    cut = value[: max(0, limit - len(ellipsis))]
    space = cut.rfind(" ")
    if space >= limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + ellipsis


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`1 paper`, `2 papers`, `0 papers`: the count with the noun in the right number."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count} {word}"


# An absolute http(s) URL with a plain host and none of the characters that end or break
# a link in Slack mrkdwn (`<url|label>`) or Markdown (`[label](url)`): whitespace,
# `<>|`, brackets, parentheses, quotes, backslash, backtick.
_SAFE_URL = re.compile(
    r"^https?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?"
    r"(?:[/?#][^\s<>|()\[\]{}\"'`\\]*)?$"
)
_GITHUB_SHORT = re.compile(r"^[\w.-]+/[\w.-]+$")
MAX_URL_LENGTH = 2048


def safe_url(url: str | None) -> str | None:
    """`url` if it is safe to put in a link on any platform, else None.

    Paper links (githubRepo, projectPage, ids) come from sources anyone can edit, so a
    value like `https://github.com/a/b) · [Free Nitro](https://evil.example)` must never
    become a second, clickable link. A bare `owner/name` is read as a GitHub repository.
    """
    if not url:
        return None
    url = url.strip()
    if _GITHUB_SHORT.match(url):
        url = f"https://github.com/{url}"
    if len(url) > MAX_URL_LENGTH or not _SAFE_URL.match(url):
        return None
    return url
