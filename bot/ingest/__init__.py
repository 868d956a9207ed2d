"""Ingestion: parsers for every source format, live fetchers, and the ingest service."""
