"""Scheduled digests: the clock, the delivery ledger logic and the fan-out."""
