"""Reproducible relevance rules for the author and topic query sets (see README.md here).

A topic row carries "rule": a list of groups, each a list of phrases. A text satisfies the
rule when every group has a phrase that occurs in it, case-insensitively, starting at a word
boundary (so "segment" also matches "segmentation"). Grades: 2 when the title alone
satisfies the rule, 1 when title + abstract do, else 0.

An author row carries "author" and optionally "topic" (one group of phrases). A paper is
relevant (grade 1) when one of its authors is that person, compared after folding accents,
case and punctuation, and, when a topic is given, the topic group occurs in its title +
abstract. Its "target_id" is one such paper, kept for reference.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from functools import lru_cache
from typing import Any


def fold_name(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.findall(r"[a-z0-9]+", plain.lower()))


@lru_cache(maxsize=4096)
def _pattern(group: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(r"\s+".join(map(re.escape, p.lower().split())) for p in group)
    return re.compile(rf"(?<![a-z0-9])(?:{alternatives})")


def _holds(groups: list[list[str]], text: str) -> bool:
    return all(_pattern(tuple(g)).search(text) for g in groups)


def author_matches(author: str, paper: dict[str, Any]) -> bool:
    wanted = fold_name(author)
    return any(fold_name(a) == wanted for a in paper.get("authors") or [])


def grade(row: dict[str, Any], paper: dict[str, Any]) -> int:
    title = str(paper.get("title") or "").lower()
    full = title + " \n " + str(paper.get("abstract") or "").lower()
    if row["kind"] == "author":
        if not author_matches(str(row["author"]), paper):
            return 0
        topic = row.get("topic")
        return 1 if not topic or _holds([topic], full) else 0
    if row["kind"] == "topic":
        rule = row["rule"]
        if _holds(rule, title):
            return 2
        return 1 if _holds(rule, full) else 0
    return 1 if paper.get("id") == row.get("target_id") else 0


class TopicIndex:
    """All corpus texts joined into one lower-cased, space-normalised string, so a topic rule
    costs a few C-speed substring scans of the corpus instead of one regex per paper."""

    def __init__(self, papers: list[dict[str, Any]]) -> None:
        self.ids = [str(p["id"]) for p in papers]
        self._blobs: dict[str, tuple[str, list[int]]] = {}
        for field in ("title", "full"):
            parts, starts, at = [], [], 0
            for p in papers:
                text = str(p.get("title") or "")
                if field == "full":
                    text += " " + str(p.get("abstract") or "")
                text = " " + " ".join(text.lower().split()) + " \x00"
                starts.append(at)
                parts.append(text)
                at += len(text)
            self._blobs[field] = ("".join(parts), starts)

    def _phrase(self, phrase: str, field: str) -> set[int]:
        blob, starts = self._blobs[field]
        needle = " ".join(phrase.lower().split())
        found: set[int] = set()
        at = blob.find(needle)
        while at >= 0:
            if not blob[at - 1].isalnum():
                found.add(bisect_right(starts, at) - 1)
            at = blob.find(needle, at + 1)
        return found

    def _matching(self, groups: list[list[str]], field: str) -> set[int]:
        found: set[int] | None = None
        for group in groups:
            hits = set().union(*(self._phrase(p, field) for p in group))
            found = hits if found is None else found & hits
        return found or set()

    def grades(self, row: dict[str, Any]) -> dict[str, int]:
        """Paper id -> grade (1 or 2) for every relevant paper of a topic row."""
        full = self._matching(row["rule"], "full")
        title = self._matching(row["rule"], "title")
        return {self.ids[i]: (2 if i in title else 1) for i in full}
