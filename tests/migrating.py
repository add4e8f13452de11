"""Migrations run down, on a database of a test's own (the `scratch_url` fixture)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from billing.schema import MIGRATIONS


def downgrade(url: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = url
    command.downgrade(config, revision)
