"""Caps on how much a hostile file may make us decompress and hold.

A 1 MB gzip can expand to 1 GiB; without a cap that took gigabytes of memory and stored a
1 GiB abstract. `Limits` holds the caps (from `Settings`), `CappedReader` enforces the
per-file cap on any stream as it is read, and `read_line` the per-record cap on JSON Lines
without ever buffering more than one record. Both refuse with an `IngestError`.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Protocol

from bot.ingest.errors import IngestError
from bot.models import PaperRecord
from bot.settings import Settings

GIB = 1 << 30
MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class Limits:
    """Largest decompressed file, and largest single record (a JSON Lines line, or the
    text of one parsed paper), in bytes."""

    file_bytes: int = 2 * GIB
    record_bytes: int = 1 * MIB


def ingest_limits(settings: Settings) -> Limits:
    return Limits(settings.ingest_max_file_bytes, settings.ingest_max_record_bytes)


def _size(n: int) -> str:
    return f"{n / GIB:g} GiB" if n >= GIB else f"{n / MIB:g} MiB" if n >= MIB else f"{n} bytes"


def file_too_large(limit: int) -> IngestError:
    return IngestError(
        f"decompressed content exceeds the {_size(limit)} per-file limit "
        "(PAPERS_INGEST_MAX_FILE_BYTES)"
    )


class _Source(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...
    def seek(self, offset: int, whence: int = ..., /) -> int: ...
    def seekable(self) -> bool: ...
    def tell(self) -> int: ...


class CappedReader(io.RawIOBase):
    """A read-only stream that raises `IngestError` once more than `limit` bytes came out."""

    def __init__(self, inner: _Source, limit: int) -> None:
        self._inner, self._limit, self._read = inner, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(len(buffer))
        self._read += len(data)
        if self._read > self._limit:
            raise file_too_large(self._limit)
        buffer[: len(data)] = data
        return len(data)

    def seekable(self) -> bool:
        return self._inner.seekable()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        position = self._inner.seek(offset, whence)
        self._read = position
        return position

    def tell(self) -> int:
        return self._inner.tell()


def decompress(data: bytes, limit: int) -> bytes:
    """gzip-decompress `data`, refusing output over `limit` bytes before producing it."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = bytearray()
    rest = data
    while rest:
        out += inflater.decompress(rest, limit + 1 - len(out))
        if len(out) > limit:
            raise file_too_large(limit)
        rest = inflater.unconsumed_tail
        if inflater.eof:
            # Concatenated gzip members are still one file.
            rest = inflater.unused_data
            if rest:
                inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    if not inflater.eof:
        raise IngestError("corrupt gzip data: compressed file ended before the end of the stream")
    return bytes(out)


def capped_lines(stream: IO[bytes], limit: int) -> Iterator[bytes]:
    """The lines of `stream`, refusing one longer than `limit` bytes before reading it whole."""
    number = 0
    while line := stream.readline(limit + 1):
        number += 1
        if len(line) > limit and not (len(line) == limit + 1 and line.endswith(b"\n")):
            raise record_too_large(limit, f"line {number}")
        yield line


def record_too_large(limit: int, where: str) -> IngestError:
    return IngestError(
        f"record exceeds the {_size(limit)} per-record limit (PAPERS_INGEST_MAX_RECORD_BYTES)",
        where,
    )


def record_size(record: PaperRecord) -> int:
    """Characters of text a record carries (a lower bound on its UTF-8 bytes)."""
    texts = (record.title, record.abstract, record.ai_summary, record.organization)
    lists = (record.authors, record.keywords, record.categories)
    return sum(len(t) for t in texts if t) + sum(len(x) for seq in lists for x in seq)


def check_records(records: list[PaperRecord], limit: int) -> list[PaperRecord]:
    """`records`, or `IngestError` naming the first whose text exceeds `limit`."""
    for number, record in enumerate(records, start=1):
        if record_size(record) > limit:
            raise record_too_large(limit, f"record {number}")
    return records
