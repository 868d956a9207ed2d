"""Tests for papers-bot."""
