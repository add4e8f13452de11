"""Every benchmark, one after another, then each figure beside its target in one summary.

    .venv/bin/python bench/all.py [NAME ...]     (`make bench` runs them all)

Each benchmark runs in its own process with its output shown as it comes; the lines in
which a benchmark prints a figure beside its target (they say "target") are gathered and
printed again at the end, under the benchmark's name, so one run shows every figure and
its verdict on one screen. A benchmark that fails is named in the summary with its exit
status, and the run exits non-zero, after the others have run.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import yardstick  # bench/yardstick.py

HERE = Path(__file__).resolve().parent
BENCHMARKS = (
    "ledger", "callbacks", "rating", "authorize", "authorize_http", "invoices",
    "invoicing", "pages", "cards", "export", "ingest", "reconcile", "segments",
    "audit_chain",
)  # fmt: skip


def run(name: str) -> tuple[int, list[str], float]:
    """Run one benchmark, echoing its output; its exit status, target lines and time."""
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, str(HERE / f"{name}.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    figures = []
    assert process.stdout is not None
    for line in process.stdout:
        sys.stdout.write(line)
        if "target" in line.lower():
            figures.append(line.rstrip())
    return process.wait(), figures, time.monotonic() - started


def summary(results: dict[str, tuple[int, list[str], float]]) -> str:
    """The figures beside their targets, a block a benchmark."""
    lines = ["", "=" * 78, "Every figure beside its target (this run)", "=" * 78]
    for name, (status, figures, took) in results.items():
        verdict = "" if status == 0 else f"  FAILED (exit {status})"
        lines.append(f"{name} ({took:.0f} s){verdict}")
        lines.extend(f"  {figure.strip()}" for figure in figures or ["(prints no target)"])
    return "\n".join(lines)


def main() -> int:
    names = sys.argv[1:] or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        return 2
    results = {}
    before = yardstick.line()
    print(before, flush=True)
    for name in names:
        print(f"\n### bench/{name}.py", flush=True)
        yardstick.checkpoint()
        results[name] = run(name)
    after = yardstick.line()
    print(summary(results))
    print(f"before: {before}\nafter:  {after}")
    return 0 if all(status == 0 for status, _f, _t in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
