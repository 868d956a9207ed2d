"""Query syntax: phrases, author:, since:, free terms; never raises on any input."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from bot.search.query import parse_date, parse_query


def test_free_terms_keep_order() -> None:
    parsed = parse_query("  cocktail   party problem ")
    assert parsed.terms == ("cocktail", "party", "problem")
    assert parsed.text == "cocktail party problem"
    assert not parsed.phrases and not parsed.authors and parsed.since is None


def test_quoted_phrase() -> None:
    parsed = parse_query('speech "cocktail party problem" separation')
    assert parsed.phrases == (("cocktail", "party", "problem"),)
    assert parsed.terms == ("speech", "separation")


def test_single_word_phrase_is_a_term_and_unterminated_quote_runs_to_end() -> None:
    assert parse_query('"diffusion"').terms == ("diffusion",)
    assert parse_query('x "large language').phrases == (("large", "language"),)


def test_author_bare_and_quoted() -> None:
    assert parse_query("author:hinton capsules").authors == ("hinton",)
    parsed = parse_query('author:"Geoffrey  Hinton" capsules')
    assert parsed.authors == ("Geoffrey Hinton",)
    assert parsed.terms == ("capsules",)
    assert parse_query("AUTHOR: LeCun").authors == ("LeCun",)


def test_since_forms() -> None:
    assert parse_query("since:2024-05-01 x").since == date(2024, 5, 1)
    assert parse_query("since:2024").since == date(2024, 1, 1)
    assert parse_query("since:2024-05").since == date(2024, 5, 1)


def test_invalid_since_is_kept_as_text_with_a_note() -> None:
    parsed = parse_query("since:2024-13-45 transformers")
    assert parsed.since is None
    assert parsed.terms == ("2024-13-45", "transformers")
    assert parsed.notes


def test_empty_and_keys_without_values() -> None:
    assert parse_query("").is_empty
    assert parse_query("author: since:").is_empty
    assert parse_date("yesterday") is None


@given(st.text())
def test_never_raises_on_any_text(query: str) -> None:
    parsed = parse_query(query)
    assert all(t and not t.isspace() for t in parsed.terms)
    assert all(phrase for phrase in parsed.phrases)


@given(
    st.lists(
        st.one_of(
            st.sampled_from(['"', ":", "author:", "since:", 'author:"', "by:", "\u200b", " "]),
            st.text(max_size=8),
        ),
        max_size=12,
    )
)
def test_never_raises_on_syntax_soup(parts: list[str]) -> None:
    parsed = parse_query("".join(parts))
    assert isinstance(parsed.terms, tuple)
