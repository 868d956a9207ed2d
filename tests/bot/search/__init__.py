"""Tests of the search package: query syntax, the index and ranking."""
