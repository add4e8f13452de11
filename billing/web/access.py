"""Role checks at the edge: `@requires(...)` authenticates and authorises a view."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import request

from billing.auth.models import Role
from billing.auth.principal import Principal, authenticate
from billing.core.db import reading
from billing.web.session import request_session, request_state

F = TypeVar("F", bound=Callable[..., Any])

STAFF = (Role.ADMIN, Role.FINANCE)
TENANT = (Role.TENANT_ADMIN, Role.TENANT_USER)
ANYONE = STAFF + TENANT


def principal() -> Principal:
    state = request_state()
    if "principal" not in state:
        # Outside the request's transaction (none has begun yet): the key is read in
        # autocommit, and the view's own work begins the transaction if it needs one.
        with reading(request_session()) as session:
            state["principal"] = authenticate(session, request.headers.get("Authorization"))
    return state["principal"]


def requires(*roles: Role) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            principal().require(*roles)
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate
