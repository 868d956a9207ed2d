"""`similar ID|URL|title|N`: what the parser makes of any argument, and replay by key."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.commands.parser import parse, replay
from bot.commands.types import Command, Help, Invalid, Similar


def test_the_forms_of_similar() -> None:
    assert parse("similar 1706.03762") == Similar(ref="1706.03762")
    assert parse("/papers similar https://arxiv.org/abs/1706.03762v5") == Similar(
        ref="https://arxiv.org/abs/1706.03762v5"
    )
    assert parse('similar "Attention is all you need"') == Similar(ref="Attention is all you need")
    assert parse("similar 3") == Similar(number=3)
    assert parse("similar #12") == Similar(number=12)
    assert parse("SIMILAR 2024.acl-long.1") == Similar(ref="2024.acl-long.1")
    assert isinstance(parse("similar"), Help)
    assert "did you mean `similar`" in getattr(parse("simlar 3"), "error", "")
    assert replay("similar", "42") == Similar(paper_key=42)
    assert isinstance(replay("similar", "not-a-key"), Invalid)


@given(st.text(max_size=400))
def test_any_argument_is_a_similar_command_or_help(rest: str) -> None:
    parsed = parse(f"similar {rest}")
    assert isinstance(parsed, Command)
    if isinstance(parsed, Similar):
        assert parsed.paper_key is None
        assert (parsed.number is None) != (parsed.ref == "")
        if parsed.number is not None:
            assert 0 <= parsed.number <= 999
        else:
            assert parsed.ref.strip() and len(parsed.ref) <= 300 and "\n" not in parsed.ref
    else:
        assert isinstance(parsed, Help) and parsed.notes


@given(st.integers(min_value=0, max_value=10**18))
def test_a_button_key_round_trips(key: int) -> None:
    assert replay("similar", str(key)) == Similar(paper_key=key)
