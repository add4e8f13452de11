"""Build a provider package's frozen config from the flat mapping the app passes in."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from providers.base import ProviderConfigError

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
