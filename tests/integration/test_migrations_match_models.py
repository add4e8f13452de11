"""The migrations build the schema the models describe: autogenerate finds nothing to do
on a database upgraded to head (a model changed without its migration fails here)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from billing.core.db import Base, make_engine
from billing.models import load_all

pytestmark = pytest.mark.integration


def test_head_has_what_the_models_have(database_url: str) -> None:
    load_all()
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert differences == []
