"""The migrations build the schema the models describe: autogenerate finds nothing to do
on a database upgraded to head (a model changed without its migration fails here)."""

from __future__ import annotations

import re

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from billing.core.db import Base, make_engine
from billing.models import load_all

pytestmark = pytest.mark.integration


# A month of usage records (migration 0028) is a partition of the one model's table.
PARTITION = re.compile(r"usage_records_(\d{4}_\d{2}|default)")


def _not_partition(name: str | None, type_: str, _parent: object) -> bool:
    return not (type_ == "table" and name and PARTITION.fullmatch(name))


def test_head_has_what_the_models_have(database_url: str) -> None:
    load_all()
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"include_name": _not_partition})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []
