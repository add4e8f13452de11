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
    "copy": "COPY",
    "copy_note": "the original was issued to the customer (VAT Act s.86(4))",
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
    "occurred_at": "Time (EAT)",
    "service": "Service",
    "destination": "Destination",
    "zone": "Zone",
    "units": "Units",
    "page": "Page",
    "of": "of",
    "receipt": "Receipt",
    "receipt_sub": "Prepaid top-up: paid in advance, VAT included",
    "period": "Period billed",
    "due_on": "Due date",
    "pay_heading": "How to pay",
    "pay_reference": "Quote this reference with every payment",
    "bank": "Bank",
    "account_name": "Account name",
    "account_number": "Account number",
    "swift": "SWIFT",
    "mobile_money": "Mobile money",
    "pay_number": "Pay number",
    "paid_heading": "Payment received",
    "paid_by": "Paid by",
    "paid_reference": "Transaction reference",
    "paid_at": "Paid on",
    "payer": "Payer",
    "adjustment_note": "Adjustment note (VAT Act s.87)",
    "adjustment_not_vfd": "This credit note is an adjustment note under the VAT Act, s.87. It is "
    "not sent to the VFD: TRA publishes no VFD message for adjustment notes, so it carries no "
    "fiscal receipt of its own. It adjusts the fiscalised invoice named above.",
    "original_code": "Verification code of the original invoice",
}

_SW = {
    "invoice": "Ankara ya kodi",
    "credit_note": "Hati ya punguzo",
    "copy": "NAKALA",
    "copy_note": "hati halisi alipewa mteja (Sheria ya VAT k.86(4))",
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
    "occurred_at": "Muda (EAT)",
    "service": "Huduma",
    "destination": "Mahali",
    "zone": "Eneo",
    "units": "Vipimo",
    "page": "Ukurasa",
    "of": "wa",
    "receipt": "Risiti",
    "receipt_sub": "Malipo ya awali: yamelipwa mapema, VAT imejumuishwa",
    "period": "Kipindi cha ankara",
    "due_on": "Tarehe ya mwisho ya kulipa",
    "pay_heading": "Jinsi ya kulipa",
    "pay_reference": "Taja kumbukumbu hii kwa kila malipo",
    "bank": "Benki",
    "account_name": "Jina la akaunti",
    "account_number": "Namba ya akaunti",
    "swift": "SWIFT",
    "mobile_money": "Pesa kwa simu",
    "pay_number": "Namba ya kulipia",
    "paid_heading": "Malipo yamepokelewa",
    "paid_by": "Imelipwa kwa",
    "paid_reference": "Kumbukumbu ya muamala",
    "paid_at": "Tarehe ya malipo",
    "payer": "Mlipaji",
    "adjustment_note": "Hati ya marekebisho (Sheria ya VAT k.87)",
    "adjustment_not_vfd": "Hati hii ya punguzo ni hati ya marekebisho chini ya Sheria ya VAT, "
    "kifungu cha 87. Haitumwi kwenye VFD: TRA haijachapisha ujumbe wa VFD kwa hati za "
    "marekebisho, kwa hiyo haina risiti ya kodi yake yenyewe. Inarekebisha ankara iliyotajwa "
    "hapo juu, ambayo ina risiti ya kodi.",
    "original_code": "Namba ya uhakiki ya ankara ya awali",
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
