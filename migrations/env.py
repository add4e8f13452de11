"""Alembic environment: the URL comes from `billing db upgrade` (or the settings)."""

from alembic import context
from sqlalchemy import pool, text

from billing.core.config import Settings
from billing.core.db import Base, make_engine
from billing.models import load_all

load_all()
config = context.config
url = config.attributes.get("database_url") or Settings.from_env().database_url


def run_migrations_offline() -> None:
    context.configure(
        url=url,
        target_metadata=Base.metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Row-level security binds the owner too (FORCE): migrations see every row.
                connection.execute(text("SELECT set_config('malipo.scope', 'system', true)"))
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
