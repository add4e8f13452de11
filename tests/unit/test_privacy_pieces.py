"""Pure pieces of privacy: log masking, pseudonyms, the live start's key checks."""

from __future__ import annotations

import logging

from billing.core import masking
from billing.core.config import Settings
from billing.core.live_checks import missing_privacy_settings
from billing.privacy.pseudonyms import pseudonym, scrub_json, variants


def test_phone_numbers_are_masked_in_every_form():
    assert masking.mask("payer 255712345678 paid") == "payer 2557******78 paid"
    assert masking.mask("+255612345678") == "+2556******78"
    assert masking.mask("0712345678") == "0712****78"
    # not a phone number: longer digit runs and ids are left alone
    assert masking.mask("txn 1255712345678 and 25571234567") == "txn 1255712345678 and 25571234567"


def test_a_logged_number_is_masked_before_any_handler_sees_it(caplog):
    masking.install()
    masking.install()  # twice: still one mask
    caplog.set_level(logging.INFO)
    logging.getLogger("billing.test").info("callback from %s for %s", "255754123456", "TZS 5,000")
    assert "2557******56" in caplog.text and "255754123456" not in caplog.text
    assert caplog.records[-1].getMessage() == "callback from 2557******56 for TZS 5,000"


def test_pseudonyms_are_keyed_stable_and_fit_the_column():
    one = pseudonym("k1", "255712345678")
    assert one == pseudonym("k1", "255712345678") and len(one) == 20
    assert one != pseudonym("k2", "255712345678") and one.startswith("pz_")
    assert variants("255712345678") == {"255712345678", "+255712345678", "0712345678"}
    replaced = scrub_json(
        {"msisdn": 255712345678, "note": "from +255712345678", "255712345678": [True, 1.5]},
        {v: "P" for v in variants("255712345678")},
    )
    assert replaced == {"msisdn": "P", "note": "from P", "P": [True, 1.5]}


def test_live_mode_refuses_the_development_keys(monkeypatch):
    monkeypatch.delenv("MALIPO_SEAL_KEYS", raising=False)
    assert missing_privacy_settings(Settings()) == []  # sandbox: the development keys do
    live = Settings(provider_mode="live")
    assert missing_privacy_settings(live) == [
        "MALIPO_SEAL_KEYS", "MALIPO_PSEUDONYM_KEY (32 characters or more)",
    ]  # fmt: skip
    monkeypatch.setenv("MALIPO_SEAL_KEYS", "x" * 43 + "=")
    strong = Settings(provider_mode="live", pseudonym_key="p" * 40)
    assert missing_privacy_settings(strong) == []
