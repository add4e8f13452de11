"""Phone numbers as MSISDNs: E.164 digits without the plus, e.g. 255712345678."""

from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "TZ"


def normalise_msisdn(raw: str, region: str = DEFAULT_REGION) -> str:
    """Accept `0712 345 678`, `+255-712-345678`, `255712345678`; reject what is not a mobile."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as error:
        raise ValueError("not a phone number") from error
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    kind = phonenumbers.number_type(number)
    if kind not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise ValueError("not a mobile number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
