"""The command parser: every verb, subscribe options, and property tests on arbitrary input."""

from __future__ import annotations

from datetime import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands.options import parse_time, parse_weekdays
from bot.commands.parser import parse
from bot.commands.types import Command, Invalid, Search, Subscribe, Trending
from bot.models import Weekday


def error_of(command: Command) -> str:
    return command.error if isinstance(command, Invalid) else ""


def test_empty_and_unknown_input_get_help_or_search() -> None:
    assert parse("").verb == "help"
    assert parse("   \u200b ").verb == "help"
    assert parse("help").verb == "help"
    parsed = parse("diffusion models")
    assert isinstance(parsed, Search)
    assert (parsed.verb, parsed.query) == ("search", "diffusion models")
    assert parse("/papers search  llm") == Search(query="llm")


def test_search_query_is_cut_with_a_note() -> None:
    parsed = parse("search " + "x" * 5000, max_query_length=256)
    assert isinstance(parsed, Search)
    assert parsed.verb == "search" and len(parsed.query) <= 256
    assert parsed.notes and "5,000" in parsed.notes[0]


def test_trending_counts() -> None:
    assert parse("trending") == Trending(count=None)
    assert parse("trending 7") == Trending(count=7)
    clamped = parse("trending 500")
    assert isinstance(clamped, Trending)
    assert clamped.count == 25 and clamped.notes
    assert isinstance(parse("trending lots"), Invalid)


def test_subscribe_full_form() -> None:
    parsed = parse("subscribe 09:00 Europe/Berlin diffusion, speech")
    assert isinstance(parsed, Subscribe)
    assert parsed.at == time(9, 0)
    assert parsed.timezone == "Europe/Berlin"
    assert parsed.keywords == ("diffusion", "speech")
    # Issue 15 item 11: days not given are kept (a new subscription gets Mon–Fri; see
    # test_core's test_new_subscription_defaults_to_weekdays).
    assert parsed.weekdays is None


def test_subscribe_options_and_errors() -> None:
    parsed = parse("subscribe 7pm europe/paris days=daily top=3 min=10 rl")
    assert isinstance(parsed, Subscribe)
    assert parsed.at == time(19, 0)
    assert parsed.timezone == "Europe/Paris"
    assert parsed.weekdays == tuple(Weekday)
    assert (parsed.top_n, parsed.min_upvotes) == (3, 10)
    assert parsed.keywords == ("rl",)
    assert "not a time" in error_of(parse("subscribe 25:99"))
    assert "timezone" in error_of(parse("subscribe 09:00 Mars/Olympus"))
    assert error_of(parse("subscribe 09:00 UTC days=funday"))
    assert error_of(parse("subscribe top=99"))


def test_time_and_weekday_helpers() -> None:
    assert parse_time("9:05") == time(9, 5)
    assert parse_time("12am") == time(0, 0)
    assert parse_time("12:30pm") == time(12, 30)
    assert parse_time("24:00") is None
    assert parse_weekdays("fri-mon") == (Weekday.MON, Weekday.FRI, Weekday.SAT, Weekday.SUN)
    assert parse_weekdays("mon,wed") == (Weekday.MON, Weekday.WED)


def test_rtl_and_zero_width_are_normalised() -> None:
    parsed = parse("search dif\u200bfusion \u202emodels\u202c")
    assert isinstance(parsed, Search)
    assert parsed.query == "diffusion models"


@given(st.text(max_size=400))
def test_any_text_parses_without_raising(text: str) -> None:
    parsed = parse(text, max_query_length=128)
    assert isinstance(parsed, Command)
    if isinstance(parsed, Search):
        assert parsed.query and len(parsed.query) <= 128
    if isinstance(parsed, Invalid):
        assert parsed.error and "\n" not in parsed.error and len(parsed.error) < 400


@given(
    st.sampled_from(["subscribe", "sub", "trending", "search", "/papers", "/paper", "/x"]),
    st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=30), max_size=8),
)
def test_verbs_with_random_arguments_never_raise(verb: str, words: list[str]) -> None:
    parsed = parse(" ".join([verb, *words]))
    assert isinstance(parsed, Command)
    assert not isinstance(parsed, Invalid) or isinstance(parsed.error, str)


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12))
def test_a_single_word_is_a_verb_a_suggestion_or_a_search(word: str) -> None:
    parsed = parse(word)
    verbs = {"search", "trending", "subscribe", "unsubscribe"} | {
        "subscriptions",
        "help",
    }
    # Alert verbs that need an argument answer a bare verb with how to use it.
    alert_verbs = {"follow", "alert", "following", "unfollow"}
    # Reading list and citations (issue 14): the same, for verbs that need a paper.
    reading_verbs = {"save", "list", "cite", "done", "remove", "assign", "export"}
    # Channel taste (issue 13): `vote` needs a direction and a paper.
    taste_verbs = {"taste", "vote"}
    used = alert_verbs | reading_verbs | taste_verbs
    if isinstance(parsed, Invalid):
        assert "did you mean" in parsed.error or parsed.attempted in used
    else:
        assert parsed.verb in verbs | used


# -- issue 10 and issue 15 item 10: mistakes are answered, not swallowed -------------------


@pytest.mark.parametrize(
    ("text", "verb"),
    [
        ("trendng", "trending"),
        ("trendig 5", "trending"),
        ("serch llm", "search"),
        ("subscirbe 09:00", "subscribe"),
        ("unsubscribr", "unsubscribe"),
    ],
)
def test_a_typo_of_a_verb_suggests_the_verb(text: str, verb: str) -> None:
    parsed = parse(text)
    assert isinstance(parsed, Invalid)
    assert f"did you mean `{verb}`?" in parsed.error


@pytest.mark.parametrize("text", ["diffusion models", "frobnicate", "transformers", "top"])
def test_words_far_from_every_verb_still_search_or_run(text: str) -> None:
    assert not isinstance(parse(text), Invalid)


@pytest.mark.parametrize("prefix", ["/paper", "/papers", "/PAPERS", ""])
def test_slash_prefixes_are_accepted(prefix: str) -> None:
    assert parse(f"{prefix} search x".strip()) == Search(query="x")


def test_an_unknown_slash_command_is_named() -> None:
    parsed = parse("/paperz search x")
    assert isinstance(parsed, Invalid) and "`/paperz` is not a papers-bot command" in parsed.error


def test_an_invalid_since_date_is_reported() -> None:
    parsed = parse("search llm since:2025-13-45")
    assert isinstance(parsed, Invalid)
    assert parsed.error.startswith("since:2025-13-45 is not a valid date")
    assert isinstance(parse("search llm since:2025-02"), Search)


def test_a_city_where_the_timezone_goes_suggests_the_zone() -> None:
    parsed = parse("subscribe 09:00 berlin diffusion")
    assert isinstance(parsed, Invalid)
    assert "did you mean `Europe/Berlin`?" in parsed.error
    # After a timezone, the same word is a keyword.
    after_zone = parse("subscribe 09:00 UTC berlin")
    assert isinstance(after_zone, Subscribe) and after_zone.keywords == ("berlin",)


def test_subscribe_gives_only_what_was_typed() -> None:
    assert parse("subscribe 10:00") == Subscribe(at=time(10, 0))
    assert parse("subscribe keywords=none") == Subscribe(keywords=())
