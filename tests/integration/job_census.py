"""Which job names the code declares (`@job`) and defers (`defer`, `defer_many`), and which
`create_app` registers: run in a fresh interpreter, printed as JSON.

The names are read from the source, not listed by hand, so a new job that `create_app`
does not import fails the test that reads this census.
"""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
from pathlib import Path
from types import ModuleType

import billing

_DEFERS = {"defer", "defer_many"}


def _called(node: ast.Call) -> str | None:
    func = node.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


def _value(module: ModuleType, node: ast.expr) -> str:
    """A literal, or a module-level constant such as `RATE_JOB`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name) and isinstance(getattr(module, node.id, None), str):
        return getattr(module, node.id)
    raise ValueError(f"{module.__name__}: a job name that is not a constant: {ast.dump(node)}")


def _names(module: ModuleType) -> tuple[set[str], set[str]]:
    declared: set[str] = set()
    deferred: set[str] = set()
    tree = ast.parse(Path(module.__file__ or "").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and _called(decorator) == "job":
                    declared.add(_value(module, decorator.args[0]))
        elif isinstance(node, ast.Call) and _called(node) in _DEFERS and len(node.args) > 1:
            deferred.add(_value(module, node.args[1]))
    return declared, deferred


def census() -> dict[str, list[str]]:
    from billing import create_app
    from billing.core.config import Settings
    from billing.jobs import registry

    create_app(Settings(database_url="sqlite://", provider_mode="live"))
    registered = sorted(registry._JOBS)  # before anything else is imported
    declared: set[str] = set()
    deferred: set[str] = set()
    for info in pkgutil.walk_packages(billing.__path__, "billing."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        if module.__file__ and module.__file__.endswith(".py"):
            more_declared, more_deferred = _names(module)
            declared |= more_declared
            deferred |= more_deferred
    return {"registered": registered, "declared": sorted(declared), "deferred": sorted(deferred)}


if __name__ == "__main__":
    print(json.dumps(census()))
