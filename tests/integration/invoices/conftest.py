"""A fake TRA on a loopback port, and a client wired to it with a throwaway certificate."""

from __future__ import annotations

import pytest

from invoices.vfd.client import Credentials, Endpoints, VfdClient
from invoices.vfd.devcert import make_self_signed_pfx
from invoices.vfd.signing import SigningKey, load_pfx
from invoices.vfd.simulator import TraState, serve


@pytest.fixture(scope="session")
def vfd_key() -> SigningKey:
    return load_pfx(make_self_signed_pfx(0x69C5AF01, "pw"), "pw")


@pytest.fixture
def tra(vfd_key: SigningKey):
    state = TraState(certificate=vfd_key.certificate, fault_delay=1.5)
    with serve(state) as base_url:
        yield state, base_url


@pytest.fixture
def vfd(tra, vfd_key: SigningKey) -> VfdClient:
    state, base_url = tra
    return VfdClient(
        Endpoints.test(base_url),
        vfd_key,
        credentials=Credentials(state.username, state.password),
        timeout=(2.0, 0.5),
    )
