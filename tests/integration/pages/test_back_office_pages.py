"""The back office: password + TOTP, lockout, re-authentication before finalising."""

from __future__ import annotations

import pytest

from billing.auth.models import Role
from billing.backoffice import credentials
from tests.integration.pages.conftest import csrf_of, sign_in

pytestmark = pytest.mark.integration


def test_password_alone_is_not_enough(app, staff_member) -> None:
    email, password, _totp, _enrolment = staff_member()
    browser = app.test_client()
    token = csrf_of(browser.get("/office/sign-in"))
    browser.post(
        "/office/sign-in", data={"email": email, "password": password, "csrf_token": token}
    )
    assert browser.get("/office/").status_code == 302  # still to the sign-in
    wrong = browser.post("/office/sign-in/code", data={"code": "000000", "csrf_token": token})
    assert wrong.status_code == 401


def test_a_totp_code_works_once(app, staff_member) -> None:
    email, password, totp, _enrolment = staff_member()
    sign_in(app.test_client(), email, password, totp)
    replay = app.test_client()
    token = csrf_of(replay.get("/office/sign-in"))
    replay.post("/office/sign-in", data={"email": email, "password": password, "csrf_token": token})
    assert (
        replay.post(
            "/office/sign-in/code", data={"code": totp.now(), "csrf_token": token}
        ).status_code
        == 401
    )


def test_recovery_code_once(app, staff_member) -> None:
    email, password, _totp, enrolment = staff_member()
    for expected in (303, 401):
        browser = app.test_client()
        token = csrf_of(browser.get("/office/sign-in"))
        browser.post(
            "/office/sign-in", data={"email": email, "password": password, "csrf_token": token}
        )
        done = browser.post(
            "/office/sign-in/code", data={"code": enrolment.recovery_codes[0], "csrf_token": token}
        )
        assert done.status_code == expected


def test_lockout_after_failures(app, staff_member) -> None:
    email, password, _totp, _enrolment = staff_member()
    browser = app.test_client()
    token = csrf_of(browser.get("/office/sign-in"))
    for _ in range(credentials.LOCK_AFTER):
        wrong = browser.post(
            "/office/sign-in",
            data={"email": email, "password": "nope nope nope", "csrf_token": token},
        )
        assert wrong.status_code == 401
    right = browser.post(
        "/office/sign-in", data={"email": email, "password": password, "csrf_token": token}
    )
    assert right.status_code == 401 and "locked" in right.get_data(as_text=True)


def test_finance_pages_need_the_role(app, staff_member) -> None:
    email, password, totp, _enrolment = staff_member(Role.FINANCE)
    browser = app.test_client()
    sign_in(browser, email, password, totp)
    assert browser.get("/office/reviews").status_code == 200
    assert browser.get("/office/tenants").status_code == 403
