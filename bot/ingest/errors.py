"""The one error type every parser and fetcher raises for bad input.

Callers (the ingest service, the CLI) only need to catch `IngestError` to turn any
malformed file or failed fetch into one clear line naming what was wrong and where.
"""

from __future__ import annotations


class IngestError(ValueError):
    """Input that cannot be ingested.

    `message` says what was wrong; `location` says where (``line 12``, ``item 3``,
    ``byte 4096``, a URL), when that is known.
    """

    def __init__(self, message: str, location: str | None = None) -> None:
        self.message = message
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)


class FetchError(IngestError):
    """A live source could not be fetched (HTTP 5xx after retries, 4xx, network down)."""
