"""Author-name identity: spellings of one name share a key; candidates group people."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.follow.names import (
    PersonName,
    may_have_surname,
    name_key,
    names_match,
    parse_name,
)
from bot.follow.people import AuthorIndex, candidates, choose
from bot.models import Paper


@pytest.mark.parametrize(
    "spelling",
    ["Yann LeCun", "Y. LeCun", "LeCun, Yann", "yann lecun", "Yann Le Cun", "LECUN Yann",
     "Y.LeCun", "LeCun, Y.", "Yann LeCun Jr.", "  Yann   LeCun "],
)  # fmt: skip
def test_spellings_of_lecun_share_a_key(spelling: str) -> None:
    assert name_key(spelling) == "lecun y"
    assert names_match(spelling, "Yann LeCun")


def test_diacritics_and_latin_letters_fold() -> None:
    assert name_key("Erwin Schrödinger") == name_key("Erwin Schrodinger") == "schrodinger e"
    assert name_key("Schrödinger") == "schrodinger"
    assert name_key("Łukasz Kaiser") == "kaiser l"
    assert name_key("Ｙａｎｎ ＬｅＣｕｎ") == "lecun y"  # full-width, NFKC


def test_initials_match_full_names_but_full_names_must_agree() -> None:
    assert names_match("Y. Wang", "Yi Wang")
    assert names_match("Yi Wang", "Yu Wang") is False
    assert names_match("Yi Wang", "Yi-Ting Wang") is False
    assert names_match("Y.-T. Wang", "Yi-Ting Wang")
    assert names_match("Yiting Wang", "Yi-Ting Wang")
    assert names_match("Yann LeCun", "Yann A. LeCun")  # missing middle name is no conflict
    assert names_match("J. R. Smith", "J. Q. Smith") is False
    assert names_match("Yu. Ivanov", "Yuri Ivanov")


def test_particles_titles_and_suffixes() -> None:
    assert parse_name("Ludwig van Beethoven") == PersonName("vanbeethoven", ("ludwig",))
    assert parse_name("van Beethoven, Ludwig") == PersonName("vanbeethoven", ("ludwig",))
    assert name_key("M. de Rijke") == name_key("Maarten de Rijke") == "derijke m"
    # A capitalised Van is a Vietnamese middle name; a first word is never a particle.
    assert parse_name("Dung Van Tran") == PersonName("tran", ("dung", "van"))
    assert parse_name("Le Zhang") == PersonName("zhang", ("le",))
    assert parse_name("Quoc V. Le") == PersonName("le", ("quoc", "v"))
    assert parse_name("Dr. Jane Smith") == PersonName("smith", ("jane",))
    assert parse_name("Martin Luther King, Jr.") == PersonName("king", ("martin", "luther"))
    assert name_key("Sean O'Brien") == "obrien s"


def test_surname_only_and_empty() -> None:
    assert parse_name("Hinton") == PersonName("hinton")
    assert names_match("Hinton", "Geoffrey E. Hinton")
    assert parse_name("") is None and parse_name(" , . -") is None
    assert names_match("", "Yann LeCun") is False
    # Other scripts are kept, not transliterated.
    assert name_key("王毅") == "王毅"


names_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60
) | st.from_regex(
    r"[A-Z][a-z]{0,8}(\.| )( ?[A-Z]\.)?( [a-z]{2,3})? [A-Z][a-zöü]{1,10}", fullmatch=True
)


@given(names_text)
def test_parse_never_raises_and_key_is_stable(name: str) -> None:
    parsed = parse_name(name)
    if parsed is not None:
        assert parsed.surname
        assert name_key(name) == parsed.key
        assert names_match(parsed, parsed)
        # The key is a fixed point: a name made of its own parts parses to the same key.
        assert name_key(parsed.display()) in (parsed.key, None) or parsed.given


@given(
    st.from_regex(r"[A-Z][a-z]{2,8}", fullmatch=True),
    st.from_regex(r"[A-Z][a-z]{2,8}", fullmatch=True),
)
def test_orders_and_initials_agree(first: str, last: str) -> None:
    full = f"{first} {last}"
    for variant in (f"{last}, {first}", f"{first[0]}. {last}", full.lower(), full.upper()):
        assert name_key(variant) == name_key(full), variant
        assert names_match(variant, full)


def _paper(key: int, year: int) -> Paper:
    return Paper(key=key, title=f"Paper {key}", published=date(year, 1, 1))


def _corpus() -> list[tuple[str, Paper]]:
    rows = [
        ("Yi Wang", 2024), ("Yi Wang", 2023), ("Yi Wang", 2021), ("Yi Wang", 2019),
        ("Yu Wang", 2025), ("Yu Wang", 2020),
        ("Y. Wang", 2018),
        ("Yang Wang", 2022),
        ("Yann LeCun", 2020), ("Y. LeCun", 2015), ("LeCun, Yann", 2024),
        ("Yann A. LeCun", 2010),
        ("Xin Wang", 2024),
    ]  # fmt: skip
    return [(name, _paper(i, year)) for i, (name, year) in enumerate(rows)]


def test_candidates_for_an_initial_list_every_person_with_counts_and_recent_papers() -> None:
    found = candidates("Y. Wang", _corpus())
    assert [(c.name, c.papers) for c in found] == [
        ("Yi Wang", 4),
        ("Yu Wang", 2),
        ("Yang Wang", 1),
        ("Y. Wang", 1),  # could be any of them: kept apart, said as written
    ]
    yi = found[0]
    assert [p.published.year for p in yi.recent if p.published] == [2024, 2023, 2021]
    assert yi.latest == date(2024, 1, 1)


def test_candidates_for_one_person_fold_initials_and_middle_names() -> None:
    index = AuthorIndex.build(_corpus())
    (lecun,) = index.candidates("LeCun, Y.")
    assert lecun.papers == 4 and lecun.name in ("Yann LeCun", "LeCun, Yann", "Yann A. LeCun")
    assert set(lecun.spellings) == {"Yann LeCun", "Y. LeCun", "LeCun, Yann", "Yann A. LeCun"}
    assert [p.published.year for p in lecun.recent if p.published] == [2024, 2020, 2015]
    # "Y. Wang" could be Yu or Yang too, so it is not folded into Yi; but a full first
    # name chooses its person without asking.
    yi_found = index.candidates("yi wang")
    assert [(c.name, c.papers) for c in yi_found] == [("Yi Wang", 4), ("Y. Wang", 1)]
    assert choose("yi wang", yi_found) == yi_found[0]
    assert choose("Y. Wang", index.candidates("Y. Wang")) is None
    assert choose("Y. LeCun", [lecun]) == lecun
    assert [c.name for c in index.candidates("Wang")][:2] == ["Yi Wang", "Yu Wang"]
    assert index.candidates("Nobody Atall") == [] and index.candidates("") == []


def test_function_and_index_agree() -> None:
    corpus = _corpus()
    index = AuthorIndex.build(corpus)
    for name in ("Y. Wang", "Yann LeCun", "Wang", "X. Wang"):
        assert candidates(name, corpus) == index.candidates(name)


@given(st.text(alphabet=st.sampled_from("aBcéÖß  .,-'_LeCunvander王1"), max_size=24))
def test_may_have_surname_never_misses_the_parsed_surname(name: str) -> None:
    parsed = parse_name(name)
    if parsed is not None:
        assert may_have_surname(name, {parsed.surname})


_WORDS = st.sampled_from(["Le", "De", "Van", "Von", "Dr", "Prof", "Jr", "Ii", "Da", "Al", "St"])
_SIMPLE_NAMES = st.builds(
    lambda a, b: f"{a} {b}",
    _WORDS | st.from_regex(r"[A-Z][a-z]{1,8}", fullmatch=True),
    _WORDS | st.from_regex(r"[A-Z][a-z]{1,8}", fullmatch=True),
)


@given(_SIMPLE_NAMES)
def test_two_capitalised_words_parse_as_the_full_rules_parse_them(name: str) -> None:
    from bot.follow.names import _parse

    assert parse_name(name) == _parse(name)
