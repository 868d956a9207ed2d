"""papers-bot core: platform-neutral commands, ingestion, search, trending and digests."""
