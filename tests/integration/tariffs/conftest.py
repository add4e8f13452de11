"""The standard destination table, loaded once (loading it again changes nothing)."""

from __future__ import annotations

import pytest

from billing.tariffs.seed import seed_destinations


@pytest.fixture(autouse=True, scope="session")
def standard_destinations(runtime) -> None:
    with runtime.unit_of_work() as session:
        seed_destinations(session)
