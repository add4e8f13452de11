"""A tenant holding personal data in every place the service keeps it: its profile, a
payer's number in a top-up and its callback, caller and callee numbers in usage, a
review item quoting the payer, an audit event of an address change, a finalised invoice
(with its PDF) and the ledger moves behind it."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from billing.core.clock import utcnow
from billing.core.ids import new_id
from billing.topups.models import CallbackDelivery, InboxStatus, Initiation, Topup, TopupStatus
from billing.topups.reviews import open_item
from tests.conftest import Caller
from tests.factories import charge, top_up
from tests.integration.invoicing.conftest import OCTOBER, usage


def number() -> str:
    return "2557" + "".join(str(b % 10) for b in os.urandom(8))


@dataclass
class Person:
    """A tenant and the personal values it gave (each unique to this test)."""

    caller: Caller
    values: dict[str, str]
    ids: dict[str, list] = field(default_factory=dict)


@pytest.fixture
def person(client, admin, finance, runtime) -> Person:
    tag = uuid.uuid4().hex[:10]
    values = {
        "name": f"Duka la Mama {tag}",
        "email": f"mama.{tag}@duka.co.tz",
        "msisdn": number(),
        "street": f"Plot {tag}, Uhuru Street",
        "payer": number(),
        "caller": number(),
        "callee": number(),
    }
    created = client.post("/v1/tenants", headers=admin.headers, json={
        "name": values["name"], "email": values["email"], "msisdn": values["msisdn"],
        "billing_mode": "postpaid", "currency": "TZS", "street": "Plot 1", "city": "Dodoma",
    })  # fmt: skip
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    caller = Caller(body["api_key"], body["id"])
    moved = client.patch(f"/v1/tenants/{caller.tenant_id}", headers=caller.headers,
                         json={"street": values["street"]})  # fmt: skip
    assert moved.status_code == 200, moved.get_json()
    tenant_id = caller.tenant_id
    ids: dict[str, list] = {}
    with runtime.unit_of_work() as session:
        topup = Topup(
            id=new_id("top"), tenant_id=tenant_id, reference=new_id("r")[-16:], provider="mpesa",
            msisdn=values["payer"], amount_minor=5_000_00, currency="TZS",
            status=TopupStatus.SUCCEEDED, initiation=Initiation.SENT,
            provider_txn_id=new_id("QK")[-12:], created_at=utcnow(), updated_at=utcnow(),
        )  # fmt: skip
        session.add(topup)
        session.flush()
        callback = CallbackDelivery(
            provider="mpesa", dedupe_key=f"mpesa:{topup.provider_txn_id}",
            status=InboxStatus.APPLIED, headers={"X-Payer": values["payer"]},
            body=json.dumps({"msisdn": values["payer"], "amount": 500000}).encode(),
            event={"msisdn": int(values["payer"]), "status": "success"}, topup_id=topup.id,
            received_at=utcnow(),
        )  # fmt: skip
        session.add(callback)
        session.flush()
        open_item(session, kind="amount_mismatch", summary=f"payer {values['payer']} sent less",
                  detail={"payer": values["payer"]}, tenant_id=tenant_id,
                  topup_id=topup.id)  # fmt: skip
        top_up(session, tenant_id, 5_000_00)
        charge(session, tenant_id, 5_000_00)
        records = [
            usage(tenant_id, net_minor=1_000_00, from_number=values["caller"],
                  to_number=values["callee"], raw={"src": values["caller"]}),
            usage(tenant_id, net_minor=2_000_00, from_number=values["caller"],
                  to_number="255754000111", at=datetime(2026, 10, 9, 9, tzinfo=UTC)),
        ]  # fmt: skip
        session.add_all(records)
        session.flush()
        ids["topups"] = [topup.id]
        ids["usage_records"] = [record.id for record in records]
    period = {"period_start": OCTOBER[0].isoformat(), "period_end": OCTOBER[1].isoformat()}
    draft = client.post("/v1/invoices", json={"tenant_id": tenant_id, **period},
                        headers=finance.headers)  # fmt: skip
    assert draft.status_code == 201, draft.get_json()
    invoice = client.post(f"/v1/invoices/{draft.get_json()['id']}/finalize", json={},
                          headers=finance.headers)  # fmt: skip
    assert invoice.status_code == 200, invoice.get_json()
    ids["invoices"] = [invoice.get_json()["id"]]
    return Person(caller, values, ids)


@pytest.fixture
def bystander(make_tenant, runtime) -> Caller:
    """Another tenant with data of its own, which no export or erasure may touch."""
    other = make_tenant()
    with runtime.unit_of_work() as session:
        top_up(session, other.tenant_id, 1_000_00)
        session.add(usage(other.tenant_id, from_number=number(), to_number=number()))
    return other
