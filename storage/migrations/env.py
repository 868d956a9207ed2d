"""Alembic environment: runs against the engine handed over by `storage.db.Database`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, create_engine

from storage.tables import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if not isinstance(engine, Engine):
        engine = create_engine(
            config.get_main_option("sqlalchemy.url") or "sqlite:///papers-bot.db"
        )
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
