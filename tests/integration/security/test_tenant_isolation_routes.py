"""Tenant isolation, generated from the route table.

Every `/v1` route and method is classified here. Each one that names an object in its path
is called with another tenant's keys (tenant_admin and tenant_user), with a valid body,
an invalid body and an invalid query: the answer is always 404 problem+json, as if the
object did not exist, and the database is byte-for-byte unchanged. A route added without
a classification fails the test, so isolation is decided for it before it ships.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from billing.balance_adjustments.models import Direction
from billing.balance_adjustments.service import NewAdjustment
from billing.balance_adjustments.service import create as create_adjustment
from billing.core.clock import utcnow
from billing.core.ids import new_id
from billing.disputes.attachments import Upload
from billing.disputes.service import open_dispute
from billing.settlement.formats.mpesa import HEADER as MPESA_HEADER
from billing.settlement.payouts.service import reconcile_payout
from billing.settlement.service import import_statement
from billing.tenants.models import BillingMode
from billing.topups.api import CALLBACK_PROVIDERS
from billing.topups.models import Initiation, Topup, TopupStatus
from billing.topups.reviews import open_item
from tests.factories import on_default_plan
from tests.integration.invoicing.conftest import OCTOBER, usage

pytestmark = pytest.mark.integration

TENANT_OBJECT = "an object one tenant owns (its tenant, top-up, invoice, key, plan)"
STAFF_ONLY = "an object no tenant owns or sees (a review item)"
CALLBACK = "a provider's public callback: no key, the provider's own proof"
COLLECTION = "no id in the path: scoped by the caller's key (tenant_id in a query is 404)"


@dataclass(frozen=True)
class Route:
    kind: str
    body: Any = None  # a valid body for the route (ids filled in from the objects)
    owner: int | None = None  # what the object's own tenant_admin key gets


PAYMENT = {"amount": 100, "currency": "TZS", "method": "bank_transfer", "reference": "B-1"}
ROUTES: dict[tuple[str, str], Route] = {
    ("/v1/tenants/<tenant_id>", "GET"): Route(TENANT_OBJECT, owner=200),
    ("/v1/tenants/<tenant_id>", "PATCH"): Route(TENANT_OBJECT, {"city": "Arusha"}, owner=200),
    ("/v1/tenants/<tenant_id>/api-keys", "POST"): Route(
        TENANT_OBJECT, {"role": "tenant_user"}, owner=201
    ),
    ("/v1/tenants/<tenant_id>/rate-plan", "GET"): Route(TENANT_OBJECT, owner=200),
    ("/v1/tenants/<tenant_id>/rate-plan", "POST"): Route(
        TENANT_OBJECT, {"plan_id": "{plan_id}"}, owner=403
    ),
    ("/v1/api-keys/<key_id>/revoke", "POST"): Route(TENANT_OBJECT, owner=200),
    ("/v1/topups/<topup_id>", "GET"): Route(TENANT_OBJECT, owner=200),
    ("/v1/topups/<topup_id>/refunds", "GET"): Route(TENANT_OBJECT, owner=200),
    ("/v1/topups/<topup_id>/refund", "POST"): Route(
        TENANT_OBJECT, {"reason": "sent to the wrong wallet"}, owner=403
    ),
    ("/v1/rate-plans/<plan_id>", "GET"): Route(TENANT_OBJECT, owner=200),
    ("/v1/invoices/<invoice_id>", "GET"): Route(TENANT_OBJECT, owner=200),
    ("/v1/invoices/<invoice_id>/pdf", "GET"): Route(TENANT_OBJECT),
    ("/v1/invoices/<invoice_id>/payments", "GET"): Route(TENANT_OBJECT, owner=200),
    ("/v1/invoices/<invoice_id>/credits", "GET"): Route(TENANT_OBJECT, owner=200),
    ("/v1/invoices/<invoice_id>/finalize", "POST"): Route(TENANT_OBJECT, {}, owner=403),
    ("/v1/invoices/<invoice_id>/void", "POST"): Route(TENANT_OBJECT, owner=403),
    ("/v1/invoices/<invoice_id>/credit-notes", "POST"): Route(
        TENANT_OBJECT, {"reason": "overcharged"}, owner=403
    ),
    ("/v1/invoices/<invoice_id>/payments", "POST"): Route(
        TENANT_OBJECT, {**PAYMENT, "received_at": "2026-11-02T10:00:00+03:00"}, owner=403
    ),
    ("/v1/invoices/<invoice_id>/refunds", "POST"): Route(TENANT_OBJECT, PAYMENT, owner=403),
    ("/v1/invoices/<invoice_id>/fiscal-confirmation", "POST"): Route(
        TENANT_OBJECT, {"verification_code": "ABC123"}, owner=403
    ),
    ("/v1/tenants/<tenant_id>/exports", "POST"): Route(TENANT_OBJECT, owner=202),
    ("/v1/exports/<export_id>", "GET"): Route(TENANT_OBJECT, owner=200),
    ("/v1/tenants/<tenant_id>/restriction", "PUT"): Route(
        TENANT_OBJECT, {"reason": "x"}, owner=200
    ),
    ("/v1/tenants/<tenant_id>/restriction", "DELETE"): Route(TENANT_OBJECT, owner=200),
    ("/v1/exports/<export_id>/archive", "GET"): Route(TENANT_OBJECT, owner=200),
    ("/v1/tenants/<tenant_id>/erasure-requests", "POST"): Route(
        TENANT_OBJECT,
        {"note": "closing"},
        owner=409,  # one is open already
    ),
    ("/v1/erasure-requests/<erasure_id>", "GET"): Route(TENANT_OBJECT, owner=200),
    ("/v1/erasure-requests/<erasure_id>/approve", "POST"): Route(TENANT_OBJECT, {}, owner=403),
    ("/v1/erasure-requests/<erasure_id>/reject", "POST"): Route(TENANT_OBJECT, {}, owner=403),
    ("/v1/review-items/<item_id>/resolve", "POST"): Route(
        STAFF_ONLY, {"resolution": "checked"}, owner=404
    ),
    ("/v1/review-items/<item_id>/credit", "POST"): Route(
        STAFF_ONLY, {"note": "on the statement"}, owner=404
    ),
    ("/v1/reconciliations/<reconciliation_id>", "GET"): Route(STAFF_ONLY, owner=404),
    ("/v1/reconciliations/<reconciliation_id>/lines", "GET"): Route(STAFF_ONLY, owner=404),
    ("/v1/reconciliations/<reconciliation_id>/report", "GET"): Route(STAFF_ONLY, owner=404),
    ("/v1/stripe-payouts/<payout_id>", "GET"): Route(STAFF_ONLY, owner=404),
    ("/v1/stripe-payouts/<payout_id>/report", "GET"): Route(STAFF_ONLY, owner=404),
    ("/v1/disputes/<dispute_id>", "GET"): Route(TENANT_OBJECT, owner=200),
    ("/v1/disputes/<dispute_id>/comments", "POST"): Route(
        TENANT_OBJECT, {"body": "any news?"}, owner=201
    ),
    ("/v1/disputes/<dispute_id>/attachments/<attachment_id>", "GET"): Route(
        TENANT_OBJECT, owner=200
    ),
    ("/v1/disputes/<dispute_id>/evidence", "GET"): Route(TENANT_OBJECT, owner=403),
    ("/v1/disputes/<dispute_id>/assign", "POST"): Route(TENANT_OBJECT, {}, owner=403),
    ("/v1/disputes/<dispute_id>/resolve", "POST"): Route(
        TENANT_OBJECT, {"outcome": "rejected", "note": "paid as billed"}, owner=403
    ),
    ("/v1/review-items/<item_id>/dispute", "POST"): Route(STAFF_ONLY, {}, owner=404),
    ("/v1/adjustments/<adjustment_id>", "GET"): Route(STAFF_ONLY, owner=404),
    ("/v1/adjustments/<adjustment_id>/approve", "POST"): Route(STAFF_ONLY, {}, owner=404),
    ("/v1/adjustments/<adjustment_id>/reject", "POST"): Route(
        STAFF_ONLY, {"note": "no outage"}, owner=404
    ),
    (f"/v1/callbacks/<any({CALLBACK_PROVIDERS}):provider>", "POST"): Route(CALLBACK),
    (f"/v1/callbacks/<any({CALLBACK_PROVIDERS}):provider>/<path_token>", "POST"): Route(CALLBACK),
    **{
        (path, method): Route(COLLECTION)
        for path, methods in {
            "/v1/tenants": ("POST",),
            "/v1/wallet": ("GET",),
            "/v1/wallet/entries": ("GET",),
            "/v1/topups": ("GET", "POST"),
            "/v1/review-items": ("GET",),
            "/v1/rate-plans": ("POST",),
            "/v1/destinations/import": ("POST",),
            "/v1/destinations/lookup": ("GET",),
            "/v1/fx-rates": ("POST",),
            "/v1/authorize": ("POST",),
            "/v1/usage": ("GET",),
            "/v1/usage/bundles": ("GET",),
            "/v1/usage/cdrs": ("POST",),
            "/v1/usage/cdrs/import": ("POST",),
            "/v1/usage/messages": ("POST",),
            "/v1/usage/rerate": ("POST",),
            "/v1/usage/retry": ("POST",),
            "/v1/invoices": ("GET", "POST"),
            "/v1/invoice-runs": ("POST",),
            "/v1/reports/aged-receivables": ("GET",),
            "/v1/dunning/runs": ("POST",),
            "/v1/zreports": ("GET", "POST"),
            "/v1/fiscal/stuck": ("GET",),
            "/v1/audit-events": ("GET",),
            "/v1/reconciliations": ("GET", "POST"),
            "/v1/reconciliations/summary": ("GET",),
            "/v1/stripe-payouts": ("GET", "POST"),
            "/v1/disputes": ("GET", "POST"),
            "/v1/adjustments": ("GET", "POST"),
            "/v1/portal-sessions": ("POST",),
            "/v1/saved-card": ("GET", "POST"),
            "/v1/saved-card/auto-recharge": ("PUT",),
        }.items()
        for method in methods
    },
}
INVALID_QUERY = "?version=x&limit=x&cursor=%00"
INVALID_BODIES: tuple[Any, ...] = ({"bogus": 1, "role": "admin", "amount": "x"}, [1], "nonsense")


def _v1_routes(app) -> list[tuple[str, str]]:
    return sorted(
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/v1/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    )


ROW_SEP, NONE = "',' ORDER BY t::text", "''"


def _fingerprint(session) -> dict[str, str]:
    """Every table's rows, hashed: equal fingerprints mean nothing was written."""
    tables = session.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
    ).scalars()
    return {
        table: session.execute(
            text(f'SELECT md5(coalesce(string_agg(t::text, {ROW_SEP}), {NONE})) FROM "{table}" t')
        ).scalar_one()
        for table in tables
    }


def test_every_v1_route_is_classified(app):
    unclassified = [route for route in _v1_routes(app) if route not in ROUTES]
    assert unclassified == [], "classify these routes in ROUTES (and so decide who sees them)"


@pytest.fixture
def victims(client, admin, finance, make_tenant, runtime):
    """Two tenants' objects (prepaid: top-up, key, plan, review item; postpaid: a final
    invoice), by the path parameter that names them, and the key of each one's owner."""
    prepaid = make_tenant()
    postpaid = make_tenant(billing_mode=BillingMode.POSTPAID)
    key = client.post(
        f"/v1/tenants/{prepaid.tenant_id}/api-keys",
        json={"role": "tenant_user"},
        headers=prepaid.headers,
    ).get_json()
    with runtime.unit_of_work() as session:
        plan = on_default_plan(session, prepaid.tenant_id)
        topup = Topup(
            id=new_id("top"),
            tenant_id=prepaid.tenant_id,
            reference=new_id("r")[-16:],
            provider="mpesa",
            msisdn="255754000111",
            amount_minor=5_000_00,
            currency="TZS",
            status=TopupStatus.SUCCEEDED,
            initiation=Initiation.SENT,
            provider_txn_id=new_id("QK")[-12:],
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        session.add(topup)
        session.flush()
        open_item(
            session,
            kind="amount_mismatch",
            summary="the callback said TZS 4,000",
            detail={},
            tenant_id=prepaid.tenant_id,
            topup_id=topup.id,
        )
        session.add(usage(postpaid.tenant_id, net_minor=12_345_67))
        statement = import_statement(
            session,
            fmt="mpesa",
            source=io.BytesIO(
                f"{MPESA_HEADER}\nR{topup.id[-9:]},01-12-2026 10:00:00,,Pay Bill Online,Completed,"
                f"50.00,,,true,,255754000111 - A,,NOT-OURS\n".encode()
            ),
            filename="isolation.csv",
            actor="test",
        ).statement
        stamp = int(utcnow().timestamp())
        payout = reconcile_payout(
            session,
            {
                "id": new_id("po"),
                "amount": 0,
                "currency": "tzs",
                "status": "paid",
                "automatic": True,
                "created": stamp,
                "arrival_date": stamp,
            },
            [],
            actor="test",
        ).payout
        dispute = open_dispute(
            session, tenant_id=prepaid.tenant_id, subject_kind="topup", subject_id=topup.id,
            message="paid twice", opened_by=prepaid.tenant_id,
            uploads=[Upload("proof.txt", "text/plain", b"receipt QK12345")],
        )  # fmt: skip
        attachment_id = dispute.attachments[0].id
        adjustment = create_adjustment(
            session, runtime.settings,
            NewAdjustment(prepaid.tenant_id, Direction.CREDIT, 500_000_00, "TZS", "goodwill",
                          "outage"),
            maker="stf_isolation",
        )  # fmt: skip
    with runtime.sessions() as session:
        item_id = session.execute(
            text("SELECT id FROM review_items WHERE topup_id = :t"), {"t": topup.id}
        ).scalar_one()
    period = {"period_start": OCTOBER[0].isoformat(), "period_end": OCTOBER[1].isoformat()}
    draft = client.post(
        "/v1/invoices", json={"tenant_id": postpaid.tenant_id, **period}, headers=finance.headers
    )
    assert draft.status_code == 201, draft.get_json()
    invoice = client.post(
        f"/v1/invoices/{draft.get_json()['id']}/finalize", json={}, headers=finance.headers
    )
    assert invoice.status_code == 200, invoice.get_json()
    export = client.post(f"/v1/tenants/{prepaid.tenant_id}/exports", headers=prepaid.headers)
    erasure = client.post(
        f"/v1/tenants/{prepaid.tenant_id}/erasure-requests", json={}, headers=prepaid.headers
    )
    assert export.status_code == 202 and erasure.status_code == 202, erasure.get_json()
    objects = {
        "export_id": (export.get_json()["id"], prepaid),
        "erasure_id": (erasure.get_json()["id"], prepaid),
        "tenant_id": (prepaid.tenant_id, prepaid),
        "key_id": (key["id"], prepaid),
        "topup_id": (topup.id, prepaid),
        "plan_id": (plan.plan_id, prepaid),
        "item_id": (item_id, prepaid),
        "invoice_id": (invoice.get_json()["id"], postpaid),
        "reconciliation_id": (statement.id, prepaid),
        "payout_id": (payout.id, prepaid),
        "dispute_id": (dispute.id, prepaid),
        "attachment_id": (attachment_id, prepaid),
        "adjustment_id": (adjustment.id, prepaid),
    }
    return objects


def _fill(template: str, objects: dict) -> str:
    for name, (value, _owner) in objects.items():
        template = template.replace(f"<{name}>", value).replace(f"{{{name}}}", value)
    return template


def _requests(path: str, route: Route, objects: dict):
    """(url, json body) pairs: the valid request, then the invalid ones."""
    valid = route.body
    if isinstance(valid, dict):
        valid = {name: _fill(value, objects) if isinstance(value, str) else value
                 for name, value in valid.items()}  # fmt: skip
    yield path, valid
    for body in INVALID_BODIES:
        yield path, body
    yield path + INVALID_QUERY, valid


def test_another_tenants_object_is_404_on_every_route_and_nothing_changes(
    app, client, make_tenant, victims, sessions
):
    _intruder_finds_nothing_and_changes_nothing(app, client, make_tenant, victims, sessions)

    # the objects are real: each owner's own key is answered (or refused by role) normally
    for rule, method, route in _named(app):
        if route.owner is None:
            continue
        param = rule.split("<")[1].split(">")[0]
        owner = victims[param][1]
        response = client.open(
            _fill(rule, victims), method=method,
            json=next(_requests("", route, victims))[1], headers=owner.headers,
        )  # fmt: skip
        assert response.status_code == route.owner, (method, rule, response.get_json())


@pytest.fixture
def unscoped(database_url):
    """The app with its own scoping switched off: every finder and query believes the
    caller may see any tenant, so only PostgreSQL's row-level security keeps them apart."""
    from billing import create_app
    from billing.core.config import Settings

    return create_app(
        Settings(database_url=database_url, testing=True, secret_key="t", application_scoping=False)
    )


def test_row_level_security_alone_keeps_another_tenants_objects_out_of_reach(
    unscoped, make_tenant, victims, sessions
):
    _intruder_finds_nothing_and_changes_nothing(
        unscoped, unscoped.test_client(), make_tenant, victims, sessions
    )


def test_switching_the_application_scoping_off_really_removes_it(unscoped, make_tenant, victims):
    """The switch is not a no-op: an unscoped tenant key, naming another tenant with a
    staff-style filter the application would refuse, is stopped by the database alone
    (an empty list, not the application's 404)."""
    intruder = make_tenant()
    victim = victims["topup_id"][1]
    scoped = unscoped.test_client().get(
        f"/v1/topups?tenant_id={victim.tenant_id}", headers=intruder.headers
    )
    assert scoped.status_code == 200, scoped.get_json()
    assert scoped.get_json()["items"] == []
    own = unscoped.test_client().get(
        f"/v1/topups?tenant_id={victim.tenant_id}", headers=victim.headers
    )
    assert [item["id"] for item in own.get_json()["items"]] == [victims["topup_id"][0]]


def _named(app) -> list[tuple[str, str, Route]]:
    return [
        (rule, method, ROUTES[rule, method])
        for rule, method in _v1_routes(app)
        if ROUTES.get((rule, method), Route(COLLECTION)).kind in (TENANT_OBJECT, STAFF_ONLY)
    ]


def _intruder_finds_nothing_and_changes_nothing(app, client, make_tenant, victims, sessions):
    intruder = make_tenant()
    user = client.post(
        f"/v1/tenants/{intruder.tenant_id}/api-keys",
        json={"role": "tenant_user"},
        headers=intruder.headers,
    ).get_json()["api_key"]
    keys = {"tenant_admin": intruder.headers, "tenant_user": {"Authorization": f"Bearer {user}"}}
    named = _named(app)
    assert len(named) >= 19

    with sessions() as session:
        before = _fingerprint(session)
    wrong = []
    for rule, method, route in named:
        for role, headers in keys.items():
            for n, (url, body) in enumerate(_requests(_fill(rule, victims), route, victims)):
                response = client.open(
                    url,
                    method=method,
                    json=body,
                    headers={**headers, "Idempotency-Key": f"isolation-{n}"},
                )
                if response.status_code != 404 or response.mimetype != "application/problem+json":
                    wrong.append((method, rule, role, n, response.status_code))
    with sessions() as session:
        after = _fingerprint(session)
    assert wrong == [], "\n".join(map(str, wrong))
    assert {t for t in before if before[t] != after.get(t)} == set()


def test_a_path_parameter_without_a_finder_is_refused_not_left_unchecked(
    database_url, tenant, caplog
):
    """A programming error, so a 500 and a logged LookupError: never a view run unchecked."""
    from billing import create_app
    from billing.auth.access import ANYONE, requires
    from billing.core.config import Settings

    app = create_app(Settings(database_url=database_url, testing=True, secret_key="t"))

    @app.get("/v1/gadgets/<gadget_id>")
    @requires(*ANYONE)
    def gadget(gadget_id: str):
        return {"id": gadget_id}

    response = app.test_client().get("/v1/gadgets/gad_1", headers=tenant.headers)
    assert response.status_code == 500 and "gad_1" not in response.get_data(as_text=True)
    assert "no finder for the path parameter 'gadget_id'" in caplog.text
