"""Author-name identity: when two spellings of a name may be the same person.

`Yann LeCun`, `Y. LeCun`, `LeCun, Yann`, `yann lecun` and `Yann Le Cun` all parse to surname
`lecun`, given name `yann` (or `y`), name key `lecun y`. The rules, in order:

- **Folding.** NFKC, accents dropped (`Schrödinger` = `Schrodinger`), other Latin letters
  transliterated by `anyascii` (`Łukasz` = `Lukasz`, `ß` = `ss`), case folded. Letters of
  other scripts are kept as they are (transliterating `王毅` to `WangYi` would invent a
  spelling nobody uses).
- **Order.** `Last, First` when there is a comma (a comma before `Jr.` does not count);
  else the last word is the surname, or a word in capitals when the others are not
  (`LECUN Yann`).  Lower-case particles (`van der`, `de`, `di`, …) and a few
  capitalised ones (`Le Cun`, `De Marco`, `Von Neumann`) belong to the surname, written
  together (`lecun`).  A capitalised `Van` alone does not: in Vietnamese names it is a
  middle name.  The first word is never taken as a particle (`Le Zhang` is a given name).
- **Given names.** `Y.`, `Y` and `Y.-T.` are initials.  An initial matches any given
  name with that first letter; full given names must be equal (`Yi` ≠ `Yi-Ting`).  A middle
  name missing on one side is no conflict (`Yann LeCun` ~ `Yann A. LeCun`).
- **Noise.** Titles in front (`Dr`, `Prof`) and suffixes at the end (`Jr`, `III`) are dropped.

A *person* is grouped by surname and full first given name (`yann lecun`) in
`bot.follow.people`; initial-only names (`y lecun`) fold into the one person they can be.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache

from anyascii import anyascii

__all__ = [
    "PersonName",
    "given_compatible",
    "may_have_surname",
    "name_key",
    "names_match",
    "parse_name",
]

_LOWER_PARTICLES = frozenset(
    {
        "van",
        "von",
        "der",
        "den",
        "de",
        "del",
        "della",
        "degli",
        "di",
        "da",
        "du",
        "des",
        "la",
        "le",
        "dos",
        "das",
        "do",
        "ten",
        "ter",
        "zu",
        "bin",
        "al",
        "el",
        "st",
    }
)
# Capitalised particles that are joined to the surname.  `Van` and `Da`/`Di`/`Do` are not
# here: they are common Vietnamese and Chinese given or middle names.
_CAPITAL_PARTICLES = frozenset(
    {"le", "la", "de", "del", "della", "der", "den", "des", "du", "von", "ten", "ter", "dos"}
)
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "phd", "md"})
_TITLES = frozenset({"dr", "prof", "professor", "mr", "mrs", "ms"})
# A period followed by a letter starts a new word: `Y.LeCun`, `J.R.R.` (but `J.-P.` stays).
_PERIOD_SPLIT = re.compile(r"\.(?=[^\s\-.])")
_KEEP = re.compile(r"[^\w\-'.]+")


@dataclass(frozen=True, slots=True)
class PersonName:
    """A parsed, folded name. `given` holds one entry per given name, hyphen kept."""

    surname: str
    given: tuple[str, ...] = ()

    @property
    def first_initial(self) -> str:
        return self.given[0][0] if self.given else ""

    @property
    def key(self) -> str:
        """The matching key: surname and first initial (`lecun y`); surname alone if no given."""
        return f"{self.surname} {self.first_initial}" if self.given else self.surname

    @property
    def has_full_first(self) -> bool:
        return bool(self.given) and not _is_initial(self.given[0])

    @property
    def person_key(self) -> str:
        """Surname with the full first given name (`yann lecun`), or the initials (`y lecun`)."""
        if not self.given:
            return self.surname
        return f"{self.given[0].replace('-', '')} {self.surname}"

    def display(self) -> str:
        """A readable form built from the folded parts (for names with no surface form)."""
        parts = [g.title() if not _is_initial(g) else _initials_display(g) for g in self.given]
        return " ".join([*parts, self.surname.title()])


def _is_initial(given: str) -> bool:
    return all(len(part) <= 1 for part in given.split("-"))


def _initials_display(given: str) -> str:
    return "-".join(f"{p.upper()}." for p in given.split("-") if p)


def _fold(text: str) -> str:
    """NFKC, accents dropped, other Latin letters transliterated; case kept."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    out: list[str] = []
    for ch in decomposed:
        if ch.isascii():
            out.append(ch)
        elif unicodedata.combining(ch):
            continue
        elif unicodedata.name(ch, "").startswith("LATIN"):
            out.append(anyascii(ch))
        elif ch.isalnum():
            out.append(ch)
        else:
            out.append(" ")
    return "".join(out)


def _tokens(text: str) -> list[str]:
    text = _PERIOD_SPLIT.sub(". ", text)
    tokens = []
    for raw in text.split():
        token = _KEEP.sub("", raw).replace("_", "").strip("-'").lstrip(".")
        if token:
            tokens.append(token)
    return tokens


def _given_token(token: str, *, dotted: bool) -> str:
    """A folded given name: `Y.` -> `y`, `J.-P.` -> `j-p`, `Jean-Pierre` -> `jean-pierre`."""
    parts = [p.strip(".") for p in token.lower().replace("'", "").split("-")]
    parts = [p.replace(".", "") for p in parts if p.strip(".")]
    if dotted and all(len(p) <= 2 for p in parts):
        # `Yu.` (Russian transliteration) is an abbreviation too: keep its first letter.
        parts = [p[0] for p in parts]
    return "-".join(parts)


def _surname(tokens: Sequence[str]) -> str:
    return "".join(re.sub(r"[-'.]", "", t.lower()) for t in tokens)


# `Yi Wang`: two capitalised ASCII words, most authors of a batch. The rules below give
# surname `wang`, given `yi` for these (no particle, title, suffix or capitals can apply
# to two such words); parsing them directly halves the time a batch's authors take.
_SIMPLE = re.compile(r"([A-Z][a-z]+) ([A-Z][a-z]+)")


@lru_cache(maxsize=1 << 20)
def parse_name(name: str) -> PersonName | None:
    """Parse an author name as written anywhere; None when it holds no letters at all."""
    simple = _SIMPLE.fullmatch(name)
    if simple is not None:
        return PersonName(surname=simple[2].lower(), given=(simple[1].lower(),))
    return _parse(name)


def _parse(name: str) -> PersonName | None:
    folded = _fold(name).strip()
    if not folded:
        return None
    head, _, tail = folded.partition(",")
    if tail and " ".join(_tokens(tail)).lower().strip(" .") not in _SUFFIXES:
        # `Last, First` (and `Last, First, Jr.`): everything after a second comma is a suffix.
        family = _tokens(head)
        given_raw = [t for t in _tokens(tail.split(",")[0])]
        if not family:
            family, given_raw = given_raw[-1:], given_raw[:-1]
        if not family:
            return None
        family_words = family
    else:
        words = _tokens(head)
        while len(words) > 2 and words[-1].lower().strip(".") in _SUFFIXES:
            words.pop()
        while len(words) > 2 and words[0].lower().strip(".") in _TITLES:
            words.pop(0)
        if not words:
            return None
        capitals = [i for i, w in enumerate(words) if len(w) >= 3 and w.isalpha() and w.isupper()]
        if len(words) > 1 and len(capitals) == 1 and not all(w.isupper() for w in words):
            # `LECUN Yann`: the one word in capitals is the surname, wherever it stands.
            at = capitals[0]
            family_words = [words[at]]
            given_raw = words[:at] + words[at + 1 :]
        else:
            start = len(words) - 1
            while start > 1 and _is_particle(words[start - 1]):
                start -= 1
            family_words, given_raw = words[start:], words[:start]
    given_raw = [w for w in given_raw if not _is_particle_lower(w)]
    surname = _surname(family_words)
    if not surname:
        return None
    given = tuple(
        g for g in (_given_token(w, dotted="." in w or len(w) == 1) for w in given_raw) if g
    )
    return PersonName(surname=surname, given=given)


def _is_particle(word: str) -> bool:
    low = word.lower()
    return (word == low and low in _LOWER_PARTICLES) or (
        word[:1].isupper() and low in _CAPITAL_PARTICLES
    )


def _is_particle_lower(word: str) -> bool:
    return word.islower() and word in _LOWER_PARTICLES


_RUN = re.compile(r"[^\W_]+")


def may_have_surname(name: str, surnames: AbstractSet[str]) -> bool:
    """Whether `parse_name(name).surname` can be one of `surnames`, without parsing it.

    A surname is always some consecutive letter-and-digit runs of the folded, lower-cased
    name, joined (`O'Brien-Smith` -> `obriensmith`); trying each such join is several
    times cheaper than parsing, and most authors of a batch are nobody's follow.
    """
    runs = _RUN.findall((name if name.isascii() else _fold(name)).lower())
    for start, run in enumerate(runs):
        joined = run
        if joined in surnames:
            return True
        for more in runs[start + 1 :]:
            joined += more
            if joined in surnames:
                return True
    return False


def name_key(name: str) -> str | None:
    """The key shared by every spelling of a name: `Y. LeCun` -> `lecun y`; None if empty."""
    parsed = parse_name(name)
    return parsed.key if parsed else None


def _given_part_compatible(a: str, b: str) -> bool:
    if a == b:
        return True
    if len(a) == 1 or len(b) == 1:
        return a[:1] == b[:1]
    return False


def _given_name_compatible(a: str, b: str) -> bool:
    if a == b:
        return True
    pa, pb = a.split("-"), b.split("-")
    if len(pa) == len(pb):
        return all(_given_part_compatible(x, y) for x, y in zip(pa, pb, strict=True))
    # A single initial stands for the whole (hyphenated) given name: `Y.` ~ `Yi-Ting`.
    if pa == [a] and len(a) == 1:
        return pb[0][:1] == a
    if pb == [b] and len(b) == 1:
        return pa[0][:1] == b
    # `Yiting` ~ `Yi-Ting` (both full): the same letters.
    if not _is_initial(a) and not _is_initial(b):
        return a.replace("-", "") == b.replace("-", "")
    return False


def given_compatible(a: Sequence[str], b: Sequence[str]) -> bool:
    """Whether two lists of given names can belong to one person.

    The first given names must agree; later ones are compared only while both sides have
    them, so a missing middle name or initial is no conflict.
    """
    if not a or not b:
        return True
    return all(_given_name_compatible(x, y) for x, y in zip(a, b, strict=False))


def names_match(a: str | PersonName, b: str | PersonName) -> bool:
    """Whether two author names may be the same person (same surname, compatible given)."""
    pa = parse_name(a) if isinstance(a, str) else a
    pb = parse_name(b) if isinstance(b, str) else b
    if pa is None or pb is None:
        return False
    return pa.surname == pb.surname and given_compatible(pa.given, pb.given)
