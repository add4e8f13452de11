"""The layering contract names every capability: a new package cannot slip past it."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOWER_FLOORS = {"core", "jobs", "web", "rating", "processes"}  # processes: the top, see below


def _contract() -> dict:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"
    ]
    return next(c for c in contracts if c["name"].startswith("lower floors import neither"))


def test_every_billing_package_is_a_lower_floor_or_forbidden_to_them() -> None:
    packages = {
        path.parent.name for path in (ROOT / "billing").glob("*/__init__.py")
    } - LOWER_FLOORS
    forbidden = {name.removeprefix("billing.") for name in _contract()["forbidden_modules"]}
    assert packages - forbidden == set(), "add the new capability to the layering contract"


def test_the_composition_root_is_forbidden_to_the_lower_floors() -> None:
    forbidden = set(_contract()["forbidden_modules"])
    assert {"billing.app", "billing.cli", "billing.processes", "billing.worker"} <= forbidden
    assert {"billing.core", "billing.jobs", "billing.web", "billing.runtime"} <= set(
        _contract()["source_modules"]
    )
