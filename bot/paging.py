"""Bounds on paging state, which arrives from buttons and so is hostile input.

A Slack button value or a Discord custom_id comes back from the client, and anyone can
send any value. An offset of 10^12 once made the search engine ask tantivy for 10^12
results (the allocation aborted the process), and 2^63 made it panic. `button_int`
is the one check both button decoders apply; the engine clamps again on its side.
"""

from __future__ import annotations

# No one pages past the first thousand results of a search; the engine never ranks more.
MAX_OFFSET = 1000
# The most results one call may ask for (the CLI allows 100, pages show 5–10).
MAX_LIMIT = 100


def button_int(value: object, *, maximum: int = MAX_OFFSET) -> int | None:
    """`value` if it is a plain int in 0..`maximum`, else None (bool, float, str rejected)."""
    # bool is an int subclass: `"o": true` must not page to offset 1.
    if type(value) is not int or not 0 <= value <= maximum:
        return None
    return value


def clamp(value: int, maximum: int) -> int:
    """`value` forced into 0..`maximum`."""
    return max(0, min(value, maximum))
