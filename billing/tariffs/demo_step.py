"""The tariff step of `billing demo`: the demo tenant's plan, and a call and an SMS
authorised from its wallet over HTTP."""

from __future__ import annotations

from collections.abc import Callable

Call = Callable[..., dict]


def authorisation_step(
    call: Call, admin_key: str, tenant_id: str, say: Callable[[str], None]
) -> None:
    on_plan = call("GET", f"/v1/tenants/{tenant_id}/rate-plan", admin_key)
    plan = call("GET", f"/v1/rate-plans/{on_plan['current']['plan_id']}", admin_key)
    say(
        f"  on {plan['code']} v{plan['version']}: {len(plan['duration_rates'])} voice rates,"
        f" {len(plan['unit_rates'])} unit rates, {len(plan['whatsapp_rates'])} WhatsApp rates"
    )
    for service, number in (
        ("voice", "0754 000 111"),
        ("voice", "+44 20 7946 0000"),
        ("sms", "0754 000 111"),
    ):
        answer = call(
            "POST",
            "/v1/authorize",
            admin_key,
            # A question only: holding each answer would promise the wallet three times.
            {"tenant_id": tenant_id, "service": service, "destination": number, "reserve": False},
        )
        rate = answer["rate"] or {}
        limit = (
            f"max {answer['max_seconds']:,} s"
            if service == "voice"
            else f"max {answer['max_messages']:,} messages"
        )
        say(
            f"  authorise {service} to {number}: allowed={answer['allowed']}, {limit};"
            f" zone {rate.get('zone')}, {rate.get('currency')} {rate.get('price')}"
            f" per {rate.get('per_seconds', rate.get('per'))}{'' if service != 'voice' else ' s'},"
            f" first charge with VAT {rate.get('first_charge', 0) / 100:,.2f}"
        )
