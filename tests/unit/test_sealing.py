"""Secrets at rest: sealed values open only with a configured key, and keys rotate."""

from __future__ import annotations

import pytest

from billing.core.sealing import (
    ENV_KEYS,
    SealBroken,
    new_key,
    reseal,
    seal,
    unseal,
    uses_development_key,
)


def test_a_sealed_value_is_not_the_plaintext_and_opens_again() -> None:
    env = {ENV_KEYS: new_key()}
    sealed = seal("JBSWY3DPEHPK3PXP", env)
    assert "JBSWY3DPEHPK3PXP" not in sealed
    assert unseal(sealed, env) == "JBSWY3DPEHPK3PXP"


def test_a_tampered_value_does_not_open() -> None:
    env = {ENV_KEYS: new_key()}
    sealed = seal("secret", env)
    tampered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    with pytest.raises(SealBroken):
        unseal(tampered, env)


def test_rotation_new_key_in_front_old_values_still_open_then_reseal_drops_the_old() -> None:
    old, new = new_key(), new_key()
    sealed_old = seal("credential", {ENV_KEYS: old})
    both = {ENV_KEYS: f"{new},{old}"}
    assert unseal(sealed_old, both) == "credential"
    resealed = reseal(sealed_old, both)
    assert unseal(resealed, {ENV_KEYS: new}) == "credential"
    with pytest.raises(SealBroken):
        unseal(sealed_old, {ENV_KEYS: new})


def test_without_configured_keys_the_development_key_is_used_and_said() -> None:
    assert uses_development_key({})
    assert not uses_development_key({ENV_KEYS: new_key()})
    assert unseal(seal("x", {}), {}) == "x"
