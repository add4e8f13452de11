"""The suite's own hygiene: a run has a database (and Redis) nobody else's run uses."""

from __future__ import annotations

import os

import pytest
from redis import Redis
from sqlalchemy import make_url, text

from billing.core.db import make_engine
from tests.conftest import DATABASE_URL, run_database_url

pytestmark = pytest.mark.integration


def test_two_runs_never_share_a_database():
    assert run_database_url(DATABASE_URL, "a") != run_database_url(DATABASE_URL, "b")
    assert make_url(run_database_url(DATABASE_URL, "a")).host == make_url(DATABASE_URL).host


def test_this_run_works_in_a_database_of_its_own(database_url, sessions):
    base, mine = make_url(DATABASE_URL).database, make_url(database_url).database
    assert mine.startswith(f"{base}_run_{os.getpid()}_")
    with sessions() as session:
        assert session.execute(text("SELECT current_database()")).scalar() == mine
    # The base database is left alone: the run never dropped its schema.
    engine = make_engine(DATABASE_URL)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()


def test_this_run_has_a_redis_of_its_own_or_the_one_it_was_given(redis_url):
    given = os.environ.get("MALIPO_TEST_REDIS_URL")
    assert redis_url == given if given else redis_url.startswith("unix://")
    assert Redis.from_url(redis_url).ping()
