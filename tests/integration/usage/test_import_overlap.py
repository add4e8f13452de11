"""A file stored with chunk N+1 priced ahead while chunk N is stored (imports.store_chunks)
ends exactly as one stored a chunk after another: rows, ledger, bundles and outcomes."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from billing.ledger.balances import account_balance
from billing.ledger.models import Transaction
from billing.ledger.postings import WALLET
from billing.tariffs.rate_plans import assign_plan, save_plan
from billing.tariffs.seed import SEED_VALID_FROM, default_plan_definition
from billing.tenants.models import BillingMode
from billing.usage import imports, prepricing
from billing.usage.bundle_balances import BundleBalance
from billing.usage.imports import import_lines
from tests.factories import top_up
from tests.integration.usage.conftest import rows
from tests.integration.usage.test_bundles import bundle_plan
from tests.integration.usage.test_import_and_list import asterisk_line
from tests.integration.usage.test_poison import poison_plan

pytestmark = pytest.mark.integration
CHUNK = 6
LINES = 48


def _world(runtime, make_tenant, rated_tenant, poison: str) -> dict[str, str]:
    """Tenants of every kind: a prepaid wallet that runs dry, a bundle drawn then passed,
    a postpaid one, one on a plan that cannot be read (poisoned)."""
    bundled, poisoned = make_tenant(), make_tenant()
    with runtime.unit_of_work() as session:
        bundle_plan(session, bundled.tenant_id, minutes_s=300)
        top_up(session, bundled.tenant_id, 1_000_00)
        assign_plan(session, poisoned.tenant_id, poison, valid_from=SEED_VALID_FROM)
        top_up(session, poisoned.tenant_id, 1_000_00)
    return {
        "dry": rated_tenant(balance=600_00).tenant_id,
        "bundle": bundled.tenant_id,
        "postpaid": rated_tenant(balance=0, billing_mode=BillingMode.POSTPAID).tenant_id,
        "poison": poisoned.tenant_id,
    }


def master_csv(world: dict[str, str], prefix: str) -> list[str]:
    """Calls of every tenant, interleaved; a key repeated two chunks later (a duplicate
    across chunk borders), a malformed row and calls of a tenant nobody knows."""
    kinds = ["dry", "bundle", "postpaid", "dry", "bundle", "dry"]
    lines = []
    for n in range(LINES):
        billsec = 5 + (n * 37) % 71
        # The poisoned plan fails pricing ahead for its chunks (priced as stored instead):
        # in two chunks of eight only, so the others are priced ahead.
        kind = "poison" if n in (31, 40) else kinds[n % len(kinds)]
        lines.append(asterisk_line(world[kind], "0712345678", billsec, f"{prefix}-{n}"))
    lines[20] = lines[3]  # the same call again, in a later chunk: a duplicate
    lines[11] = lines[10]  # and again within a chunk
    lines[14] = f'"broken-{prefix}","row"\n'  # malformed: rejected with its line number
    lines[25] = asterisk_line("ten_nobody", "0712345678", 30, f"{prefix}-nobody")
    return lines


def stored(sessions, world: dict[str, str], prefix: str) -> list[tuple | None]:
    """Each line's stored row, by what does not name the world (ids, plan ids, times)."""
    found = {r.source_id: r for tenant_id in world.values() for r in rows(sessions, tenant_id)}
    return [_seen(found.get(f"{prefix}-{n}"), world) for n in range(LINES)]


def _seen(r, world: dict[str, str]) -> tuple | None:
    if r is None:
        return None
    return (r.status, r.reason, r.net_minor, r.vat_minor, r.billed_units, r.bundle_units,
            r.plan_version, r.zone, r.band, r.currency, r.raw_amount, r.breakdown,
            r.ledger_transaction_id is not None, r.tenant_id == world["dry"])  # fmt: skip


def ledger(sessions, world: dict[str, str]) -> list[tuple]:
    with sessions() as session:
        found = []
        for tenant_id in world.values():
            debits = session.execute(
                select(func.count())
                .select_from(Transaction)
                .where(Transaction.tenant_id == tenant_id, Transaction.kind == "usage")
            ).scalar()
            balance = account_balance(session, tenant_id, WALLET, "TZS").balance_minor
            used = session.execute(
                select(BundleBalance.bundle, BundleBalance.units_used).where(
                    BundleBalance.tenant_id == tenant_id
                )
            ).all()
            found.append((debits, balance, sorted(used)))
        return found


def summary_of(tally) -> tuple:
    return (tally.rows, tally.rated, tally.pending, tally.duplicates, tally.malformed,
            tally.not_rateable)  # fmt: skip


@pytest.fixture
def worlds(runtime, make_tenant, rated_tenant):
    with runtime.unit_of_work() as session:
        poison = poison_plan(session)
    return lambda: _world(runtime, make_tenant, rated_tenant, poison)


def test_overlapped_import_stores_what_one_chunk_after_another_stores(
    runtime, sessions, worlds, monkeypatch
):
    one, two = worlds(), worlds()
    ahead = []
    prepared = imports.prepare

    def seen(runtime, rows):
        found = prepared(runtime, rows)
        ahead.append(found is not None and found.chunk is not None and any(found.chunk.priced))
        return found

    monkeypatch.setattr(imports, "prepare", seen)
    serial = import_lines(runtime, "asterisk", master_csv(one, "s"), chunk=CHUNK, overlap=False)
    paired = import_lines(runtime, "asterisk", master_csv(two, "p"), chunk=CHUNK, overlap=True)

    assert summary_of(paired) == summary_of(serial)
    assert ahead == [True] * 5 + [False, False, True]  # the poisoned chunks: not ahead
    assert (paired.duplicates, paired.malformed) == (2, 1)
    assert paired.not_rateable["unknown_tenant"] == 1
    by_line = stored(sessions, two, "p")
    assert by_line == stored(sessions, one, "s")
    statuses = {line[0] for line in by_line if line}
    assert {"billed", "unbilled", "accrued", "rejected"} <= statuses  # the wallet ran dry
    assert any(line[5] for line in by_line if line)  # bundle units drawn
    assert ledger(sessions, two) == ledger(sessions, one)
    again = import_lines(runtime, "asterisk", master_csv(two, "p"), chunk=CHUNK, overlap=True)
    assert again.duplicates == again.rows  # a re-import changes nothing
    assert ledger(sessions, two) == ledger(sessions, one)


def _failing_at(monkeypatch, source_id: str) -> None:
    """The chunk starting with `source_id` fails once written, not committed, after a
    while (the chunk behind it is priced ahead meanwhile)."""
    stored_rows = imports.store

    def failing(session, rows, **options):
        outcomes = stored_rows(session, rows, **options)
        if rows[0]["source_id"] == source_id:
            time.sleep(0.3)
            raise RuntimeError("disk full")
        return outcomes

    monkeypatch.setattr(imports, "store", failing)


@pytest.mark.parametrize("overlap", [False, True])
def test_a_failed_chunk_keeps_what_was_committed_and_nothing_twice(
    runtime, sessions, worlds, monkeypatch, overlap
):
    world, whole = worlds(), worlds()
    prefix = f"f{int(overlap)}"
    _failing_at(monkeypatch, f"{prefix}-12")  # the third chunk
    with pytest.raises(RuntimeError, match="disk full"):
        import_lines(runtime, "asterisk", master_csv(world, prefix), chunk=CHUNK, overlap=overlap)
    kept = [n for n, line in enumerate(stored(sessions, world, prefix)) if line]
    assert kept == [n for n in range(12) if n != 11]  # two chunks (line 11 repeats line 10)
    monkeypatch.undo()
    import_lines(runtime, "asterisk", master_csv(world, prefix), chunk=CHUNK, overlap=overlap)
    import_lines(runtime, "asterisk", master_csv(whole, f"{prefix}w"), chunk=CHUNK, overlap=False)
    assert stored(sessions, world, prefix) == stored(sessions, whole, f"{prefix}w")
    assert ledger(sessions, world) == ledger(sessions, whole)


def test_a_tariff_changed_after_pricing_ahead_prices_the_chunk_again(
    runtime, sessions, rated_tenant, monkeypatch
):
    tenant = rated_tenant(balance=100_000_00).tenant_id
    definition = default_plan_definition()
    for entry in definition["duration_rates"]:
        entry["rate"] = Decimal(entry["rate"]) * 2
    with runtime.unit_of_work() as session:
        code = f"DEAR-{uuid.uuid4().hex[:8]}"
        dearer = save_plan(session, code, "dearer", definition, valid_from=SEED_VALID_FROM)
        dearer_id = dearer.plan.id
    prepared = imports.prepare

    def then_changed(runtime, rows):
        ahead = prepared(runtime, rows)
        if rows[0]["source_id"] == "t-12":  # priced ahead; now the tenant changes plan
            with runtime.unit_of_work() as other:
                assign_plan(other, tenant, dearer_id, valid_from=datetime(2026, 1, 1, tzinfo=UTC))
        return ahead

    monkeypatch.setattr(imports, "prepare", then_changed)
    lines = [asterisk_line(tenant, "0712345678", 65, f"t-{n}") for n in range(24)]
    import_lines(runtime, "asterisk", lines, chunk=CHUNK, overlap=True)
    by_id = {r.source_id: r for r in rows(sessions, tenant)}
    plans = [by_id[f"t-{n}"].plan_id for n in range(24)]
    assert dearer_id not in plans[:6] and set(plans[12:]) == {dearer_id}
    assert by_id["t-12"].net_minor > by_id["t-0"].net_minor


def test_rows_priced_ahead_stand_only_while_the_tariff_holds(monkeypatch):
    """The check itself: a changed plan version or destination table drops the tenant."""

    class Plan:
        bundles = ()
        currency = "TZS"

    plan, destinations = Plan(), object()

    def tariff(version: int = 1, table: object = destinations):
        return type(
            "T", (), {"assignment_id": "a", "plan_id": "p", "plan_version": version,
                      "currency": "TZS", "plan": plan, "destinations": table},
        )()  # fmt: skip

    view = prepricing._TenantView("ten_1", "TZS", False)
    ahead = prepricing.Prepriced({"ten_1": view}, {"ten_1": tariff()})

    class Now:
        def __init__(self, found):
            self.found = found

        def whole(self, tenant_id):
            return self.found

    views = {"ten_1": view}
    assert prepricing.holding(ahead, views, Now(tariff())) == {"ten_1"}
    assert prepricing.holding(ahead, views, Now(tariff(version=2))) == set()
    assert prepricing.holding(ahead, views, Now(tariff(table=object()))) == set()
    assert prepricing.holding(ahead, views, Now(None)) == set()
    restricted = {"ten_1": view._replace(restricted=True)}
    assert prepricing.holding(ahead, restricted, Now(tariff())) == set()


def test_a_duplicate_the_probe_misses_is_redone_and_priced_again(runtime, sessions, rated_tenant):
    """A chunk of 64 probes every other key: a duplicate of the chunk before at an odd
    place is found by the unique key, the chunk redone; its prices made ahead, marked
    by the undone attempt, are not reused."""
    worlds = [rated_tenant(balance=100_000_00).tenant_id for _ in range(2)]
    tallies = []
    for tenant, prefix, overlap in zip(worlds, ("rs", "rp"), (False, True), strict=True):
        lines = [asterisk_line(tenant, "0712345678", 65, f"{prefix}-{n}") for n in range(130)]
        lines[65] = lines[3]  # second chunk, index 1: not among the keys probed
        tallies.append(
            summary_of(import_lines(runtime, "asterisk", lines, chunk=64, overlap=overlap))
        )
    assert tallies[0] == tallies[1] and tallies[1][3] == 1  # one duplicate
    one, two = ({"dry": t} for t in worlds)
    seen = [[_seen(r, world) for r in rows(sessions, world["dry"])] for world in (one, two)]
    assert seen[0] == seen[1]
    assert ledger(sessions, one) == ledger(sessions, two)
