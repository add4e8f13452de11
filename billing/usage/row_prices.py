"""One usage row priced over its tenant's tariff: the rated (or rejected) columns.

The per-row half of `billing.usage.rating` (which locks, settles and writes a batch):
the pure rater run over the tariff in force, with bundles drawn from a locked book.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Row

from billing.core.errors import MalipoError
from billing.core.money import Currency
from billing.rating.bundles import EMPTY
from billing.rating.fixedpoint import micro_to_decimal
from billing.rating.message_status import CHARGED_THEN_FAILED, MESSAGE_SERVICES, is_charged
from billing.rating.plans import DURATION_SERVICES, Service
from billing.rating.rater import OUT_OF_RANGE, rate_tails, rate_usage
from billing.rating.records import RatedUsage, Unrated
from billing.rating.records import UsageRecord as RaterRecord
from billing.tariffs.fx import day_of
from billing.tenants.models import Tenant
from billing.usage.bundle_balances import BundleBook
from billing.usage.json_cells import EncodedBreakdown
from billing.usage.models import UsageStatus
from billing.usage.parking import out_of_range
from billing.usage.tariff_lookup import Tariffs

UNITS = {
    Service.SMS: "segment",
    Service.WHATSAPP: "message",
    Service.NUMBER_RENTAL: "month",
}
_RESULT_FIELDS = (
    "status", "reason", "rated_at", "plan_id", "plan_version", "zone", "band", "unit",
    "billed_units", "bundle_units", "currency", "net_minor", "vat_minor", "raw_amount",
    "fx_rate", "breakdown", "ledger_transaction_id", "ledger_entry_id",
)  # fmt: skip


def unit_of(service: Service) -> str:
    return "second" if service in DURATION_SERVICES else UNITS[service]


_SERVICES = {service.value: service for service in Service}
_new_tuple = tuple.__new__


def rater_record(row: Row) -> RaterRecord:
    service = _SERVICES.get(row.service) or Service(row.service)  # a dict: Enum() is dear
    answered = row.billable_s > 0 or row.answered_at is not None
    return _new_tuple(
        RaterRecord,
        # source_id, service, started_at, destination, billable_s, answered, units, zone,
        # category, pricing_type, market: the record's fields in order, without keywords
        (str(row.id), service, row.occurred_at, row.to_number, row.billable_s, answered,
         row.units, "", row.category, row.pricing_type, ""),
    )  # fmt: skip


class _TenantView(NamedTuple):
    """What rating reads of a tenant for each row, as plain attributes."""

    id: str
    currency: Currency
    postpaid: bool
    restricted: bool = False  # processing restricted (billing.privacy): kept, not rated


def price(
    row: Row,
    tenant: Tenant | _TenantView | None,
    tariffs: Tariffs,
    now: datetime,
    bundles: BundleBook | None = None,
) -> dict[str, Any]:
    """The rated (or rejected) columns of one row; status is settled by the caller.

    With a `bundles` book (its balances locked for this row), the row draws on the
    tenant's bundles and the draws are recorded in the book and on the row.
    """
    if tenant is None:
        return _rejected("unknown_tenant")
    if getattr(tenant, "restricted", None) or getattr(tenant, "restricted_at", None):
        return _rejected("processing_restricted")
    tariff = tariffs.at(tenant.id, row.occurred_at)
    if tariff is None:
        return _rejected("no_plan")
    fx = None
    if tariff.plan.currency != tenant.currency:
        try:
            fx = tariff.fx_rate(day_of(row.occurred_at))
        except MalipoError:
            return _rejected("no_fx_rate")
    plan = tariff.plan
    delivered = row.service not in MESSAGE_SERVICES or is_charged(
        row.disposition, plan.refund_failed_messages
    )
    state = EMPTY
    if bundles is not None and plan.bundles and delivered:
        state = bundles.state(tenant.id, plan, row.occurred_at)
    try:
        result = rate_usage(rater_record(row), plan, tariff.destinations, state, fx)
    except ValueError as error:
        return _rejected(f"malformed: {error}")
    if isinstance(result, Unrated):
        return _refused(result.reason, tariff)
    if not delivered:
        result = _charged_nothing(result, row.disposition)
    if result.bundle_draws and bundles is not None:
        draws = bundles.take(tenant.id, plan, row.occurred_at, result.bundle_draws)
        if draws:
            return _rated(result, tariff, fx, now, draws)
    if fx is not None:
        return _rated(result, tariff, fx, now, [])
    return _rated_alike(result, tariff, now)


def price_plainly(
    rows: Sequence[Row], tenant: _TenantView, tariffs: Tariffs, now: datetime
) -> list[dict[str, Any]]:
    """`price` of each of one tenant's rows under a tariff that holds over them all, has no
    bundle and is in the tenant's currency (`prepricing.aheadable`), the tenant neither
    unknown nor restricted: what `price` finds out a row (the tariff, its pricing
    context, no FX, no bundle state) found out once, the rater run over them at once,
    and rows priced alike known by the rater's own tail (`_rated_tail`).
    """
    tariff = tariffs.whole(tenant.id)
    plan = tariff.plan
    try:
        records = [rater_record(row) for row in rows]
        tails = rate_tails(records, plan, tariff.destinations)
    except ValueError:  # a malformed record: each priced on its own, to say which
        return [price(row, tenant, tariffs, now) for row in rows]
    refund_failed = plan.refund_failed_messages
    priced = []
    for row, record, tail in zip(rows, records, tails, strict=True):
        if tail.__class__ is Unrated:
            priced.append(_refused(tail.reason, tariff))
        elif row.service in MESSAGE_SERVICES and not is_charged(row.disposition, refund_failed):
            result = _new_tuple(RatedUsage, (record.source_id,) + tail)  # noqa: RUF005
            priced.append(_rated_alike(_charged_nothing(result, row.disposition), tariff, now))
        else:
            priced.append(_rated_tail(tail, record.source_id, tariff, now))
    return priced


def _refused(reason: str, tariff: Any) -> dict[str, Any]:
    """The rejected columns of a record the rater refused (`reason`) under `tariff`."""
    if reason == OUT_OF_RANGE:
        plan = tariff.plan
        return _rejected(out_of_range(plan.code, tariff.plan_version, plan.currency))
    return _rejected(reason)


def _charged_nothing(result: RatedUsage, disposition: str) -> RatedUsage:
    """A message not accepted (SMS) or not delivered (WhatsApp): kept, and charged nothing."""
    note = "failed_refunded" if disposition == CHARGED_THEN_FAILED else "not_delivered"
    return result._replace(amount_minor=0, raw_numerator=0, note=note)


_BY_TAIL: dict[int, tuple[tuple, tuple, dict[str, Any]]] = {}


def _rated_tail(tail: tuple, source_id: str, tariff: Any, now: datetime) -> dict[str, Any]:
    """`_rated_alike` of a record the rater priced as `tail`, found by the tail's identity
    rather than by hashing it (the tail is kept with what was made of it, so its id
    stays its own while it is found here)."""
    plan_key = (tariff.plan_id, tariff.plan_version)
    found = _BY_TAIL.get(id(tail))
    if found is not None and found[0] is tail and found[1] == plan_key:
        fields = found[2].copy()
        fields["rated_at"] = now
        return fields
    fields = _rated_alike(_new_tuple(RatedUsage, (source_id,) + tail), tariff, now)  # noqa: RUF005
    if fields["breakdown"].__class__ is EncodedBreakdown:  # shared read-only, as _ALIKE's
        if len(_BY_TAIL) >= _ALIKE_LIMIT:
            _BY_TAIL.clear()
        _BY_TAIL[id(tail)] = (tail, plan_key, fields.copy())
    return fields


_ALIKE: dict[tuple, dict[str, Any]] = {}
_ALIKE_LIMIT = 50_000


def _rated_alike(result: RatedUsage, tariff: Any, now: datetime) -> dict[str, Any]:
    """`_rated` of a record drawing on no bundle, in plan currency: a copy of the fields of
    the last record priced alike (the same plan version and rated fields after its id:
    all `_rated` reads besides `now`), with this one's `rated_at`. Their breakdown is
    shared, and encoded once (`EncodedBreakdown`).
    """
    key = (tariff.plan_id, tariff.plan_version, result[1:])
    try:
        known = _ALIKE.get(key)
    except TypeError:  # unhashable (a NaN Decimal): priced on its own
        return _rated(result, tariff, None, now, [])
    if known is None:
        fields = _rated(result, tariff, None, now, [])
        fields["breakdown"] = EncodedBreakdown(fields["breakdown"])
        if len(_ALIKE) >= _ALIKE_LIMIT:
            _ALIKE.clear()
        _ALIKE[key] = fields
        return fields.copy()
    fields = known.copy()
    fields["rated_at"] = now
    return fields


def _rejected(reason: str) -> dict[str, Any]:
    fields = dict.fromkeys(_RESULT_FIELDS)
    fields.update(status=UsageStatus.REJECTED.value, reason=reason)
    return fields


def _rated(
    result: RatedUsage, tariff: Any, fx: Any, now: datetime, draws: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "status": None,
        "reason": None,
        "rated_at": now,
        "plan_id": str(tariff.plan_id),
        "plan_version": int(tariff.plan_version),
        "zone": result.zone,
        "band": result.band,
        "unit": unit_of(result.service),
        "billed_units": result.billed_units,
        "bundle_units": result.bundle_units,
        "currency": str(result.currency),
        "net_minor": result.amount_minor,
        "vat_minor": None,
        "raw_amount": _raw_text(result.raw_numerator, result.raw_denominator, result.currency),
        "fx_rate": fx.rate if fx is not None else None,
        # pieces: [start_s, increment_s, increments, billed_units, charged_units, rate_micro]
        # per rate group (billing.rating.records.Piece); rates in micro-minor per rate unit.
        "breakdown": {
            "pieces": result.pieces,
            "rate_unit_s": result.rate_unit_s,
            # {bundle, period, period_start, units} per bundle drawn (bundle_balances)
            "bundle_draws": draws,
            "note": result.note,
        },
        "ledger_transaction_id": None,
        "ledger_entry_id": None,
    }


@lru_cache(maxsize=65_536)
def _raw_text(numerator: int, denominator: int, currency: Currency) -> str:
    """`RatedUsage.raw_amount` as stored; rows share amounts, and Decimal division is dear."""
    return str(micro_to_decimal(numerator, denominator, currency))
