"""`POST /v1/authorize` in process: the service's own CPU a request and its database round
trips, the two figures that move least with a shared machine's load (the wall moves most).

The Flask app is called as a WSGI server calls it (no HTTP, no Granian), held and ask
only, with the bodies of `bench/authorize_http.py`. CPU is `time.process_time` a request,
the least of `--blocks` blocks of `--calls` (another process's bursts only ever add);
the round trips are counted by `strace` attached to the process itself over `--traced`
more requests: each time the process, having sent, reads an answer. The backend's CPU a
request is read from /proc.

    .venv/bin/python bench/authorize_trips.py [--calls 500] [--blocks 8] [--traced 200]

Instructions a request, which no other process moves: under callgrind, each block lies
between two dumps (`os.getppid` marks them), e.g.

    valgrind --tool=callgrind --dump-before=getppid --callgrind-out-file=/tmp/cg.%p \
        .venv/bin/python bench/authorize_trips.py --reuse --modes held --calls 200 \
        --blocks 1 --traced 0

then `callgrind_annotate` the part between the marks (its total over `--calls`).

`--history N` then holds N more answers, each re-authorisation releasing the one before,
as a tenant's past calls leave released reservations behind, and measures the modes
again: an answer must cost the same after them. It did not while the open holds were
read with the status bound (`billing.core.db.written`): psycopg prepares a statement
run often on a connection, and the plan made while the table was small read it whole.

Uses (and rebuilds, unless `--reuse`) the database of bench/authorize_http.py.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from authorize_http import REDIS_URL, URL, bodies, prepare  # bench/authorize_http.py
from sqlalchemy import text

from billing import create_app
from billing.core.config import Settings
from billing.runtime import EXTENSION


def _environ(body: bytes, headers: dict[str, str]) -> dict:
    environ = {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/v1/authorize",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": headers["Content-Type"],
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_AUTHORIZATION": headers["Authorization"],
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    return environ


def _call(app, body: bytes, headers: dict[str, str]) -> str:
    status = []
    out = app(_environ(body, headers), lambda s, _h, _e=None: status.append(s))
    b"".join(out)
    if hasattr(out, "close"):
        out.close()
    return status[0]


def _run(app, items, n: int) -> None:
    for i in range(n):
        body, headers = items[i % len(items)]
        status = _call(app, body, headers)
        if not status.startswith("200"):
            raise SystemExit(f"{status} for {body!r}")


def _backend_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _backends(runtime) -> list[int]:
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND backend_type = 'client backend'"
            )
        ).all()
    return [pid for (pid,) in rows]


def _round_trips(app, items, n: int) -> float:
    """The database round trips of `n` requests: each time this process, having sent,
    reads an answer (a pipeline's or a multi-statement query's several answers, once)."""
    trace = Path(f"/tmp/malipo-trips-{os.getpid()}.txt")
    calls = "trace=sendto,recvfrom"
    strace = subprocess.Popen(
        ["strace", "-f", "-qq", "-e", calls, "-o", str(trace), "-p", str(os.getpid())],
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # attached
    _run(app, items, n)
    time.sleep(0.2)
    strace.terminate()
    strace.wait()
    trips, sent = 0, False
    for line in trace.read_text().splitlines():
        if "sendto(" in line:
            sent = True
        elif "recvfrom(" in line and not re.search(r"= -1 ", line) and sent:
            trips, sent = trips + 1, False
    if os.environ.get("KEEP_TRACE"):
        print(trace.read_text()[:6000])
    trace.unlink()
    return trips / n


MODES = {"ask": False, "held": True}


def _measure(app, runtime, items, name: str, args: argparse.Namespace) -> None:
    """One mode's line: CPU a request (least and median block), the backends' CPU, the
    round trips and the wall (least block)."""
    _run(app, items, 300)  # warm: imports, caches, the pool
    backends = _backends(runtime)
    before_backend = sum(_backend_cpu_s(pid) for pid in backends)
    if args.profile and name == "held":
        import cProfile

        profile = cProfile.Profile(time.thread_time)
        profile.enable()
    blocks, walls = [], []
    for _ in range(args.blocks):
        before, started = time.process_time(), time.perf_counter()
        os.getppid()  # under `valgrind --tool=callgrind --dump-before=getppid`: a mark
        _run(app, items, args.calls)
        os.getppid()
        blocks.append((time.process_time() - before) / args.calls * 1e3)
        walls.append((time.perf_counter() - started) / args.calls * 1e3)
    if args.profile and name == "held":
        profile.disable()
        profile.dump_stats(args.profile)
    backend_ms = (sum(_backend_cpu_s(p) for p in backends) - before_backend) / (
        args.calls * args.blocks
    )
    trips = float("nan")
    if args.traced and shutil.which("strace"):
        trips = _round_trips(app, items, args.traced)
    median = sorted(blocks)[len(blocks) // 2]
    print(
        f"  {name:<6} {min(blocks):>6.3f} ms {median:>6.3f} ms {backend_ms * 1e3:>13.3f} ms"
        f" {trips:>12.2f} {min(walls):>6.3f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500, help="calls a block")
    parser.add_argument("--blocks", type=int, default=8, help="CPU: the least block's")
    parser.add_argument("--traced", type=int, default=200)
    parser.add_argument("--modes", default="ask,held")
    parser.add_argument("--profile", help="write a cProfile (thread CPU) of the held calls")
    parser.add_argument("--reuse", action="store_true", help="the database as last prepared")
    parser.add_argument("--history", type=int, default=0, help="answers held, then measured")
    parser.add_argument("--steps", type=int, default=1, help="measured every N/steps held")
    args = parser.parse_args()
    ids = Path("/tmp/malipo-bench-authorize-trips.json")
    if args.reuse and ids.exists():
        tenant_id, key = json.loads(ids.read_text())
    else:
        tenant_id, key = prepare()
        ids.write_text(json.dumps([tenant_id, key]))
    settings = Settings(database_url=URL, redis_url=REDIS_URL, secret_key="bench",
                        provider_mode="sandbox", log_format="text")  # fmt: skip
    app = create_app(settings)
    runtime = app.extensions[EXTENSION]
    print(
        f"POST /v1/authorize in process (WSGI); CPU a request: the least of {args.blocks}"
        f" blocks of {args.calls} calls (wall: the least block's); load average"
        f" {os.getloadavg()[0]:.2f}"
    )
    print(
        f"  {'mode':<6} {'CPU/req':>9} {'median':>9} {'backend CPU/req':>16} {'round trips':>12}"
        f" {'wall/req':>9}"
    )
    for name in args.modes.split(","):
        _measure(app, runtime, bodies(tenant_id, key, MODES[name]), name, args)
    steps = args.steps if args.history else 0
    for step in range(1, steps + 1):
        _run(app, bodies(tenant_id, key, True), args.history // args.steps)
        print(f"  after {args.history * step // args.steps:,} more answers held (and released):")
        for name in args.modes.split(","):
            _measure(app, runtime, bodies(tenant_id, key, MODES[name]), name, args)
    runtime.engine.dispose()


if __name__ == "__main__":
    main()
