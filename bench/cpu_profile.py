"""Run a console script under cProfile timed by the main thread's CPU (not the wall).

    python bench/cpu_profile.py OUT.prof .venv/bin/billing worker --burst

A wall-clock profile of a worker is mostly waits (PostgreSQL, Stripe, Redis), and under
a shared machine's load, mostly other processes' turns; the main thread's CPU time
says where this process itself spends its instructions. Written at exit (SIGTERM too).
"""

from __future__ import annotations

import cProfile
import runpy
import signal
import sys
import time
from pathlib import Path


def main() -> None:
    out, script, *args = sys.argv[1:]
    profile = cProfile.Profile(time.thread_time)

    def stop(*_: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    sys.argv = [script, *args]
    sys.path[0] = str(Path(script).resolve().parent)  # not bench/: its modules shadow packages
    profile.enable()
    try:
        runpy.run_path(script, run_name="__main__")
    finally:
        profile.disable()
        profile.dump_stats(out)


if __name__ == "__main__":
    main()
