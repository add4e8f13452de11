"""Rating throughput: .venv/bin/python bench/rating.py [--records N] [--e2e-rows N]

Pure: builds a 5,000-prefix destination table and rates 1,000,000 synthetic records
(voice, SMS, WhatsApp; banded and flat zones; some bundles) on one core, timing only the
rater calls (`rate_many`, as a batch job would), in wall time and in this process's CPU
time (steadier on a shared machine). Records are generated and rated in chunks so memory
stays flat. Also times the load of a 100,000-prefix table from plain rows.

End to end (bench/rating_e2e.py, in a child process so its peak memory is its own): a
synthetic Asterisk Master.csv imported into PostgreSQL (database malipo_bench_rating),
rated and debited, beside a bare COPY of the same file, with the Python and database
floors of its phases (`--phases` there). `--e2e-rows 0` skips it.

Authorise latency and the 100,000-prefix CSV load (bench/authorize.py, also a child
process): `/v1/authorize` p50/p99 in process. `--authorize-calls 0` skips it.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from billing.core.money import Currency
from billing.rating.bundles import BundleState
from billing.rating.destinations import Destination, DestinationTable
from billing.rating.plans import (
    ANY,
    Bundle,
    DurationRate,
    RatePlan,
    Service,
    UnitRate,
)
from billing.rating.rater import rate_many, rate_usage
from billing.rating.records import RatedUsage, UsageRecord
from billing.rating.timebands import peak_offpeak_weekend

RECORDS = 1_000_000
CHUNK = 100_000
MOBILE = {"61": "HALOTEL", "65": "YAS", "66": "AIRTEL", "72": "VODACOM", "73": "TTCL"}


def prefix_rows(count: int, rng: random.Random) -> list[tuple[str, str]]:
    """Tanzanian operator prefixes plus random international ones, all distinct."""
    rows = {f"255{p}": f"TZ-MOB-{op}" for p, op in MOBILE.items()}
    rows["2552"] = "TZ-FIX"
    while len(rows) < count:
        prefix = str(rng.randint(1, 9)) + "".join(rng.choices("0123456789", k=rng.randint(1, 6)))
        rows.setdefault(prefix, f"INT-{prefix[:2]}")
    return list(rows.items())


def build_plan(zones: set[str]) -> RatePlan:
    durations = {}
    for index, zone in enumerate(sorted(zones)):
        if zone.startswith("TZ-FIX"):
            by_band = {
                "peak": DurationRate.per_increment(Decimal("100"), 30, 6),
                "offpeak": DurationRate.per_increment(Decimal("60"), 1, 1),
                "weekend": DurationRate.per_increment(Decimal("40"), 1, 1),
            }
        else:
            rate = DurationRate.per_increment(Decimal(50 + index % 400), 60, 60 if index % 2 else 1)
            by_band = {ANY: rate}
        durations[(Service.VOICE, zone)] = by_band
    return RatePlan(
        "BENCH",
        Currency.TZS,
        durations=durations,
        units={(Service.SMS, ANY): UnitRate(Decimal("22"))},
        whatsapp={
            ("marketing", ANY): UnitRate(Decimal("59.5")),
            ("utility", ANY): UnitRate(Decimal("10.6")),
        },
        bundles=(
            Bundle("voice-onnet", Service.VOICE, 10**12, zones=frozenset({"TZ-MOB-VODACOM"})),
        ),
        schedule=peak_offpeak_weekend(),
    )


def records(count: int, prefixes: list[str], rng: random.Random, offset: int) -> list[UsageRecord]:
    month = datetime(2026, 3, 1, tzinfo=UTC)
    batch = []
    for index in range(offset, offset + count):
        prefix = rng.choice(prefixes)
        number = prefix + "".join(rng.choices("0123456789", k=max(12 - len(prefix), 3)))
        at = month + timedelta(seconds=rng.randrange(31 * 86400))
        roll = rng.random()
        if roll < 0.8:
            billsec = 0 if roll < 0.1 else rng.randint(1, 900)
            batch.append(UsageRecord(f"c{index}", Service.VOICE, at, number, billsec, billsec > 0))
        elif roll < 0.95:
            batch.append(UsageRecord(f"s{index}", Service.SMS, at, number, units=rng.randint(1, 3)))
        else:
            category = "marketing" if roll < 0.98 else "utility"
            batch.append(UsageRecord(f"w{index}", Service.WHATSAPP, at, number, category=category))
    return batch


def time_load(rng: random.Random) -> None:
    rows = prefix_rows(100_000, rng)
    started = time.perf_counter()
    table = DestinationTable(Destination(prefix, zone) for prefix, zone in rows)
    elapsed = time.perf_counter() - started
    print(f"load 100,000 prefixes: {elapsed * 1000:.0f} ms ({len(table)} prefixes)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=RECORDS, help="pure: records to rate")
    parser.add_argument("--e2e-rows", type=int, default=1_000_000, help="end to end: CSV rows")
    parser.add_argument(
        "--authorize-calls", type=int, default=5_000, help="authorise: calls to time"
    )
    args = parser.parse_args()
    pure(args.records)
    if args.e2e_rows:
        print(f"\nend to end, {args.e2e_rows:,} rows (bench/rating_e2e.py):", flush=True)
        script = Path(__file__).with_name("rating_e2e.py")
        command = [sys.executable, str(script), "--rows", str(args.e2e_rows), "--phases"]
        subprocess.run(command, check=True)
    if args.authorize_calls:
        print("\nauthorise latency and tariff CSV load (bench/authorize.py):", flush=True)
        script = Path(__file__).with_name("authorize.py")
        subprocess.run(
            [sys.executable, str(script), "--calls", str(args.authorize_calls)], check=True
        )


def pure(count: int) -> None:
    load = f"{os.getloadavg()[0]:.2f}"
    rng = random.Random(255)
    rows = prefix_rows(5_000, rng)
    table = DestinationTable(Destination(prefix, zone) for prefix, zone in rows)
    plan = build_plan({zone for _, zone in rows})
    bundles = BundleState.fresh(plan)
    prefixes = [prefix for prefix, _ in rows]
    # Weight Tanzanian prefixes the way real traffic would be.
    prefixes += [f"255{p}" for p in MOBILE] * 400 + ["2552"] * 400
    rated = charged = 0
    spent = cpu = single = 0.0
    for offset in range(0, count, CHUNK):
        batch = records(min(CHUNK, count - offset), prefixes, rng, offset)
        # Freeze the loaded inputs so the cyclic GC does not rescan them on every
        # allocation burst; a batch-rating worker can do the same with its plan and table.
        gc.collect()
        gc.freeze()
        if offset == 0:  # the first chunk a record at a time first, collector running
            started = time.process_time()
            one_by_one = [rate_usage(record, plan, table, bundles) for record in batch]
            single = (time.process_time() - started) / len(batch)
        started, cpu_started = time.perf_counter(), time.process_time()
        results = rate_many(batch, plan, table, bundles)
        spent += time.perf_counter() - started
        cpu += time.process_time() - cpu_started
        if offset == 0:
            if one_by_one != results:
                raise AssertionError("rate_usage and rate_many disagree")
            del one_by_one
        gc.unfreeze()
        rated += sum(isinstance(result, RatedUsage) for result in results)
        charged += sum(result.amount_minor for result in results if isinstance(result, RatedUsage))
    print(f"prefix table: {len(table)} prefixes; plan zones: {len(plan.durations)}")
    print(f"machine load average before/after: {load}, {os.getloadavg()[0]:.2f}")
    print(f"rated {count:,} records ({rated:,} priced) in {spent:.2f} s on one core")
    print(
        f"throughput (rate_many): {count / spent:,.0f} records/s wall, {count / cpu:,.0f}"
        f" records/s of this process's CPU; total charged {charged / 100:,.2f} TZS"
    )
    print(f"  one rate_usage call a record, collector on: {1 / single:,.0f} records/s of CPU")
    time_load(rng)


if __name__ == "__main__":
    main()
