"""Local console adapter: try the bot in a terminal with no tokens."""
