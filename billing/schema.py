"""Applying the Alembic migrations under migrations/ to a database URL, and granting the
service's own role what it needs on the result.

Migrations run as the owner of the schema; the service connects as another role that
owns nothing and cannot bypass row-level security (see billing.core.scoping)."""

from __future__ import annotations

from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def upgrade(database_url: str, revision: str = "head") -> None:
    from alembic import command
    from alembic.config import Config

    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = database_url
    command.upgrade(config, revision)


def grant_service_role(owner_url: str, role: str) -> None:
    """Let `role` read and write every table (row-level security still binds it), use
    every sequence and call every function of the schema; tables later migrations add
    are covered by running this after each upgrade. PostgreSQL only."""
    from sqlalchemy import text

    from billing.core.db import make_engine

    if not owner_url.startswith("postgresql"):
        return
    quoted = '"' + role.replace('"', '""') + '"'
    engine = make_engine(owner_url)
    try:
        with engine.begin() as connection:
            for statement in (
                "GRANT USAGE ON SCHEMA public TO {r}",
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {r}",
                "REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {r}",
                "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {r}",
                "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {r}",
                # tables the owner creates later (a month's usage partition)
                "ALTER DEFAULT PRIVILEGES IN SCHEMA public"
                " GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {r}",
            ):
                connection.execute(text(statement.format(r=quoted)))
    finally:
        engine.dispose()
