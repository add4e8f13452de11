"""The demo's step on the web side: the platform asks for a portal link, a browser (here
a `requests` session keeping the cookie) opens it once; a finance member signs in to the
back office with a password and a TOTP code."""

from __future__ import annotations

import re
from collections.abc import Callable

import pyotp
import requests

from billing.backoffice.enrolment import demo_access
from billing.runtime import Runtime

Call = Callable[..., dict]
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_BALANCE = re.compile(r'data-testid="balance">([^<]+)<')


def portal_step(
    url: str, runtime: Runtime, call: Call, admin_key: str, tenant_id: str, say
) -> None:
    link = call("POST", "/v1/portal-sessions", admin_key, {
        "tenant_id": tenant_id, "user_email": "owner@demo-duka.co.tz", "role": "tenant_admin",
        "return_url": "https://platform.example/account",
    })  # fmt: skip
    browser = requests.Session()
    page = browser.get(link["url"], timeout=10)
    balance = _BALANCE.search(page.text)
    say(f"  portal link opened → {page.status_code}: balance {balance[1] if balance else '?'}")
    say(f"  the same link again → {requests.get(link['url'], timeout=10).status_code} (one use)")
    browser.post(f"{url}/portal/language", data={
        "lang": "sw", "next": "/portal/", "csrf_token": _CSRF.search(page.text)[1],
    }, timeout=10)  # fmt: skip
    swahili = browser.get(f"{url}/portal/", timeout=10).text
    say(f"  in Swahili: {'Salio' in swahili and 'Muhtasari' in swahili}")

    access = demo_access(runtime.unit_of_work, url, tenant_id)
    staff = requests.Session()
    form = staff.get(f"{url}/office/sign-in", timeout=10)
    token = _CSRF.search(form.text)[1]
    staff.post(f"{url}/office/sign-in", timeout=10, data={
        "email": access.staff_email, "password": access.staff_password, "csrf_token": token,
    })  # fmt: skip
    code = pyotp.TOTP(access.enrolment.totp_secret).now()
    home = staff.post(f"{url}/office/sign-in/code", data={"code": code, "csrf_token": token},
                      timeout=10)  # fmt: skip
    say(f"  staff sign-in with password and TOTP → {home.status_code} {home.url.removeprefix(url)}")
