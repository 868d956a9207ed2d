"""Alembic migrations of the papers-bot schema."""
