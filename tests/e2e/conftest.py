"""The real thing: `billing serve` (Granian) and `billing worker` as processes."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

BILLING = str(Path(sys.executable).parent / "billing")
# How long a fiscal receipt may take to reach TRA here. Each test stops its worker, and a
# worker stopped mid-drain keeps the VFD's drain lease until it runs out
# (`billing.invoicing.fiscal.LEASE_S`, 60 s); the next fiscal sweep is then up to two
# leased periods away (10 s each). So the bound is 80 s after the previous test, not 60.
FISCAL_WAIT_S = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def service_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def service_env(database_url: str, redis_url: str, service_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "e2e",
        "MALIPO_PUBLIC_URL": f"http://127.0.0.1:{service_port}",
        "MALIPO_PROVIDER_MODE": "sandbox",
        "MALIPO_SANDBOX_DELAY_S": "0.2",
        "MALIPO_REDRIVE_AFTER_S": "3",
    }


def billing(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [BILLING, *args], env=env, capture_output=True, text=True, timeout=180, check=True
    )
    return done.stdout


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def live_url(service_env: dict[str, str], service_port: int, tmp_path_factory) -> Iterator[str]:
    port = service_port
    log = (tmp_path_factory.mktemp("serve") / "serve.log").open("w")
    process = subprocess.Popen(
        [BILLING, "serve", "--port", str(port)],
        env=service_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=1).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.2)
    else:
        _stop(process)
        pytest.fail("billing serve did not start")
    yield url
    _stop(process)


def start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """`billing worker` in its own process group, so a test can kill it and its work-horse."""
    return subprocess.Popen(
        [BILLING, "worker"],
        env=env,
        stdout=log_path.open("a"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill_worker(process: subprocess.Popen) -> None:
    """SIGKILL the worker and every process it forked (RQ's horse calls setpgrp)."""
    children = subprocess.run(
        ["pgrep", "-P", str(process.pid)], capture_output=True, text=True
    ).stdout.split()
    for pid in [process.pid, *map(int, children)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait()
    _end_group(process)


def stop_worker(process: subprocess.Popen) -> None:
    """SIGTERM, as a supervisor would; then whatever of its group outlived it (RQ's
    scheduler process), so no worker of this run lingers into the next test."""
    _stop(process)
    _end_group(process)


def _end_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def worker(service_env: dict[str, str], tmp_path) -> Iterator[subprocess.Popen]:
    process = start_worker(service_env, tmp_path / "worker.log")
    yield process
    stop_worker(process)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The fuzzer runs last among the e2e tests: it makes arbitrary documents on the
    shared service (invoices finalised with whatever it chose go to the one TRA, whose
    queue is in receipt order)."""
    fuzz = [item for item in items if item.module.__name__.endswith(".test_fuzz_e2e")]
    rest = [item for item in items if item not in fuzz]
    e2e = [i for i, item in enumerate(rest) if "/e2e/" in str(item.path)]
    end = e2e[-1] + 1 if e2e else len(rest)
    items[:] = rest[:end] + fuzz + rest[end:]
