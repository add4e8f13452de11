"""The zero-install default: the same migrations, API and ledger rules on SQLite."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from billing import create_app
from billing.auth.models import Role
from billing.auth.service import create_staff
from billing.core.config import Settings
from billing.core.errors import IdempotencyKeyReused, InsufficientFunds
from billing.ledger.integrity import find_discrepancies
from billing.ledger.service import reverse_transaction
from billing.runtime import EXTENSION
from billing.schema import upgrade
from tests.factories import charge, top_up


@pytest.fixture(scope="module")
def sqlite_app(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'malipo.sqlite3'}"
    upgrade(url)
    return create_app(Settings(database_url=url, testing=True, secret_key="t"))


def test_the_api_and_ledger_work_on_sqlite(sqlite_app):
    runtime = sqlite_app.extensions[EXTENSION]
    with runtime.unit_of_work() as session:
        _user, admin_key = create_staff(session, email="a@malipo.test", role=Role.ADMIN)
    client = sqlite_app.test_client()
    created = client.post(
        "/v1/tenants",
        json={
            "name": "Lite",
            "email": "l@lite.tz",
            "msisdn": "0655 123 456",
            "billing_mode": "prepaid",
            "currency": "TZS",
        },
        headers={"Authorization": f"Bearer {admin_key}", "Idempotency-Key": "lite"},
    )
    assert created.status_code == 201, created.get_json()
    tenant_id = created.get_json()["id"]

    with runtime.sessions.begin() as session:
        top_up(session, tenant_id, 3_000, key="sqlite-1")
    with runtime.sessions.begin() as session:
        assert top_up(session, tenant_id, 3_000, key="sqlite-1").replayed
    with pytest.raises(IdempotencyKeyReused), runtime.sessions.begin() as session:
        top_up(session, tenant_id, 4_000, key="sqlite-1")
    with pytest.raises(InsufficientFunds), runtime.sessions.begin() as session:
        charge(session, tenant_id, 3_001)
    with runtime.sessions.begin() as session:
        charge(session, tenant_id, 1_000)
        mistaken = top_up(session, tenant_id, 500, key="sqlite-2")
    with runtime.sessions.begin() as session:
        reverse_transaction(
            session,
            tenant_id=tenant_id,
            transaction_id=mistaken.id,
            idempotency_key="undo",
            reason="sent twice",
        )

    headers = {"Authorization": f"Bearer {created.get_json()['api_key']}"}
    wallet = client.get("/v1/wallet", headers=headers).get_json()
    assert wallet["balance"] == 2_000
    entries = client.get("/v1/wallet/entries", headers=headers).get_json()["items"]
    assert [e["amount"] for e in entries] == [-500, 500, -1_000, 3_000]
    assert entries[0]["created_at"].endswith("+00:00")
    with runtime.sessions() as session:
        assert find_discrepancies(session) == []


def test_posted_rows_are_append_only_on_sqlite_too(sqlite_app):
    runtime = sqlite_app.extensions[EXTENSION]
    for statement in (
        "UPDATE ledger_entries SET amount_minor = 1",
        "DELETE FROM ledger_transactions",
    ):
        with pytest.raises(DBAPIError, match="append-only"), runtime.sessions.begin() as session:
            session.execute(text(statement))


def test_wsgi_py_is_the_app_configured_from_the_environment(tmp_path, monkeypatch):
    import importlib
    import sys

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'wsgi.sqlite3'}")
    monkeypatch.delenv("REDIS_URL", raising=False)
    sys.modules.pop("wsgi", None)
    wsgi = importlib.import_module("wsgi")
    assert wsgi.app.test_client().get("/healthz").get_json() == {"status": "ok"}
