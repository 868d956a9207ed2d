"""Discord adapter (discord.py GroupCog /papers)."""
