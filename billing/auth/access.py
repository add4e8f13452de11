"""Access at the edge: `@requires(...)` authenticates, finds the path's objects for the
caller, then checks the role.

Ownership comes first. A tenant naming another tenant's object gets 404, exactly as for
an id that does not exist: never a 403 from the role check nor a 422 from the body, each
of which would tell it the object is there. Each path parameter that names an object has
a finder, registered by its capability (`finds("topup_id")`): it raises NotFound when
the object is not this caller's to see. A parameter without a finder is a programming
error, refused loudly rather than left unchecked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import wraps
from typing import Any, TypeVar

from flask import request
from sqlalchemy.orm import Session

from billing.auth.models import Role
from billing.auth.principal import Principal, authenticate, cached
from billing.core import scoping
from billing.core.db import reading
from billing.core.errors import NotFound
from billing.runtime import current
from billing.web.idempotency import scoped_by
from billing.web.session import request_session, request_state

F = TypeVar("F", bound=Callable[..., Any])
Finder = Callable[[Session, str, Principal], object]

STAFF = (Role.ADMIN, Role.FINANCE)
TENANT = (Role.TENANT_ADMIN, Role.TENANT_USER)
ANYONE = STAFF + TENANT
_ID_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-")
_finders: dict[str, Finder] = {}


def finds(parameter: str) -> Callable[[Finder], Finder]:
    """Register how the object a path parameter names is found for a caller."""

    def register(finder: Finder) -> Finder:
        if _finders.setdefault(parameter, finder) is not finder:
            raise ValueError(f"the path parameter {parameter!r} already has a finder")
        return finder

    return register


def principal() -> Principal:
    state = request_state()
    if "principal" not in state:
        runtime = current()
        authorization = request.headers.get("Authorization")
        database = runtime.settings.database_url
        who = cached(database, authorization)
        session = request_session()
        if who is None:
            # Outside the request's transaction (none has begun yet): the key is read in
            # autocommit, and the view's own work begins the transaction if it needs one.
            with reading(session):
                who = authenticate(session, authorization, database)
        scoping.set_scope(session, scope_for(who))
        if not runtime.settings.application_scoping:
            who = replace(who, tenant_id=None, unscoped=True)
        state["principal"] = who
    return state["principal"]


scoped_by(lambda: principal().scope)  # idempotency keys are the caller's own


def scope_for(who: Principal) -> scoping.Scope:
    """The rows a caller's transactions may see: its tenant's, or (staff) every tenant's."""
    if who.tenant_id is not None:
        return scoping.Scope.tenant(who.tenant_id)
    return scoping.STAFF


def requires(*roles: Role) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            with reading(request_session()):  # the key and the objects: one round trip
                who = principal()
                _find_path_objects(who)
            who.require(*roles)
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


def _find_path_objects(who: Principal) -> None:
    named = request.view_args or {}
    if not named:
        return
    with reading(request_session()) as session:  # joins the caller's reading, if any
        for parameter, value in named.items():
            finder = _finders.get(parameter)
            if finder is None:
                raise LookupError(f"no finder for the path parameter {parameter!r}: see finds()")
            # An id is plain ASCII: anything else (a NUL, a lone surrogate) names nothing,
            # and is answered without asking a database that would refuse to compare it.
            if not value or len(value) > 64 or not _ID_CHARS.issuperset(value):
                raise NotFound(f"no {parameter.removesuffix('_id')} has this id")
            finder(session, value, who)
