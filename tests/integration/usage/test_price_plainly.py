"""A tenant's rows priced at once (row_prices.price_plainly, as the CDR import prices a
chunk ahead) get exactly what each gets priced on its own (row_prices.price): rated,
free, refused for every reason the rater gives, charged nothing when not delivered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from billing.rating.message_status import CHARGEABLE, CHARGED_THEN_FAILED
from billing.usage import row_prices
from billing.usage.prepricing import PendingRow, aheadable, tenant_views
from billing.usage.rating import tenants_by_id
from billing.usage.row_prices import price, price_plainly
from billing.usage.tariff_lookup import Tariffs

pytestmark = pytest.mark.integration
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a weekday's peak
NOW = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


def _rows(tenant_id: str, *, malformed: bool = False) -> list[PendingRow]:
    def row(n, service="voice", to="255712345678", billable=65, units=1, disposition="answered",
            hour=0):  # fmt: skip
        at = AT + timedelta(hours=hour)
        return PendingRow(n, tenant_id, service, to, at, billable, units, disposition, "",
                          "regular", at if billable else None, f"p-{n}", "")  # fmt: skip

    rows = [
        row(1), row(2), row(3, billable=0, disposition="no_answer"), row(4, billable=3),
        row(5, billable=7_200), row(6, hour=12), row(7, to="1001"),  # an extension
        row(8, to="999999999999"),  # no destination
        row(9, billable=10**12),  # a price past what one record may carry
        row(10, service="sms", billable=0, units=2, disposition=CHARGEABLE),
        row(11, service="sms", billable=0, units=1, disposition=CHARGED_THEN_FAILED),
        row(12, service="sms", billable=0, units=0, disposition=CHARGEABLE),
        row(15, service="sms", billable=0, units=1, disposition="FAILED"),  # not delivered
        row(13, billable=65),  # priced alike row 1
    ]  # fmt: skip
    if malformed:
        rows.insert(5, row(14, service="fax"))  # the rater refuses the batch: each alone
    return rows


@pytest.mark.parametrize("malformed", [False, True])
def test_rows_priced_at_once_get_what_each_gets_priced_alone(runtime, rated_tenant, malformed):
    tenant_id = rated_tenant().tenant_id
    rows = _rows(tenant_id, malformed=malformed)
    with runtime.unit_of_work() as session:
        view = tenant_views(tenants_by_id(session, {tenant_id}))[tenant_id]
        tariffs = Tariffs(session)
        tariffs.prepare(rows)
        assert aheadable(view, tariffs.whole(tenant_id))
        row_prices._ALIKE.clear()
        alone = [price(row, view, tariffs, NOW) for row in rows]
        row_prices._ALIKE.clear()
        row_prices._BY_TAIL.clear()
        together = price_plainly(rows, view, tariffs, NOW)
    assert together == alone
    reasons = {fields["reason"] for fields in together}
    assert {None, "short_number", "no_destination", "no_units"} <= reasons
    assert any(reason.startswith("price_out_of_range") for reason in reasons if reason)
    notes = [fields["breakdown"]["note"] for fields in together if fields["breakdown"]]
    assert {"", "unanswered", "not_delivered"} <= set(notes)
    assert [f["net_minor"] for f in together if f["breakdown"] and f["breakdown"]["note"]
            == "not_delivered"] == [0]  # fmt: skip
    assert together[0]["net_minor"] > 0
    assert all(fields["rated_at"] == NOW for fields in together if fields["status"] is None)
    assert len({id(fields) for fields in together}) == len(together)  # each its own
    if not malformed:  # rows 1, 2 and 13 priced alike: their columns made once
        assert 0 < len(row_prices._BY_TAIL) < sum(f["status"] is None for f in together) - 1
    if malformed:
        assert together[5]["reason"].startswith("malformed")
