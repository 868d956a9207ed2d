"""Sets of a batch's papers as bitsets: Python ints whose bit i stands for paper i.

Alert matching asks, for each of many alerts, which papers hold all of its parts. As
bitsets, that is one `&` per part: a C loop over a batch of 10,000 papers' 157 machine
words, with no object per paper. Building the bitsets and reading the answers back are
each one numpy pass over all (row, paper) pairs, not a Python loop over them.

numpy is passed in by the caller, which imports it lazily (the command line starts
without it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["from_pairs", "to_pairs"]

# Rows of the packed matrix `from_pairs` fills at once: bounds its memory whatever the
# number of rows (terms, people) times the batch size.
_CHUNK_BYTES = 1 << 24


def from_pairs(rows: Any, at: Any, nrows: int, size: int, np: Any) -> list[int]:
    """One bitset per row from (row, paper position) pairs, given as two integer arrays.

    Pairs may repeat. A row with no pair is 0.
    """
    result = [0] * nrows
    if not len(rows):
        return result
    width = (size + 7) // 8
    bits = np.left_shift(1, at & 7).astype(np.uint8)
    byte = at >> 3
    step = max(1, _CHUNK_BYTES // width)
    for first in range(0, nrows, step):
        if nrows > step:
            keep = (rows >= first) & (rows < first + step)
            chunk_rows, chunk_byte, chunk_bits = rows[keep] - first, byte[keep], bits[keep]
        else:
            chunk_rows, chunk_byte, chunk_bits = rows, byte, bits
        packed = np.zeros((min(step, nrows - first), width), dtype=np.uint8)
        np.bitwise_or.at(packed, (chunk_rows, chunk_byte), chunk_bits)
        for row in np.flatnonzero(packed.any(axis=1)).tolist():
            result[first + row] = int.from_bytes(packed[row].tobytes(), "little")
    return result


def to_pairs(bitsets: Sequence[int], size: int, np: Any) -> tuple[Any, Any]:
    """(row, paper position) arrays of every bit set, by row, then position."""
    width = (size + 7) // 8
    if not bitsets:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    packed = np.frombuffer(b"".join(b.to_bytes(width, "little") for b in bitsets), np.uint8)
    # Most bytes are zero: unpack only the others.
    nonzero = np.flatnonzero(packed)
    unpacked = np.unpackbits(packed[nonzero, None], axis=1, bitorder="little")
    which, bit = np.nonzero(unpacked)
    flat = nonzero[which] * 8 + bit
    return flat // (width * 8), flat % (width * 8)
