"""Ingest files into storage: detect, parse, upsert; all or nothing per file.

A file that fits in one batch (`BATCH` records: the seeds, a live fetch) is written in
one transaction. A larger one is staged batch by batch in short transactions (its
records are invisible until applied), sealed, then applied one batch per transaction
(`bot.ports.IngestRuns`), so no transaction holds the write lock for a whole file and a
bot's writes get through during an ingest. An error while parsing discards the staged
batches: the database is as it was before that file. Once sealed, a file is applied to
the end, by this process or, after a crash, by the next ingest (`resume_runs`).
See docs/operations.md, "Concurrent writers".
"""

from __future__ import annotations

import gzip
import io
import logging
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib.resources import files
from pathlib import Path
from typing import IO, Protocol

from bot.ingest.arxiv_atom import parse_arxiv_atom
from bot.ingest.detect import HEAD_BYTES, Format, decode_utf8, detect_format, is_gzip
from bot.ingest.errors import IngestError
from bot.ingest.fit import fit_records
from bot.ingest.hf_json import parse_hf_json
from bot.ingest.hf_page import parse_hf_page
from bot.ingest.jsonl import iter_jsonl
from bot.ingest.limits import (
    CappedReader,
    Limits,
    capped_lines,
    check_records,
    decompress,
    file_too_large,
)
from bot.ingest.runs import BATCH, STALE_RUN, IngestRuns, apply_run, chunked, staged
from bot.metrics import count_ingested
from bot.models import PaperRecord, UpsertStats
from bot.ports import PaperRepository


class _HasPapers(Protocol):
    # Read-only, so any unit of work whose `papers` is a PaperRepository fits.
    @property
    def papers(self) -> PaperRepository: ...

    @property
    def ingest_runs(self) -> IngestRuns: ...


# What ingestion needs of storage: a transaction exposing the paper repository and the
# ingest runs (e.g. `Database.uow`). Narrower than `bot.ports.UnitOfWorkFactory` on purpose.
UnitOfWorkFactory = Callable[[], AbstractContextManager[_HasPapers]]


# (bytes of the file read so far, file size): drives a progress bar.
Progress = Callable[[int, int], None]
# Report streaming progress every this many lines; a callback per line would cost more
# than the parsing.
PROGRESS_EVERY = 2000
DEFAULT_LIMITS = Limits()

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FileResult:
    """What ingesting one file did. `error` is set (and `stats` empty) when it failed."""

    name: str
    format: Format | None = None
    records: int = 0
    stats: UpsertStats = field(default_factory=UpsertStats)
    error: str | None = None
    # One line per record left out because it cannot be stored (see bot.ingest.fit).
    rejected: tuple[str, ...] = ()

    @property
    def repeated(self) -> int:
        """Records of a paper seen earlier in the same file (merged into it, not counted)."""
        s = self.stats
        return max(0, self.records - len(self.rejected) - s.inserted - s.updated - s.unchanged)

    @property
    def ok(self) -> bool:
        return self.error is None

    def summary(self) -> str:
        if self.error is not None:
            return f"{self.name}: {self.error}"
        s = self.stats
        # records = new + updated + unchanged + rejected + repeated; the last two are
        # shown only when there are any.
        extra = ""
        if self.rejected:
            extra += f", {len(self.rejected)} rejected"
        if self.repeated:
            extra += f", {self.repeated} repeated in the file"
        if s.merged:
            extra += f", {s.merged} merged"
        return (
            f"{self.name}: {self.records} papers ({s.inserted} new, {s.updated} updated, "
            f"{s.unchanged} unchanged{extra})"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.name,
            "format": self.format.value if self.format else None,
            "papers": self.records,
            "inserted": self.stats.inserted,
            "updated": self.stats.updated,
            "unchanged": self.stats.unchanged,
            "merged": self.stats.merged,
            "rejected": len(self.rejected),
            "repeated": self.repeated,
            "rejections": list(self.rejected),
            "error": self.error,
        }


def parse_content(
    data: bytes, fmt: Format, *, as_of: date, limits: Limits = DEFAULT_LIMITS
) -> list[PaperRecord]:
    """Records from a whole (decompressed) file of a known format."""
    if fmt is Format.JSONL:
        return list(iter_jsonl(capped_lines(io.BytesIO(data), limits.record_bytes)))
    text = decode_utf8(data)
    if fmt is Format.HF_PAGE:
        records = parse_hf_page(text, as_of=as_of)
    elif fmt is Format.HF_JSON:
        records = parse_hf_json(text)
    else:
        records = parse_arxiv_atom(data)
    return check_records(records, limits.record_bytes)


def parse_bytes(
    data: bytes, *, as_of: date, limits: Limits = DEFAULT_LIMITS
) -> tuple[Format, list[PaperRecord]]:
    """Detect and parse content held in memory (gzip allowed)."""
    if is_gzip(data):
        try:
            data = decompress(data, limits.file_bytes)
        except zlib.error as exc:
            raise IngestError(f"corrupt gzip data: {exc}") from None
    elif len(data) > limits.file_bytes:
        raise file_too_large(limits.file_bytes)
    fmt = detect_format(data[:HEAD_BYTES])
    return fmt, parse_content(data, fmt, as_of=as_of, limits=limits)


def store(
    uow_factory: UnitOfWorkFactory,
    records: Iterable[PaperRecord],
    *,
    now: datetime,
    source: str = "unknown",
    rejected: list[str] | None = None,
    name: str | None = None,
) -> UpsertStats:
    """Upsert records, all or nothing: nothing is kept if iterating them fails.

    Up to `BATCH` records go in one transaction; more are staged and applied in batches
    (see the module docstring). A record that cannot be stored (an over-long id, a count
    past 2^31) is left out and its line appended to `rejected` (logged when no list is
    given); the rest go in.
    """
    lines: list[str] = [] if rejected is None else rejected
    batches = chunked(fit_records(records, lines), BATCH)
    first = next(batches, [])
    if len(first) < BATCH:
        with uow_factory() as uow:
            stats = uow.papers.upsert_many(first, seen_at=now)
    else:
        stats = staged(uow_factory, first, batches, now=now, name=name or source)
    if rejected is None:
        for line in lines:
            log.warning("%s record rejected: %s", source, line)
    # Counted only once committed, so papers_ingested_total never counts a rollback.
    count_ingested(source, stats)
    return stats


def resume_runs(
    uow_factory: UnitOfWorkFactory, *, on_result: Callable[[FileResult], None] | None = None
) -> list[FileResult]:
    """Finish files a crashed ingest had sealed but not applied (roll forward).

    Their counts cover only the batches applied now; a process still applying the same
    run at the same moment is harmless (each batch is applied once).
    """
    with uow_factory() as uow:
        runs = uow.ingest_runs.ready(stale_before=datetime.now(UTC) - STALE_RUN)
    results = []
    for run, name in runs:
        stats = apply_run(uow_factory, run)
        result = FileResult(name=f"{name} (resumed)", records=stats.total, stats=stats)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def ingest_bytes(
    uow_factory: UnitOfWorkFactory, name: str, data: bytes, *, as_of: date, now: datetime
) -> FileResult:
    """Ingest content held in memory. Raises `IngestError`; the database is then unchanged."""
    fmt, records = parse_bytes(data, as_of=as_of)
    rejected: list[str] = []
    stats = store(uow_factory, records, now=now, source=fmt.value, rejected=rejected, name=name)
    return FileResult(
        name=name, format=fmt, records=len(records), stats=stats, rejected=tuple(rejected)
    )


class _Counter:
    """Counts records as they stream past, and reports progress through the file."""

    def __init__(self, raw: IO[bytes], size: int, progress: Progress | None) -> None:
        self.count = 0
        self._raw, self._size, self._progress = raw, size, progress

    def wrap(self, records: Iterable[PaperRecord]) -> Iterator[PaperRecord]:
        for record in records:
            self.count += 1
            if self._progress is not None and self.count % PROGRESS_EVERY == 0:
                self._progress(self._raw.tell(), self._size)
            yield record


def ingest_file(
    uow_factory: UnitOfWorkFactory,
    path: str | Path,
    *,
    as_of: date,
    now: datetime,
    name: str | None = None,
    progress: Progress | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> FileResult:
    """Ingest one file, all or nothing. Raises `IngestError` (or `OSError`) on failure,
    after which the database is unchanged by this file."""
    path = Path(path)
    name = name or str(path)
    size = path.stat().st_size
    with path.open("rb") as raw:
        compressed = is_gzip(raw.read(2))
        raw.seek(0)
        # BufferedReader over GzipFile: line iteration is several times faster than on
        # the bare GzipFile.
        # The cap sits under the buffer, on the decompressed bytes: a gzip bomb stops at
        # the limit instead of filling memory.
        stream: IO[bytes] = io.BufferedReader(
            CappedReader(
                gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw, limits.file_bytes
            ),
            1 << 16,
        )
        try:
            head = stream.read(HEAD_BYTES)
            fmt = detect_format(head)
            stream.seek(0)
            rejected: list[str] = []
            if fmt is Format.JSONL:
                counter = _Counter(raw, size, progress)
                lines = capped_lines(stream, limits.record_bytes)
                stats = store(
                    uow_factory,
                    counter.wrap(iter_jsonl(lines)),
                    now=now,
                    source=fmt.value,
                    rejected=rejected,
                    name=name,
                )
                records = counter.count
            else:
                parsed = parse_content(stream.read(), fmt, as_of=as_of, limits=limits)
                stats = store(
                    uow_factory, parsed, now=now, source=fmt.value, rejected=rejected, name=name
                )
                records = len(parsed)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            # Corruption anywhere in a gzip stream surfaces while reading.
            raise IngestError(f"corrupt gzip data: {exc}") from None
    if progress is not None:
        progress(size, size)
    return FileResult(name=name, format=fmt, records=records, stats=stats, rejected=tuple(rejected))


def ingest_paths(
    uow_factory: UnitOfWorkFactory,
    paths: Sequence[str | Path],
    *,
    as_of: date,
    now: datetime,
    progress: Callable[[str], Progress | None] | None = None,
    on_result: Callable[[FileResult], None] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> list[FileResult]:
    """Ingest each file on its own, all or nothing. A bad file is recorded in its result
    (with `error` set) and the others still go in."""
    results: list[FileResult] = []
    for path in paths:
        name = str(path)
        try:
            result = ingest_file(
                uow_factory,
                path,
                as_of=as_of,
                now=now,
                name=name,
                progress=progress(name) if progress else None,
                limits=limits,
            )
        except IngestError as exc:
            result = FileResult(name=name, error=str(exc))
        except OSError as exc:
            result = FileResult(name=name, error=f"cannot read: {exc.strerror or exc}")
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def seed_files() -> list[tuple[str, bytes]]:
    """The bundled daily-papers captures, as (display name, content), in name order."""
    package = files("seeds")
    entries = sorted(
        (entry for entry in package.iterdir() if entry.name.endswith(".txt")),
        key=lambda entry: entry.name,
    )
    return [(f"seeds/{entry.name}", entry.read_bytes()) for entry in entries]


def ingest_seeds(
    uow_factory: UnitOfWorkFactory,
    *,
    as_of: date,
    now: datetime,
    on_result: Callable[[FileResult], None] | None = None,
) -> list[FileResult]:
    """Ingest the bundled captures (works from an installed wheel, not only a checkout)."""
    results: list[FileResult] = []
    for name, data in seed_files():
        try:
            result = ingest_bytes(uow_factory, name, data, as_of=as_of, now=now)
        except IngestError as exc:
            result = FileResult(name=name, error=str(exc))
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results
