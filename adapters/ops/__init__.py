"""Operational endpoints shared by every serving mode: health, readiness and metrics."""
