"""Posting pre-signed callbacks with wrk (a C load generator), for bench/callbacks.py.

A Python client spends about as much CPU per request as the service does; on a
two-core machine that CPU is taken from the service under test. wrk spends a few
microseconds. wrk runs for a fixed time: each thread posts its share of a pool of
callbacks in order (callbacks.lua), so the pool must outlast the run; the benchmark
counts what was stored, and any repeat of a callback, itself.
"""

from __future__ import annotations

import re
import resource
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("callbacks.lua")
SUMMARY = re.compile(r"^MALIPO (.*)$", re.MULTILINE)


@dataclass(frozen=True)
class WrkRun:
    requests: int
    seconds: float
    non_2xx: int
    timeouts: int
    errors: int
    p50_ms: float
    p99_ms: float
    cpu_s: float


def _lua_string(text: str) -> str:
    level = "=" * 4
    if f"]{level}]" in text:
        raise ValueError("callback text holds the Lua closing bracket")
    return f"[{level}[{text}]{level}]"


def write_requests(items: list[tuple[bytes, dict[str, str]]], path: Path) -> None:
    """A Lua file returning {{b = body, h = headers}, ...}."""
    with path.open("w") as out:
        out.write("return {\n")
        for body, headers in items:
            pairs = ", ".join(
                f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items()
            )
            out.write(f"  {{b = {_lua_string(body.decode())}, h = {{{pairs}}}}},\n")
        out.write("}\n")


def post_for(
    items: list[tuple[bytes, dict[str, str]]],
    url: str,
    connections: int,
    threads: int,
    seconds: float,
) -> WrkRun:
    threads = max(1, min(threads, connections))
    with tempfile.TemporaryDirectory(prefix="malipo-wrk-") as folder:
        requests_file = Path(folder) / "callbacks.lua"
        write_requests(items, requests_file)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds:g}s",
                "--timeout",
                "10s",
                "-s",
                str(SCRIPT),
                url,
                "--",
                str(requests_file),
                str(threads),
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=True,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    found = SUMMARY.search(done.stdout)
    if found is None:
        raise SystemExit(f"wrk printed no summary:\n{done.stdout}\n{done.stderr}")
    fields = dict(pair.split("=") for pair in found.group(1).split())
    return WrkRun(
        requests=int(fields["requests"]),
        seconds=int(fields["duration_us"]) / 1e6,
        non_2xx=int(fields["non2xx"]),
        timeouts=int(fields["timeouts"]),
        errors=int(fields["errors"]),
        p50_ms=int(fields["p50_us"]) / 1e3,
        p99_ms=int(fields["p99_us"]) / 1e3,
        cpu_s=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
    )
