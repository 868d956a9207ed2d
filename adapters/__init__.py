"""Edges of papers-bot: the CLI, the console, Slack and Discord adapters."""
