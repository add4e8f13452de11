"""The live start check passes a complete configuration and names what a partial one
lacks, by name only."""

from __future__ import annotations

from billing.core.config import Settings
from billing.core.live_checks import missing_smtp_settings, missing_vfd_settings
from billing.topups.gateways import Gateways

TIGO = {
    "token_url": "https://tigo.example/token",
    "pay_url": "https://tigo.example/pay",
    "username": "malipo",
    "password": "pw",
    "biller_msisdn": "255650000000",
    "biller_code": "BC01",
    "callback_ips": ["41.222.176.0/24"],
    "callback_token": "t0ken",
}


def live(**provider_settings) -> Gateways:
    return Gateways(Settings(provider_mode="live", provider_settings=provider_settings))


def test_a_complete_live_provider_lacks_nothing_and_its_callback_url_has_the_token():
    gateways = live(tigopesa=TIGO)
    assert gateways.missing_settings() == []
    assert gateways.enabled == ("tigopesa",)
    assert gateways.callback_url("tigopesa").endswith("/v1/callbacks/tigopesa/t0ken")


def test_tigo_without_its_callback_proofs_is_incomplete_and_typos_are_named():
    settings = {k: v for k, v in TIGO.items() if k not in ("callback_ips", "callback_token")}
    gateways = live(tigopesa={**settings, "pasword": "x"})
    assert gateways.missing_settings() == [
        "tigopesa.callback_ips",
        "tigopesa.callback_token",
        "tigopesa.pasword (unknown setting)",
    ]


def test_an_explicit_provider_list_is_checked_even_without_settings():
    gateways = Gateways(Settings(provider_mode="live", providers=("mpesa", "paypal")))
    problems = gateways.missing_settings()
    assert "MALIPO_PROVIDERS: unknown provider 'paypal'" in problems
    assert {"mpesa.base_url", "mpesa.api_key"} <= set(problems)


def test_smtp_partly_set_names_the_rest_and_vfd_sandbox_needs_nothing():
    assert missing_smtp_settings(Settings()) == []
    assert missing_smtp_settings(Settings(smtp_host="mail", smtp_password="pw")) == [
        "MALIPO_SMTP_USERNAME"
    ]
    assert missing_smtp_settings(Settings(smtp_host="mail")) == []
    assert missing_vfd_settings(Settings()) == []
