"""Build a provider package's frozen config from the flat mapping the app passes in."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from typing import Any, TypeVar

from providers.base import ProviderConfigError, adapter_factory

C = TypeVar("C")


def config_from_settings(config_cls: type[C], settings: Mapping[str, Any]) -> C:
    """Reject unknown keys, so a typo in a credential name fails at start-up."""
    known = {f.name for f in dataclasses.fields(config_cls)}  # type: ignore[arg-type]
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ProviderConfigError(f"{config_cls.__name__}: unknown settings {unknown}")
    try:
        return config_cls(**settings)
    except TypeError as error:
        raise ProviderConfigError(f"{config_cls.__name__}: {error}") from error


def missing_settings(code: str, settings: Mapping[str, Any]) -> list[str]:
    """What `code`'s settings lack for live use (names only, never values): the config's
    required fields, what its callback verification needs (`LIVE_REQUIRED`), and any
    unknown key. An adapter class built by `OperatorAdapter.build` names its config class
    as `CONFIG`; a module whose `build` is a function names it at module level."""
    factory = adapter_factory(code)
    owner = getattr(factory, "__self__", None) or sys.modules[factory.__module__]
    config_cls = owner.CONFIG
    fields = dataclasses.fields(config_cls)
    required = [
        f.name
        for f in fields
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    required += [name for name in getattr(config_cls, "LIVE_REQUIRED", ()) if name not in required]
    problems = [name for name in required if settings.get(name) in (None, "", [], ())]
    known = {f.name for f in fields}
    problems += [f"{name} (unknown setting)" for name in sorted(set(settings) - known)]
    return problems
