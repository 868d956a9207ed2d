"""Tests of bot.ingest."""
