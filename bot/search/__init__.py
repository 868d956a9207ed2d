"""Search: query syntax, the in-memory index and ranking."""
