"""The words printed on a document, in English and Swahili.

The Swahili wording follows common Tanzanian invoice usage; finance staff should review
it before it goes to tenants. "TIN", "VRN", "VAT" and "VFD" stay as TRA prints them.
"""

from __future__ import annotations

from types import MappingProxyType, SimpleNamespace

from invoices.vat import VatCode

LANGUAGES = ("en", "sw")

_EN = {
    "invoice": "Tax invoice",
    "credit_note": "Credit note",
    "copy": "Copy",
    "copy_note": "Copy of the original issued to the customer",
    "number": "Number",
    "issued_on": "Date of issue",
    "currency": "Currency",
    "seller": "Supplier",
    "tzs_totals": "In TZS",
    "buyer": "Customer",
    "address": "Address",
    "tin": "TIN",
    "vrn": "VRN",
    "not_registered": "not VAT-registered",
    "description": "Description",
    "quantity": "Quantity",
    "unit_price": "Unit price",
    "code": "VAT code",
    "net": "Net",
    "vat": "VAT",
    "gross": "Gross",
    "amount_excl": "Amount excl. VAT",
    "amount_incl": "Amount incl. VAT",
    "lines_note": "VAT is worked out per VAT code on the summed amounts (VAT summary below).",
    "vat_summary": "VAT summary",
    "rate": "Rate",
    "total_net": "Total excluding VAT",
    "total_vat": "VAT",
    "total_gross": "Total including VAT",
    "in_words": "Amount in words",
    "exchange_rate": "Exchange rate",
    "rate_source": "Source",
    "rate_on": "Rate date",
    "tzs_equivalent": "TZS equivalent",
    "original": "Original invoice",
    "original_dated": "dated",
    "reason": "Reason for the adjustment",
    "vat_effect": "Effect on VAT payable",
    "vat_decrease": "decreases by",
    "fiscal": "VFD fiscal receipt",
    "verification_code": "Verification code",
    "receipt_number": "Receipt number",
    "z_number": "Z number",
    "daily_counter": "Daily counter",
    "receipt_time": "Receipt time",
    "vfd_serial": "VFD serial",
    "uin": "UIN",
    "verify_at": "Verify at",
    "fiscal_pending": "TRA verification pending: the fiscal receipt follows.",
    "annex": "Usage annex",
    "annex_for": "to",
    "annex_total": "Total excluding VAT",
    "occurred_at": "Time (UTC)",
    "service": "Service",
    "destination": "Destination",
    "zone": "Zone",
    "units": "Units",
    "page": "Page",
    "of": "of",
}

_SW = {
    "invoice": "Ankara ya kodi",
    "credit_note": "Hati ya punguzo",
    "copy": "Nakala",
    "copy_note": "Nakala ya hati halisi aliyopewa mteja",
    "number": "Namba",
    "issued_on": "Tarehe ya kutolewa",
    "currency": "Sarafu",
    "seller": "Muuzaji",
    "tzs_totals": "Kwa TZS",
    "buyer": "Mnunuzi",
    "address": "Anwani",
    "tin": "TIN",
    "vrn": "VRN",
    "not_registered": "hajasajiliwa kwa VAT",
    "description": "Maelezo",
    "quantity": "Idadi",
    "unit_price": "Bei ya kimoja",
    "code": "Kodi ya VAT",
    "net": "Bila VAT",
    "vat": "VAT",
    "gross": "Pamoja na VAT",
    "amount_excl": "Kiasi bila VAT",
    "amount_incl": "Kiasi pamoja na VAT",
    "lines_note": "VAT inakokotolewa kwa kila kodi ya VAT juu ya jumla ya kiasi "
    "(muhtasari wa VAT hapa chini).",
    "vat_summary": "Muhtasari wa VAT",
    "rate": "Kiwango",
    "total_net": "Jumla bila VAT",
    "total_vat": "VAT",
    "total_gross": "Jumla pamoja na VAT",
    "in_words": "Kiasi kwa maneno",
    "exchange_rate": "Kiwango cha kubadilisha fedha",
    "rate_source": "Chanzo",
    "rate_on": "Tarehe ya kiwango",
    "tzs_equivalent": "Sawa na TZS",
    "original": "Ankara ya awali",
    "original_dated": "ya tarehe",
    "reason": "Sababu ya marekebisho",
    "vat_effect": "Athari kwa VAT inayolipwa",
    "vat_decrease": "inapungua kwa",
    "fiscal": "Risiti ya kodi ya VFD",
    "verification_code": "Namba ya uhakiki",
    "receipt_number": "Namba ya risiti",
    "z_number": "Namba ya Z",
    "daily_counter": "Kihesabu cha siku",
    "receipt_time": "Muda wa risiti",
    "vfd_serial": "Namba ya VFD",
    "uin": "UIN",
    "verify_at": "Hakiki kwenye",
    "fiscal_pending": "Uhakiki wa TRA unasubiriwa: risiti ya kodi itafuata.",
    "annex": "Kiambatisho cha matumizi",
    "annex_for": "hadi",
    "annex_total": "Jumla bila VAT",
    "occurred_at": "Muda (UTC)",
    "service": "Huduma",
    "destination": "Mahali",
    "zone": "Eneo",
    "units": "Vipimo",
    "page": "Ukurasa",
    "of": "wa",
}


class Labels(SimpleNamespace):
    """Labels by attribute (`t.copy` in a template: a dict would answer with its own
    `copy` method) and by key (`t["copy"]` in Python)."""

    def __getitem__(self, key: str) -> str:
        return getattr(self, key)


LABELS = MappingProxyType({"en": Labels(**_EN), "sw": Labels(**_SW)})

_CODE_MEANINGS = {
    "en": {code: code.meaning for code in VatCode},
    "sw": {
        VatCode.A: "Kiwango cha kawaida",
        VatCode.B: "Kiwango maalum",
        VatCode.C: "Kiwango sifuri",
        VatCode.D: "Unafuu maalum",
        VatCode.E: "Msamaha",
    },
}


def code_meaning(code: VatCode, language: str) -> str:
    return _CODE_MEANINGS[language][code]


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"language is one of {', '.join(LANGUAGES)}, not {language!r}")
    return language
