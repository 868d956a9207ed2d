"""Persistence: SQLAlchemy models, repositories and alembic migrations (SQLite or PostgreSQL)."""
