"""The platform's side in the browser tests: API calls with a tenant key."""

from __future__ import annotations

import requests

from billing.auth.models import Role
from billing.auth.service import issue_key


def api_topup(
    runtime, url: str, tenant_id: str, msisdn: str, provider: str, amount: int = 500000
) -> str:
    with runtime.unit_of_work() as session:
        _key, token = issue_key(session, role=Role.TENANT_ADMIN, tenant_id=tenant_id)
    made = requests.post(
        f"{url}/v1/topups",
        json={"amount": amount, "currency": "TZS", "msisdn": msisdn, "provider": provider},
        headers={"Authorization": f"Bearer {token}"}, timeout=10,
    )  # fmt: skip
    made.raise_for_status()
    return made.json()["id"]
