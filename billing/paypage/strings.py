"""The page's words, in English and Swahili (the payer picks; the tenant's language first)."""

from __future__ import annotations

LANGUAGES = ("en", "sw")

STRINGS: dict[str, dict[str, str]] = {
    "title": {"en": "Top up your wallet", "sw": "Ongeza salio la pochi yako"},
    "pay_to": {"en": "Payment to", "sw": "Malipo kwa"},
    "amount": {"en": "Amount", "sw": "Kiasi"},
    "by_card": {"en": "Pay by card", "sw": "Lipa kwa kadi"},
    "card_hint": {
        "en": "Visa or Mastercard. Your card details go to Stripe, never to us.",
        "sw": "Visa au Mastercard. Taarifa za kadi yako zinaenda Stripe, si kwetu.",
    },
    "pay": {"en": "Pay", "sw": "Lipa"},
    "by_mobile": {"en": "Pay by mobile money", "sw": "Lipa kwa pesa ya simu"},
    "mobile_hint": {
        "en": "M-Pesa, Mixx by Yas, Airtel Money, HaloPesa, T-Pesa or Ezypesa.",
        "sw": "M-Pesa, Mixx by Yas, Airtel Money, HaloPesa, T-Pesa au Ezypesa.",
    },
    "phone": {"en": "Phone number", "sw": "Namba ya simu"},
    "send_request": {"en": "Send payment request", "sw": "Tuma ombi la malipo"},
    "approve": {
        "en": "Approve the payment on your phone: enter your PIN when asked.",
        "sw": "Idhinisha malipo kwenye simu yako: weka PIN yako ukiombwa.",
    },
    "processing": {"en": "Processing your payment…", "sw": "Tunashughulikia malipo yako…"},
    "pending": {"en": "Waiting for the payment…", "sw": "Tunasubiri malipo…"},
    "succeeded": {
        "en": "Paid. Your wallet has been topped up.",
        "sw": "Imelipwa. Pochi yako imeongezewa salio.",
    },
    "failed": {"en": "The payment failed.", "sw": "Malipo hayakufanikiwa."},
    "cancelled": {"en": "The payment was cancelled.", "sw": "Malipo yameghairiwa."},
    "expired": {"en": "The payment request expired.", "sw": "Ombi la malipo limeisha muda."},
    "refunded": {"en": "The payment was refunded.", "sw": "Malipo yamerejeshwa."},
    "try_again": {"en": "Try again", "sw": "Jaribu tena"},
    "not_found": {
        "en": "This payment link is not valid or has expired.",
        "sw": "Kiungo hiki cha malipo si sahihi au kimeisha muda.",
    },
    "bad_phone": {
        "en": "Enter a Tanzanian mobile number.",
        "sw": "Weka namba ya simu ya Tanzania.",
    },
    "language": {"en": "Kiswahili", "sw": "English"},
}


def table(language: str) -> dict[str, str]:
    language = language if language in LANGUAGES else "en"
    return {key: words[language] for key, words in STRINGS.items()}
