"""The back office: password + TOTP, lockout, re-authentication before finalising."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from billing.auth.models import Role
from billing.backoffice import credentials
from tests.integration.pages.conftest import csrf_of, sign_in

pytestmark = pytest.mark.integration


def test_password_alone_is_not_enough(app, staff_member) -> None:
    email, password, _totp, _enrolment = staff_member()
    browser = app.test_client()
    token = csrf_of(browser.get("/office/sign-in"))
    browser.post(
        "/office/sign-in", data={"email": email, "password": password, "csrf_token": token}
    )
    assert browser.get("/office/").status_code == 302  # still to the sign-in
    wrong = browser.post("/office/sign-in/code", data={"code": "000000", "csrf_token": token})
    assert wrong.status_code == 401


def test_a_totp_code_works_once(app, staff_member) -> None:
    email, password, totp, _enrolment = staff_member()
    code = totp.now()  # replayed as it was: asking again may cross into the next 30 s step
    sign_in(app.test_client(), email, password, SimpleNamespace(now=lambda: code))
    replay = app.test_client()
    token = csrf_of(replay.get("/office/sign-in"))
    replay.post("/office/sign-in", data={"email": email, "password": password, "csrf_token": token})
    assert (
        replay.post("/office/sign-in/code", data={"code": code, "csrf_token": token}).status_code
        == 401
    )


def test_recovery_code_once(app, staff_member) -> None:
    email, password, _totp, enrolment = staff_member()
    for expected in (303, 401):
        browser = app.test_client()
        token = csrf_of(browser.get("/office/sign-in"))
        browser.post(
            "/office/sign-in", data={"email": email, "password": password, "csrf_token": token}
        )
        done = browser.post(
            "/office/sign-in/code", data={"code": enrolment.recovery_codes[0], "csrf_token": token}
        )
        assert done.status_code == expected


def test_lockout_after_failures(app, staff_member) -> None:
    email, password, _totp, _enrolment = staff_member()
    browser = app.test_client()
    token = csrf_of(browser.get("/office/sign-in"))
    for _ in range(credentials.LOCK_AFTER):
        wrong = browser.post(
            "/office/sign-in",
            data={"email": email, "password": "nope nope nope", "csrf_token": token},
        )
        assert wrong.status_code == 401
    right = browser.post(
        "/office/sign-in", data={"email": email, "password": password, "csrf_token": token}
    )
    assert right.status_code == 401 and "locked" in right.get_data(as_text=True)


def test_finance_pages_need_the_role(app, staff_member) -> None:
    email, password, totp, _enrolment = staff_member(Role.FINANCE)
    browser = app.test_client()
    sign_in(browser, email, password, totp)
    assert browser.get("/office/reviews").status_code == 200
    assert browser.get("/office/tenants").status_code == 403


def _postpaid_draft(runtime, make_tenant):
    from datetime import date

    from billing.invoicing import service
    from billing.tenants.models import BillingMode
    from tests.integration.invoicing.conftest import usage

    tenant = make_tenant(billing_mode=BillingMode.POSTPAID)
    with runtime.unit_of_work() as session:
        session.add(usage(tenant.tenant_id))
        session.flush()
        draft, _made = service.create_postpaid_draft(
            session, "test", tenant.tenant_id, date(2026, 10, 1), date(2026, 11, 1)
        )
    return draft.id


def test_money_moves_only_after_recent_reauthentication(app, runtime, staff_member, make_tenant):
    from sqlalchemy import update

    from billing.core.clock import utcnow
    from billing.invoicing.models import Invoice
    from billing.pages.models import WebSession

    draft_id = _postpaid_draft(runtime, make_tenant)
    email, password, totp, _enrolment = staff_member(Role.FINANCE)
    browser = app.test_client()
    sign_in(browser, email, password, totp)
    with runtime.unit_of_work() as session:  # the sign-in was long enough ago
        session.execute(
            update(WebSession)
            .where(WebSession.user_email == email)
            .values(reauth_at=utcnow() - credentials.LOCK_FOR)
        )
    token = csrf_of(browser.get(f"/office/invoices/{draft_id}"))
    sent = browser.post(f"/office/invoices/{draft_id}/finalize", data={"csrf_token": token})
    assert sent.status_code == 303 and "/office/reauth" in sent.headers["Location"]
    with runtime.sessions() as session:
        assert session.get(Invoice, draft_id).status.value == "draft"  # nothing happened

    wrong = browser.post("/office/reauth", data={"password": password, "code": "123456",
                                                 "csrf_token": token})  # fmt: skip
    assert wrong.status_code == 401
    import time

    time.sleep(max(0, 30 - time.time() % 30) + 0.1)  # the next TOTP step: codes are used once
    again = browser.post("/office/reauth", data={"password": password, "code": totp.now(),
                                                 "csrf_token": token})  # fmt: skip
    assert again.status_code == 303
    done = browser.post(f"/office/invoices/{draft_id}/finalize", data={"csrf_token": token})
    assert done.status_code == 303 and done.headers["Location"].endswith(draft_id)
    with runtime.sessions() as session:
        final = session.get(Invoice, draft_id)
        assert final.status.value != "draft" and final.number_text
    page = browser.get(f"/office/invoices/{draft_id}").get_data(as_text=True)
    assert "Record a payment" in page
    paid = browser.post(f"/office/invoices/{draft_id}/payments", data={
        "amount": "1.00", "method": "bank_transfer", "reference": "CRDB-1",
        "received_on": "2026-11-05", "csrf_token": token})  # fmt: skip
    assert paid.status_code == 303
    with runtime.sessions() as session:
        assert session.get(Invoice, draft_id).amount_paid_minor == 100


def test_tenant_admin_updates_tin_through_the_api_rules(app, tenant, runtime):
    from billing.portal.links import create_link
    from billing.tenants.models import Tenant

    with runtime.unit_of_work() as session:
        _link, token = create_link(
            session, actor="t", tenant_id=tenant.tenant_id, user_email="a@b.tz",
            role=Role.TENANT_ADMIN, return_url=None,
        )  # fmt: skip
    browser = app.test_client()
    browser.get(f"/portal/start/{token}")
    csrf = csrf_of(browser.get("/portal/profile"))
    form = {"street": "Plot 5", "city": "Arusha", "country": "TZ", "language": "sw",
            "tin": "12345678", "vrn": "", "po_box": "", "csrf_token": csrf}  # fmt: skip
    bad = browser.post("/portal/profile", data=form)
    assert bad.status_code == 422 and 'id="e-tin"' in bad.get_data(as_text=True)
    good = browser.post("/portal/profile", data={**form, "tin": "123-456-789"})
    assert good.status_code == 200 and "Imehifadhiwa" in good.get_data(as_text=True)
    with runtime.sessions() as session:
        saved = session.get(Tenant, tenant.tenant_id)
        assert (saved.tin, saved.city, saved.language.value) == ("123456789", "Arusha", "sw")


def test_admin_imports_destinations_all_or_nothing(app, staff_member, runtime) -> None:
    import io

    from sqlalchemy import select

    from billing.audit.models import AuditEvent

    email, password, totp, _enrolment = staff_member(Role.ADMIN)
    browser = app.test_client()
    sign_in(browser, email, password, totp)
    token = csrf_of(browser.get("/office/destinations"))
    header = "prefix,zone,name,country,operator,market,valid_from,valid_to\n"
    bad = browser.post("/office/destinations", data={
        "csrf_token": token,
        "file": (io.BytesIO((header + "88391,PG-A,,,,,,\nxyz,PG-B,,,,,,\n").encode()), "d.csv"),
    })  # fmt: skip
    assert bad.status_code == 422 and "Nothing was loaded" in bad.get_data(as_text=True)
    good = browser.post("/office/destinations", data={
        "csrf_token": token,
        "file": (io.BytesIO((header + "88391,PG-A,,,,,,\n").encode()), "d.csv"),
    })  # fmt: skip
    assert good.status_code == 200 and "Loaded 1 new rows" in good.get_data(as_text=True)
    with runtime.sessions() as session:
        assert session.execute(
            select(AuditEvent).where(AuditEvent.action == "destinations.imported")
        ).first()


def test_admin_creates_and_suspends_a_tenant(app, staff_member, runtime, client) -> None:
    from sqlalchemy import select

    from billing.audit.models import AuditEvent
    from billing.tenants.models import Tenant

    email, password, totp, _enrolment = staff_member(Role.ADMIN)
    browser = app.test_client()
    sign_in(browser, email, password, totp)
    token = csrf_of(browser.get("/office/tenants"))
    form = {
        "name": "Pwani Traders", "email": "pay@pwani.co.tz", "msisdn": "0754 123 456",
        "billing_mode": "prepaid", "currency": "TZS", "tin": "1234", "csrf_token": token,
    }  # fmt: skip
    refused = browser.post("/office/tenants", data=form)
    assert refused.status_code == 422 and 'id="e-tin"' in refused.get_data(as_text=True)
    made = browser.post("/office/tenants", data={**form, "tin": "123-456-789"})
    page = made.get_data(as_text=True)
    assert made.status_code == 200 and "Pwani Traders" in page
    key = page.split('<code class="secret">')[1].split("<")[0]
    assert client.get("/v1/wallet", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    with runtime.sessions() as session:
        tenant_id = session.execute(
            select(Tenant.id).where(Tenant.name == "Pwani Traders")
        ).scalar()
    suspended = browser.post(f"/office/tenants/{tenant_id}/status",
                             data={"status": "suspended", "csrf_token": token})  # fmt: skip
    assert suspended.status_code == 303
    with runtime.sessions() as session:
        assert session.get(Tenant, tenant_id).status.value == "suspended"
        actions = session.execute(
            select(AuditEvent.action).where(AuditEvent.subject_id == tenant_id)
        ).scalars()
        assert {"tenant.created", "tenant.suspended"} <= set(actions)


def test_finance_runs_a_period_and_sees_its_progress(app, staff_member, runtime, make_tenant):
    draft_id = _postpaid_draft(runtime, make_tenant)
    assert draft_id
    email, password, totp, _enrolment = staff_member(Role.FINANCE)
    browser = app.test_client()
    sign_in(browser, email, password, totp)
    token = csrf_of(browser.get("/office/invoice-runs"))
    ran = browser.post("/office/invoice-runs", data={
        "period_start": "2026-10-01", "period_end": "2026-11-01", "csrf_token": token})  # fmt: skip
    text = ran.get_data(as_text=True)
    assert ran.status_code == 200 and "already there" in text
    progress = browser.get("/office/invoice-runs/progress?period_start=2026-10-01")
    assert progress.status_code == 200 and "<progress" in progress.get_data(as_text=True)
    assert browser.get("/office/zreports").status_code == 200


def test_finance_makes_a_draft_from_the_invoices_page(app, staff_member, runtime, make_tenant):
    from billing.tenants.models import BillingMode
    from tests.integration.invoicing.conftest import usage

    tenant = make_tenant(billing_mode=BillingMode.POSTPAID)
    with runtime.unit_of_work() as session:
        session.add(usage(tenant.tenant_id))
    email, password, totp, _enrolment = staff_member(Role.FINANCE)
    browser = app.test_client()
    sign_in(browser, email, password, totp)
    token = csrf_of(browser.get("/office/invoices"))
    form = {"tenant_id": tenant.tenant_id, "period_start": "2026-10-01",
            "period_end": "2026-11-01", "csrf_token": token}  # fmt: skip
    made = browser.post("/office/invoices", data=form)
    assert made.status_code == 303 and "/office/invoices/inv_" in made.headers["Location"]
    bad = browser.post("/office/invoices", data={**form, "period_start": "yesterday"})
    assert bad.status_code == 422 and 'id="e-period_start"' in bad.get_data(as_text=True)
