"""How fast this machine is right now, by three fixed measurements: for reading figures
across days.

The machines these benchmarks run on are virtual, and the same commit's figures have
moved by 2x between days (the server's CPU per authorisation 0.58 ms one day, 1.7 to 2.1 ms
the next). A figure is read beside this yardstick, taken the same hour:

* Python: a fixed pure-Python loop (best of three), as the service's own code runs;
* PostgreSQL: a fixed aggregate over `generate_series` (best of three), and the median
  round trip of `SELECT 1` over one connection.

    .venv/bin/python bench/yardstick.py       (bench/all.py prints it first and last)
"""

from __future__ import annotations

import os
import statistics
import time

import psycopg

SERVER = os.environ.get("MALIPO_BENCH_SERVER", "postgresql://postgres@127.0.0.1:5432")


def python_ms() -> float:
    """Best of three: a loop of 2 M additions and multiplications, in ms."""
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        total = 0
        for i in range(2_000_000):
            total += i * i
        best = min(best, time.perf_counter() - began)
    return best * 1e3


def postgresql_ms() -> tuple[float, float]:
    """Best of three sums over 3 M generated rows (ms), and the median `SELECT 1` (ms)."""
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        best = float("inf")
        for _ in range(3):
            began = time.perf_counter()
            connection.execute("SELECT sum(i) FROM generate_series(1, 3000000) AS i").fetchone()
            best = min(best, time.perf_counter() - began)
        trips = []
        for _ in range(2_000):
            began = time.perf_counter()
            connection.execute("SELECT 1").fetchone()
            trips.append(time.perf_counter() - began)
    return best * 1e3, statistics.median(trips) * 1e3


def line() -> str:
    """The yardstick as one line."""
    aggregate, trip = postgresql_ms()
    load = os.getloadavg()[0]
    return (
        f"yardstick: Python loop {python_ms():.0f} ms, PostgreSQL aggregate {aggregate:.0f} ms,"
        f" SELECT 1 round trip {trip * 1e3:.0f} µs (load average {load:.2f})"
    )


def checkpoint() -> None:
    """Write out the dirty pages now. A benchmark that writes much (the export, the
    import) leaves a checkpoint due, and the next one's timed window would pay for its
    full-page writes: on 8 December the ingestion's PostgreSQL CPU per record went from
    37 to 121 µs (batch p99 0.4 → 2.9 s) inside a checkpoint the benchmarks before it had
    left due (the server's log showed it)."""
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        connection.execute("CHECKPOINT")


if __name__ == "__main__":
    print(line())
