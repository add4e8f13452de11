"""A throwaway VFD certificate and key, made fresh for each test session."""

from __future__ import annotations

import pytest

from invoices.vfd.devcert import make_self_signed_pfx
from invoices.vfd.signing import SigningKey, load_pfx

PFX_PASSWORD = "test-only"
TEST_SERIAL = 0x69C5AF01


@pytest.fixture(scope="session")
def test_pfx() -> bytes:
    return make_self_signed_pfx(TEST_SERIAL, PFX_PASSWORD)


@pytest.fixture(scope="session")
def signing_key(test_pfx: bytes) -> SigningKey:
    return load_pfx(test_pfx, PFX_PASSWORD)
