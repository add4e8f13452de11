"""One operator's simulator as a Flask blueprint: its routes under `/sandbox/<code>`, the
operator's own answer for any other path or method, and its settlement statement."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, Response

from providers.sandbox import statements
from providers.sandbox.exchange import Refuse, answer_unknown_paths

Route = tuple[str, str, Callable[..., Response]]  # (method, path, view)


def operator_blueprint(
    code: str,
    sim: Any,
    routes: Iterable[Route],
    *,
    refuse: Refuse,
    statement: statements.Writer,
) -> Blueprint:
    bp = Blueprint(f"sandbox_{code}", __name__, url_prefix=f"/sandbox/{code}")
    for method, path, view in routes:
        bp.add_url_rule(path, view_func=view, methods=[method])
    answer_unknown_paths(bp, refuse)
    statements.add_statement_route(bp, lambda: sim.payer.book, statement)
    bp.simulator = sim  # type: ignore[attr-defined]  # for tests and the demo
    return bp
