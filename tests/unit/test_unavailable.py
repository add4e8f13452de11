"""Every way a dependency can be away answers 503 with Retry-After, logged once, bodiless."""

from __future__ import annotations

import logging

import psycopg
import pytest
import redis
from flask import Flask
from sqlalchemy import exc

from billing.web import problems

SECRET = "255712999888"  # a payer's number, as a statement parameter would carry it


def raising(error: Exception) -> Flask:
    app = Flask("probe")
    problems.register(app)

    @app.post("/probe")
    def probe():
        raise error

    return app


OUTAGES = [
    exc.OperationalError("SELECT 1", {"msisdn": SECRET}, psycopg.OperationalError("refused")),
    exc.InterfaceError("SELECT 1", {"msisdn": SECRET}, psycopg.InterfaceError("closed")),
    exc.DisconnectionError("pooled connection is dead"),
    exc.TimeoutError("QueuePool limit of size 10 overflow 20 reached"),
    psycopg.OperationalError("consuming input failed: server closed the connection"),
    redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
    redis.TimeoutError("Timeout reading from socket"),
]


@pytest.mark.parametrize("error", OUTAGES, ids=lambda e: type(e).__module__ + type(e).__name__)
def test_an_unavailable_dependency_answers_503_problem_json_with_retry_after(error):
    response = raising(error).test_client().post("/probe")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    assert response.json["type"] == "/problems/unavailable"
    assert SECRET not in response.get_data(as_text=True)


def test_an_outage_is_logged_once_not_per_request_and_without_parameters(caplog, monkeypatch):
    monkeypatch.setattr(problems, "_outage_log", problems._OutageLog())
    client = raising(OUTAGES[0]).test_client()
    with caplog.at_level(logging.WARNING, logger=problems.__name__):
        for _ in range(20):
            assert client.post("/probe").status_code == 503
    lines = [r.getMessage() for r in caplog.records if r.name == problems.__name__]
    assert len(lines) == 1 and "database unavailable" in lines[0]
    assert SECRET not in lines[0] and not any(r.exc_info for r in caplog.records)


def test_a_bug_is_still_a_500():
    response = raising(ValueError("a bug")).test_client().post("/probe")
    assert response.status_code == 500 and "Retry-After" not in response.headers
