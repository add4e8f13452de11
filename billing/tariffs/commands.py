"""What `billing load-destinations` does, kept out of the CLI module."""

from __future__ import annotations

import time
from collections.abc import Callable

from billing.core.errors import InvalidInput
from billing.runtime import Runtime
from billing.tariffs.destination_store import load_destination_file


def load_destinations_command(runtime: Runtime, path: str, say: Callable[[str], None]) -> int:
    """Load the file in one transaction; the exit status: 0 loaded, 1 refused."""
    started = time.perf_counter()
    try:
        with (
            open(path, encoding="utf-8-sig", newline="") as lines,
            runtime.unit_of_work() as session,
        ):
            summary = load_destination_file(session, lines)
    except InvalidInput as refused:
        say(f"{path}: {refused.detail}")
        for line, problems in refused.errors.items():
            say(f"  {line}: {'; '.join(problems)}")
        return 1
    except UnicodeDecodeError:
        say(f"{path}: not UTF-8 text; nothing was loaded")
        return 1
    took = time.perf_counter() - started
    say(
        f"{path}: {summary.loaded:,} prefixes loaded, {summary.superseded:,} superseded, "
        f"{summary.unchanged:,} unchanged in {took:.2f} s"
    )
    return 0
