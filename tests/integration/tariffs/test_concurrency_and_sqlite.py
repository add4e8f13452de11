"""Two loads at once queue rather than both placing overlapping rows; plan validity ends;
and the tariff path on the zero-install SQLite default."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime, timedelta

import pytest

from billing import create_app
from billing.auth.models import Role
from billing.auth.service import create_staff
from billing.core.config import Settings
from billing.core.errors import InvalidInput
from billing.runtime import EXTENSION
from billing.schema import upgrade
from billing.tariffs.destination_store import load_destination_file
from billing.tariffs.rate_plans import assign_plan, save_plan
from billing.tariffs.seed import default_plan_definition
from billing.tariffs.service import NoRatePlan, current_destinations, tariff_for
from tests.factories import top_up
from tests.locks import waiting_on_a_lock
from tests.polling import eventually

pytestmark = pytest.mark.integration
HEADER = "prefix,zone\n"


def test_a_second_load_waits_for_the_first_and_sees_its_rows(sessions):
    first = sessions()
    first.begin()
    load_destination_file(first, io.StringIO(HEADER + "88281,T-FIRST\n"))
    outcome: dict[str, object] = {}

    def second_load() -> None:
        try:
            with sessions.begin() as session:
                load_destination_file(session, io.StringIO(HEADER + "88281,T-SECOND\n"))
            outcome["result"] = "loaded"
        except InvalidInput as refused:
            outcome["result"] = refused.errors

    worker = threading.Thread(target=second_load)
    worker.start()
    assert eventually(lambda: waiting_on_a_lock(sessions, "tariff_generations"))
    assert worker.is_alive()  # queued behind the first load's lock
    first.commit()
    first.close()
    worker.join(timeout=10)
    assert "overlaps a stored row" in outcome["result"]["line 2"][0]
    with sessions() as session:
        assert current_destinations(session).match("882811234567", datetime.now(UTC)).zone == (
            "T-FIRST"
        )


def test_a_plan_version_with_an_end_leaves_no_plan_after_it(sessions, tenant):
    now = datetime.now(UTC)
    code = f"END-{now.timestamp():.0f}-{tenant.tenant_id[-6:]}"
    with sessions.begin() as session:
        saved = save_plan(
            session,
            code,
            "Ends",
            default_plan_definition(),
            valid_from=now - timedelta(days=10),
            valid_to=now - timedelta(days=1),
        )
        assign_plan(session, tenant.tenant_id, saved.plan.id, valid_from=now - timedelta(days=10))
    with sessions() as session:
        assert tariff_for(session, tenant.tenant_id, now - timedelta(days=2)).plan_version == 1
        with pytest.raises(NoRatePlan):
            tariff_for(session, tenant.tenant_id, now)


def test_tariffs_and_authorisation_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'tariffs.sqlite3'}"
    upgrade(url)
    app = create_app(Settings(database_url=url, testing=True, secret_key="t"))
    runtime = app.extensions[EXTENSION]
    with runtime.unit_of_work() as session:
        _user, admin_key = create_staff(session, email="a@malipo.test", role=Role.ADMIN)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {admin_key}"}
    csv = "prefix,zone,country\n25575,TZ-MOB-VODACOM,TZ\n2557,TZ-MOB,TZ\n"
    loaded = client.post(
        "/v1/destinations/import", data=csv, content_type="text/csv", headers=headers
    )
    assert loaded.get_json() == {"loaded": 2, "superseded": 0, "unchanged": 0}
    plan = client.post(
        "/v1/rate-plans",
        json={
            "code": "LITE",
            "name": "Lite",
            "currency": "TZS",
            "valid_from": "2020-01-01T00:00:00Z",
            "duration_rates": [{"service": "voice", "zone": "*", "rate": "60"}],
        },
        headers=headers,
    ).get_json()
    tenant = client.post(
        "/v1/tenants",
        json={
            "name": "Lite",
            "email": "l@lite.tz",
            "msisdn": "0655 123 456",
            "billing_mode": "prepaid",
            "currency": "TZS",
        },
        headers=headers,
    ).get_json()
    assigned = client.post(
        f"/v1/tenants/{tenant['id']}/rate-plan",
        json={"plan_id": plan["id"], "valid_from": "2020-01-01T00:00:00Z"},
        headers=headers,
    )
    assert assigned.status_code == 201
    with runtime.sessions.begin() as session:
        top_up(session, tenant["id"], 150_00)
    answer = client.post(
        "/v1/authorize",
        json={"tenant_id": tenant["id"], "service": "voice", "destination": "0754000111"},
        headers=headers,
    ).get_json()
    # 60/60 at 60.00 + VAT = 70.80 a minute: two minutes fit in 150.00
    assert (answer["allowed"], answer["max_seconds"]) == (True, 120)
    assert answer["rate"]["zone"] == "TZ-MOB-VODACOM"
