"""Role checks at the edge: `@requires(...)` authenticates and authorises a view."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from billing.auth.models import Role
from billing.auth.principal import Principal, authenticate
from billing.web.session import request_session

F = TypeVar("F", bound=Callable[..., Any])

STAFF = (Role.ADMIN, Role.FINANCE)
TENANT = (Role.TENANT_ADMIN, Role.TENANT_USER)
ANYONE = STAFF + TENANT


def principal() -> Principal:
    if "principal" not in g:
        g.principal = authenticate(request_session(), request.headers.get("Authorization"))
    return g.principal


def requires(*roles: Role) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            principal().require(*roles)
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate
