"""The command parser: every verb, subscribe options, and property tests on arbitrary input."""

from __future__ import annotations

from datetime import time

from hypothesis import given
from hypothesis import strategies as st

from bot.commands.parser import VERBS, parse_command, parse_time, parse_weekdays
from bot.models import Weekday


def test_empty_and_unknown_input_get_help_or_search() -> None:
    assert parse_command("").verb == "help"
    assert parse_command("   \u200b ").verb == "help"
    assert parse_command("help").verb == "help"
    parsed = parse_command("diffusion models")
    assert (parsed.verb, parsed.query) == ("search", "diffusion models")
    assert parse_command("/papers search  llm").query == "llm"


def test_search_query_is_cut_with_a_note() -> None:
    parsed = parse_command("search " + "x" * 5000, max_query_length=256)
    assert parsed.verb == "search" and len(parsed.query) <= 256
    assert parsed.notes and "5,000" in parsed.notes[0]


def test_trending_counts() -> None:
    assert parse_command("trending").count is None
    assert parse_command("trending 7").count == 7
    clamped = parse_command("trending 500")
    assert clamped.count == 25 and clamped.notes
    assert parse_command("trending lots").error


def test_subscribe_full_form() -> None:
    parsed = parse_command("subscribe 09:00 Europe/Berlin diffusion, speech")
    assert parsed.subscribe is not None
    assert parsed.subscribe.at == time(9, 0)
    assert parsed.subscribe.timezone == "Europe/Berlin"
    assert parsed.subscribe.keywords == ("diffusion", "speech")
    assert parsed.subscribe.weekdays == tuple(Weekday)[:5]


def test_subscribe_options_and_errors() -> None:
    parsed = parse_command("subscribe 7pm europe/paris days=daily top=3 min=10 rl")
    assert parsed.subscribe is not None
    assert parsed.subscribe.at == time(19, 0)
    assert parsed.subscribe.timezone == "Europe/Paris"
    assert parsed.subscribe.weekdays == tuple(Weekday)
    assert (parsed.subscribe.top_n, parsed.subscribe.min_upvotes) == (3, 10)
    assert parsed.subscribe.keywords == ("rl",)
    assert "not a time" in (parse_command("subscribe 25:99").error or "")
    assert "timezone" in (parse_command("subscribe 09:00 Mars/Olympus").error or "")
    assert parse_command("subscribe 09:00 UTC days=funday").error
    assert parse_command("subscribe top=99").error


def test_time_and_weekday_helpers() -> None:
    assert parse_time("9:05") == time(9, 5)
    assert parse_time("12am") == time(0, 0)
    assert parse_time("12:30pm") == time(12, 30)
    assert parse_time("24:00") is None
    assert parse_weekdays("fri-mon") == (Weekday.MON, Weekday.FRI, Weekday.SAT, Weekday.SUN)
    assert parse_weekdays("mon,wed") == (Weekday.MON, Weekday.WED)


def test_rtl_and_zero_width_are_normalised() -> None:
    parsed = parse_command("search dif\u200bfusion \u202emodels\u202c")
    assert parsed.query == "diffusion models"


@given(st.text(max_size=400))
def test_any_text_parses_without_raising(text: str) -> None:
    parsed = parse_command(text, max_query_length=128)
    assert parsed.verb in VERBS
    assert len(parsed.query) <= 128
    if parsed.verb == "search":
        assert parsed.query


@given(
    st.sampled_from(["subscribe", "sub", "trending", "search"]),
    st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=30), max_size=8),
)
def test_verbs_with_random_arguments_never_raise(verb: str, words: list[str]) -> None:
    parsed = parse_command(" ".join([verb, *words]))
    assert parsed.verb in VERBS
    assert parsed.error is None or isinstance(parsed.error, str)
