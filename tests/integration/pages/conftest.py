"""Browser-less page tests: Flask's client keeps the cookie like a browser would."""

from __future__ import annotations

import os
import re

import pyotp
import pytest

from billing.auth.models import Role
from billing.auth.service import create_staff
from billing.backoffice.credentials import enrol
from billing.portal.links import create_link

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(response) -> str:
    return CSRF.search(response.get_data(as_text=True)).group(1)


@pytest.fixture
def portal_link(runtime):
    def make(tenant_id: str, role: Role = Role.TENANT_ADMIN) -> str:
        with runtime.unit_of_work() as session:
            _link, token = create_link(
                session,
                actor="test",
                tenant_id=tenant_id,
                user_email="owner@duka.co.tz",
                role=role,
                return_url=None,
            )
        return f"/portal/start/{token}"

    return make


@pytest.fixture
def staff_member(runtime):
    def make(role: Role = Role.FINANCE):
        with runtime.unit_of_work() as session:
            user, _key = create_staff(
                session, email=f"{os.urandom(5).hex()}@malipo.test", role=role
            )
            enrolment = enrol(session, user, "correct horse battery")
        return user.email, "correct horse battery", pyotp.TOTP(enrolment.totp_secret), enrolment

    return make


def sign_in(client, email: str, password: str, totp) -> None:
    page = client.get("/office/sign-in")
    token = csrf_of(page)
    assert (
        client.post(
            "/office/sign-in", data={"email": email, "password": password, "csrf_token": token}
        ).status_code
        == 303
    )
    done = client.post("/office/sign-in/code", data={"code": totp.now(), "csrf_token": token})
    assert done.status_code == 303, done.get_data(as_text=True)
