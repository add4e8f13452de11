"""The portal's disputes: the list, a dispute without internal comments, opening one from
a usage row, a top-up's statement line or an invoice, a reply, CSRF, another tenant's 404;
each through the service the API calls, told to the tenant as the API tells it."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from billing.core.ids import new_id
from billing.disputes.models import Dispute
from billing.events.models import PlatformEvent
from billing.invoicing import service as invoicing
from billing.ledger.service import post_transactions
from billing.tenants.models import BillingMode
from billing.topups.models import Topup, TopupStatus
from billing.topups.outcomes import credit_transaction
from tests.integration.disputes.support import PDF, attachment, open_dispute
from tests.integration.invoicing.conftest import usage
from tests.integration.pages.conftest import csrf_of

pytestmark = pytest.mark.integration
LINK = re.compile(r'href="(/portal/disputes/new\?[^"]+)"')


def _usage_record(runtime, tenant_id: str) -> int:
    with runtime.unit_of_work() as session:
        record = usage(tenant_id, net_minor=25_000_00, vat_minor=4_500_00)
        session.add(record)
        session.flush()
        return record.id


def _credited_topup(runtime, tenant_id: str) -> str:
    """A paid top-up and its wallet credit (the statement line a tenant disputes)."""
    with runtime.unit_of_work() as session:
        topup = Topup(
            id=new_id("top"), tenant_id=tenant_id, reference=new_id("r")[-20:],
            provider="mpesa", msisdn="255754000111", amount_minor=10_000_00, currency="TZS",
            status=TopupStatus.SUCCEEDED, initiation="sent",
        )  # fmt: skip
        session.add(topup)
        session.flush()
        post_transactions(session, [credit_transaction(topup, "MP123")])
        return topup.id


def _portal(app, portal_link, tenant_id: str):
    browser = app.test_client()
    assert browser.get(portal_link(tenant_id)).status_code == 302
    return browser


def _dispute_events(sessions, tenant_id: str) -> list[str]:
    with sessions() as session:
        return list(
            session.execute(
                select(PlatformEvent.type)
                .where(PlatformEvent.tenant_id == tenant_id)
                .where(PlatformEvent.type.startswith("dispute."))
                .order_by(PlatformEvent.created_at, PlatformEvent.id)
            ).scalars()
        )


def test_open_from_a_usage_row_then_reply(app, runtime, tenant, portal_link, sessions) -> None:
    record_id = _usage_record(runtime, tenant.tenant_id)
    browser = _portal(app, portal_link, tenant.tenant_id)
    page = browser.get("/portal/usage").get_data(as_text=True)
    [link] = [href for href in LINK.findall(page) if f"subject_id={record_id}" in href]
    assert "subject_type=usage" in link
    form = browser.get(link.replace("&amp;", "&"))
    text = form.get_data(as_text=True)
    assert form.status_code == 200 and f"Usage record {record_id}" in text
    assert 'value="usage"' in text and f'value="{record_id}"' in text  # pre-filled subject

    once = re.search(r'name="once" value="([^"]+)"', text)[1]
    fields = {"subject_type": "usage", "subject_id": str(record_id), "line": "",
              "once": once, "csrf_token": csrf_of(form)}  # fmt: skip
    empty = browser.post("/portal/disputes/new", data={**fields, "reason": ""})
    assert empty.status_code == 422 and 'id="e-reason"' in empty.get_data(as_text=True)
    too_long = browser.post("/portal/disputes/new", data={**fields, "reason": "x" * 2001})
    assert too_long.status_code == 422 and 'id="e-reason"' in too_long.get_data(as_text=True)
    bad_amount = browser.post(
        "/portal/disputes/new", data={**fields, "reason": "Twice", "amount": "1.234"}
    )
    assert bad_amount.status_code == 422 and 'id="e-amount"' in bad_amount.get_data(as_text=True)

    made = browser.post(
        "/portal/disputes/new",
        data={**fields, "reason": "This call was never made", "amount": "29,500"},
    )
    assert made.status_code == 303, made.get_data(as_text=True)
    location = made.headers["Location"]
    dispute_id = location.rsplit("/", 1)[1]
    again = browser.post(  # the same form sent twice (a double click): one dispute
        "/portal/disputes/new",
        data={**fields, "reason": "This call was never made", "amount": "29,500"},
    )
    assert again.status_code == 303 and again.headers["Location"] == location
    with sessions() as session:
        assert session.execute(
            select(func.count()).select_from(Dispute).where(Dispute.tenant_id == tenant.tenant_id)
        ).scalar() == 1  # fmt: skip
    with sessions() as session:
        dispute = session.get(Dispute, dispute_id)
        assert (dispute.tenant_id, dispute.subject_type.value, dispute.subject_id) == (
            tenant.tenant_id, "usage", str(record_id),
        )  # fmt: skip
        assert dispute.amount_minor == 29_500_00 and dispute.source == "tenant"
    # Told exactly as the API path tells: one `dispute.opened` event (and its e-mail job).
    assert _dispute_events(sessions, tenant.tenant_id) == ["dispute.opened"]

    detail = browser.get(location)
    assert detail.status_code == 200
    assert "This call was never made" in detail.get_data(as_text=True)
    replied = browser.post(
        f"{location}/comments",
        data={"body": "The number is not ours", "csrf_token": csrf_of(detail)},
    )
    assert replied.status_code == 303 and "#c-" in replied.headers["Location"]
    assert "The number is not ours" in browser.get(location).get_data(as_text=True)
    api = app.test_client().get(f"/v1/disputes/{dispute_id}", headers=tenant.headers).get_json()
    assert [c["body"] for c in api["comments"]] == ["The number is not ours"]
    assert api["comments"][0]["visibility"] == "tenant"
    # A tenant's own comment tells it nothing new, as on the API.
    assert _dispute_events(sessions, tenant.tenant_id) == ["dispute.opened"]
    empty_reply = browser.post(
        f"{location}/comments", data={"body": "", "csrf_token": csrf_of(detail)}
    )
    assert empty_reply.status_code == 422 and 'id="e-body"' in empty_reply.get_data(as_text=True)


def test_list_newest_first_and_detail_hides_internal_comments(
    app, runtime, client, tenant, admin, portal_link
) -> None:
    record_id = _usage_record(runtime, tenant.tenant_id)
    first = open_dispute(
        client, tenant, subject_type="usage", subject_id=str(record_id), attachments=[attachment()]
    )
    second = open_dispute(
        client, tenant, subject_type="usage_period", period_start="2026-10-01",
        period_end="2026-11-01", reason="October looks high",
    )  # fmt: skip
    for body, visibility in (("Staff only: switch replayed CDRs", "internal"),
                             ("We are checking the switch logs", "tenant")):  # fmt: skip
        said = client.post(
            f"/v1/disputes/{first['id']}/comments",
            json={"body": body, "visibility": visibility},
            headers=admin.headers,
        )
        assert said.status_code == 201
    browser = _portal(app, portal_link, tenant.tenant_id)
    listing = browser.get("/portal/disputes")
    text = listing.get_data(as_text=True)
    assert listing.status_code == 200
    assert text.index(second["id"]) < text.index(first["id"])  # newest first
    assert f"Usage record {record_id}" in text and "Usage from" in text
    assert 'href="/portal/disputes"' in text  # in the navigation

    detail = browser.get(f"/portal/disputes/{first['id']}").get_data(as_text=True)
    assert "We are checking the switch logs" in detail and "Billing team" in detail
    assert "switch replayed CDRs" not in detail  # internal: never shown to the tenant
    assert "I was charged twice" in detail
    [file] = first["attachments"]
    download = browser.get(f"/portal/disputes/{first['id']}/attachments/{file['id']}")
    assert f"/attachments/{file['id']}" in detail and download.status_code == 200
    assert download.data == PDF
    elsewhere = browser.get(f"/portal/disputes/{second['id']}/attachments/{file['id']}")
    assert elsewhere.status_code == 404  # only under its own dispute


def test_a_resolution_and_what_it_produced(app, runtime, client, tenant, admin, portal_link):
    topup_id = _credited_topup(runtime, tenant.tenant_id)
    browser = _portal(app, portal_link, tenant.tenant_id)
    statement = browser.get("/portal/statement").get_data(as_text=True)
    [link] = LINK.findall(statement)
    assert f"subject_type=topup&amp;subject_id={topup_id}" in link
    form = browser.get(link.replace("&amp;", "&"))
    assert form.status_code == 200 and f"Top-up {topup_id}" in form.get_data(as_text=True)
    made = browser.post("/portal/disputes/new", data={
        "subject_type": "topup", "subject_id": topup_id, "reason": "Paid twice",
        "csrf_token": csrf_of(form),
    })  # fmt: skip
    dispute_id = made.headers["Location"].rsplit("/", 1)[1]
    done = client.post(
        f"/v1/disputes/{dispute_id}/resolve",
        json={"outcome": "credit", "amount": 2_000_00, "note": "One payment was doubled"},
        headers=admin.headers,
    )
    assert done.status_code == 200, done.get_json()
    page = browser.get(f"/portal/disputes/{dispute_id}").get_data(as_text=True)
    assert "Credited to your wallet" in page and "One payment was doubled" in page
    assert "TSh2,000.00" in page and "/portal/statement" in page
    assert 'action="/portal/disputes/' not in page  # closed: no reply form
    closed = browser.post(
        f"/portal/disputes/{dispute_id}/comments",
        data={"body": "Thanks", "csrf_token": csrf_of(form)},
    )
    assert closed.status_code == 409


def test_open_from_an_invoice(app, runtime, make_tenant, portal_link, sessions) -> None:
    tenant = make_tenant(billing_mode=BillingMode.POSTPAID)
    with runtime.unit_of_work() as session:
        session.add(usage(tenant.tenant_id))
        session.flush()
        draft, _made = invoicing.create_postpaid_draft(
            session, "test", tenant.tenant_id, date(2026, 10, 1), date(2026, 11, 1)
        )
        invoicing.finalise(session, runtime.settings, "test", draft.id)
    browser = _portal(app, portal_link, tenant.tenant_id)
    [link] = LINK.findall(browser.get("/portal/invoices").get_data(as_text=True))
    assert f"subject_type=invoice&amp;subject_id={draft.id}" in link
    form = browser.get(link.replace("&amp;", "&"))
    assert form.status_code == 200
    made = browser.post("/portal/disputes/new", data={
        "subject_type": "invoice", "subject_id": draft.id, "reason": "Not our traffic",
        "csrf_token": csrf_of(form),
    })  # fmt: skip
    assert made.status_code == 303
    with sessions() as session:
        [dispute] = session.execute(
            select(Dispute).where(Dispute.tenant_id == tenant.tenant_id)
        ).scalars()
        assert (dispute.subject_type.value, dispute.subject_id) == ("invoice", draft.id)


def test_csrf_refused_and_another_tenants_dispute_is_404(
    app, runtime, client, make_tenant, portal_link, sessions
) -> None:
    mine, theirs = make_tenant(), make_tenant()
    their_record = _usage_record(runtime, theirs.tenant_id)
    their_dispute = open_dispute(
        client, theirs, subject_type="usage", subject_id=str(their_record),
        attachments=[attachment()],
    )  # fmt: skip
    their_file = their_dispute["attachments"][0]["id"]
    browser = _portal(app, portal_link, mine.tenant_id)
    for path in (f"/portal/disputes/{their_dispute['id']}",
                 f"/portal/disputes/new?subject_type=usage&subject_id={their_record}",
                 f"/portal/disputes/{their_dispute['id']}/attachments/{their_file}",
                 "/portal/disputes/new?subject_type=topup&subject_id=top%00x",
                 "/portal/disputes/dsp_00000000000000000000000000"):  # fmt: skip
        refused = browser.get(path)
        assert refused.status_code == 404, path
        assert "I was charged twice" not in refused.get_data(as_text=True)
    token = csrf_of(browser.get("/portal/disputes"))
    reply = browser.post(
        f"/portal/disputes/{their_dispute['id']}/comments", data={"body": "hi", "csrf_token": token}
    )
    assert reply.status_code == 404
    opened = browser.post("/portal/disputes/new", data={
        "subject_type": "usage", "subject_id": str(their_record), "reason": "mine now",
        "csrf_token": token,
    })  # fmt: skip
    assert opened.status_code == 404

    my_record = _usage_record(runtime, mine.tenant_id)
    form = {"subject_type": "usage", "subject_id": str(my_record), "reason": "no token"}
    assert browser.post("/portal/disputes/new", data=form).status_code == 400
    assert browser.post("/portal/disputes/new", data={**form, "csrf_token": "x"}).status_code == 400
    with sessions() as session:
        count = session.execute(
            select(func.count()).select_from(Dispute).where(Dispute.tenant_id == mine.tenant_id)
        ).scalar()
    assert count == 0
    assert _dispute_events(sessions, theirs.tenant_id) == ["dispute.opened"]  # nothing added


def test_a_period_of_usage_by_its_last_day(app, tenant, portal_link, sessions) -> None:
    browser = _portal(app, portal_link, tenant.tenant_id)
    form = browser.get("/portal/disputes/new?subject_type=usage_period")
    assert form.status_code == 200 and 'id="f-period_end"' in form.get_data(as_text=True)
    fields = {"subject_type": "usage_period", "reason": "October is twice September",
              "period_start": "2026-10-01", "csrf_token": csrf_of(form)}  # fmt: skip
    too_long = browser.post("/portal/disputes/new", data={**fields, "period_end": "2027-03-01"})
    assert too_long.status_code == 422 and 'id="e-period_end"' in too_long.get_data(as_text=True)
    made = browser.post("/portal/disputes/new", data={**fields, "period_end": "2026-10-31"})
    assert made.status_code == 303
    with sessions() as session:
        dispute = session.get(Dispute, made.headers["Location"].rsplit("/", 1)[1])
        assert (dispute.period_start, dispute.period_end) == (date(2026, 10, 1), date(2026, 11, 1))
    listed = browser.get("/portal/disputes").get_data(as_text=True)
    assert "Usage from 1 Oct 2026 to 31 Oct 2026" in listed
