"""Provider credentials and service secrets never appear in a repr (logs, tracebacks)."""

from __future__ import annotations

from billing.core.config import Settings
from providers.airtelmoney.client import AirtelConfig
from providers.mpesa.client import MpesaConfig
from providers.selcom.client import SelcomConfig
from providers.tigopesa.client import TigoConfig

SECRET = "s3cr3t-value"


def test_provider_configs_do_not_show_credentials():
    configs = [
        TigoConfig(
            token_url="u", pay_url="u", username="malipo", password=SECRET,
            biller_msisdn="255650000000", biller_code="BC", channel_pin=SECRET,
            callback_token=SECRET,
        ),
        SelcomConfig(base_url="u", api_key=SECRET, api_secret=SECRET, vendor="V"),
        AirtelConfig(
            base_url="u", client_id="id", client_secret=SECRET, callback_hash_key=SECRET
        ),
        MpesaConfig(
            base_url="u", api_key=SECRET, public_key="k", service_provider_code="000000"
        ),
    ]  # fmt: skip
    for config in configs:
        assert SECRET not in repr(config), type(config).__name__


def test_settings_do_not_show_secrets():
    settings = Settings(
        secret_key=SECRET,
        provider_settings={"tigopesa": {"password": SECRET}},
        platform_webhook_secret=SECRET,
        vfd_pfx_password=SECRET,
        smtp_password=SECRET,
    )
    assert SECRET not in repr(settings)
