"""The service's own counters and histograms (Prometheus), defined once for every process.

Under Granian or gunicorn each server process counts for itself: with
`PROMETHEUS_MULTIPROC_DIR` set (before this module is first imported; `billing serve`
sets it), `prometheus_client` keeps each process's values in a file there, and /metrics
sums them. What is read from the database or Redis (lags, backlogs, queue depths) is not
counted here but measured at each scrape (`billing.monitoring.gauges`).
"""

from __future__ import annotations

import os
import tempfile

from prometheus_client import Counter, Histogram, values

# Seconds: an authorise answers in about a millisecond, a 1,000-record batch in a few
# hundred, an invoice PDF in about a hundred.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "malipo_http_requests_total",
    "HTTP requests answered, by route template, method and status",
    ("route", "method", "status"),
)
REQUEST_SECONDS = Histogram(
    "malipo_http_request_duration_seconds",
    "Time from the request reaching the app to its response headers, by route and method",
    ("route", "method"),
    buckets=LATENCY_BUCKETS,
)
CALLBACKS = Counter(
    "malipo_callbacks_total",
    "Provider callbacks by provider and outcome: received (every request), verified "
    "(signature or source proven, stored), rejected (kept as evidence, never applied)",
    ("provider", "outcome"),
)
JOBS = Counter(
    "malipo_jobs_total",
    "Jobs run by workers, by job name and outcome (ok, failed)",
    ("job", "outcome"),
)
JOB_SECONDS = Histogram(
    "malipo_job_duration_seconds",
    "Time a job took in the worker, by job name",
    ("job",),
    buckets=LATENCY_BUCKETS,
)
PERIODIC_RUNS = Counter(
    "malipo_periodic_runs_total",
    "Periodic tasks this process ran (it held the task's lease for the period)",
    ("task",),
)


def count_in(directory: str) -> None:
    """Count in `directory` from now on (multi-process mode), whatever the environment
    was when prometheus_client was imported: a server process forked from `billing
    serve` imported it before the directory was chosen. Labelled metrics make their
    values at first use, and none has been used before a process serves."""
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory  # where the value files are made
    if values.ValueClass is values.MutexValue:
        values.ValueClass = values.MultiProcessValue()


def prepare_directory() -> str:
    """For `billing serve`: the operator's PROMETHEUS_MULTIPROC_DIR, or a new directory,
    set in the environment its server processes inherit."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(
        prefix="malipo-metrics-"
    )
    os.makedirs(directory, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    return directory
