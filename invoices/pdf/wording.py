"""How a document names what it bills, in its own language: services to human zone
names ("Simu kwenda Yas", not "voice, TZ-MOB-YAS"), units ("dakika"), and usage
durations ("3 min", not "180 second").

Zone codes follow the standard tariff (billing.tariffs.seed): `TZ-MOB-<OPERATOR>`,
`TZ-FIX`, `TZ-TOLLFREE`, `TZ-PREMIUM`, `INT-<ISO>` (country names from CLDR via Babel),
`INT-<ISO>-MOB` and `INT-GLOBAL`. An unknown code is printed as it is: never guessed.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache

from babel import Locale

_OPERATORS = {
    "YAS": "Yas",
    "VODACOM": "Vodacom",
    "AIRTEL": "Airtel",
    "HALOTEL": "Halotel",
    "TTCL": "TTCL",
}
_TZ_ZONES = {
    "en": {
        "TZ-FIX": "Tanzania fixed lines",
        "TZ-TOLLFREE": "Tanzania toll-free numbers",
        "TZ-PREMIUM": "Tanzania premium-rate numbers",
        "INT-GLOBAL": "international non-geographic numbers",
    },
    "sw": {
        "TZ-FIX": "simu za mezani Tanzania",
        "TZ-TOLLFREE": "namba za bure Tanzania",
        "TZ-PREMIUM": "namba za huduma za malipo Tanzania",
        "INT-GLOBAL": "namba za kimataifa zisizo za nchi",
    },
}
_MOBILE = {"en": "{} mobile", "sw": "{} (simu za mkononi)"}
# A Tanzanian operator is a mobile network by its name: "Simu kwenda Yas".
_TZ_MOBILE = {"en": "{} mobile", "sw": "{}"}
# A service to a zone, and the service alone (no zone, or every zone: "*").
_SERVICES = {
    "en": {
        "voice": ("Voice calls to {zone}", "Voice calls"),
        "sms": ("SMS to {zone}", "SMS"),
        "whatsapp": ("WhatsApp messages to {zone}", "WhatsApp messages"),
        "ai_agent_minutes": ("AI agent minutes, {zone}", "AI agent minutes"),
        "recording_minutes": ("Call recording, {zone}", "Call recording"),
        "number_rental": ("Number rental, {zone}", "Number rental"),
    },
    "sw": {
        "voice": ("Simu kwenda {zone}", "Simu za sauti"),
        "sms": ("SMS kwenda {zone}", "SMS"),
        "whatsapp": ("Ujumbe wa WhatsApp kwenda {zone}", "Ujumbe wa WhatsApp"),
        "ai_agent_minutes": ("Dakika za wakala wa AI, {zone}", "Dakika za wakala wa AI"),
        "recording_minutes": ("Kurekodi simu, {zone}", "Kurekodi simu"),
        "number_rental": ("Ukodishaji wa namba, {zone}", "Ukodishaji wa namba"),
    },
}
_SERVICE_NAMES = {
    "en": {"voice": "Voice", "sms": "SMS", "whatsapp": "WhatsApp",
           "ai_agent_minutes": "AI agent", "recording_minutes": "Recording",
           "number_rental": "Number rental"},
    "sw": {"voice": "Simu", "sms": "SMS", "whatsapp": "WhatsApp",
           "ai_agent_minutes": "Wakala wa AI", "recording_minutes": "Kurekodi",
           "number_rental": "Kukodi namba"},
}  # fmt: skip
_ADJUSTMENTS = {
    "en": {"rerate": "Re-rating of {month}: {line}", "late": "Late usage of {month}: {line}"},
    "sw": {
        "rerate": "Marekebisho ya bei ya {month}: {line}",
        "late": "Matumizi yaliyochelewa ya {month}: {line}",
    },
}
_MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "sw": ("Januari", "Februari", "Machi", "Aprili", "Mei", "Juni", "Julai", "Agosti",
           "Septemba", "Oktoba", "Novemba", "Desemba"),
}  # fmt: skip
# Units as a quantity column prints them: (one, many).
_UNITS = {
    "en": {
        "minute": ("min", "min"),
        "second": ("s", "s"),
        "s": ("s", "s"),
        "message": ("message", "messages"),
        "segment": ("segment", "segments"),
        "session": ("session", "sessions"),
        "month": ("month", "months"),
        "number": ("number", "numbers"),
    },
    "sw": {
        "minute": ("dakika", "dakika"),
        "second": ("sek", "sek"),
        "s": ("sek", "sek"),
        "message": ("ujumbe", "jumbe"),
        "segment": ("kipande", "vipande"),
        "session": ("kipindi", "vipindi"),
        "month": ("mwezi", "miezi"),
        "number": ("namba", "namba"),
    },
}
_SWAHILI_UNIT_FIRST = frozenset({"message", "segment", "session", "month", "number"})
TOPUP = {
    "en": "Prepaid communication services (wallet top-up)",
    "sw": "Huduma za mawasiliano za malipo ya awali (kuongeza salio)",
}


@cache
def _countries(language: str) -> dict[str, str]:
    return dict(Locale.parse(language).territories)


def zone_name(zone: str, language: str) -> str:
    """A rating zone as a reader says it: `TZ-MOB-YAS` → "Yas mobile" / "Yas",
    `INT-KE-MOB` → "Kenya mobile" / "Kenya (simu za mkononi)", `INT-CN` → "Uchina"."""
    code = (zone or "").upper()
    if code in _TZ_ZONES[language]:
        return _TZ_ZONES[language][code]
    if code.startswith("TZ-MOB-"):
        operator = code.removeprefix("TZ-MOB-")
        return _TZ_MOBILE[language].format(_OPERATORS.get(operator, operator.title()))
    if code.startswith("INT-"):
        region, _, kind = code.removeprefix("INT-").partition("-")
        country = _countries(language).get(region) if len(region) == 2 else None
        if country is None or region == "ZZ":  # CLDR's "Unknown Region": not a country
            return zone
        return _MOBILE[language].format(country) if kind == "MOB" else country
    return zone


def usage_description(service: str, zone: str, language: str) -> str:
    """A usage line: `voice`, `TZ-MOB-YAS` → "Voice calls to Yas mobile" / "Simu kwenda
    Yas"."""
    to_zone, alone = _SERVICES[language].get(service, ("{service}, {zone}", "{service}"))
    if not zone or zone == "*":
        return alone.format(service=service)
    return to_zone.format(zone=zone_name(zone, language), service=service)


def service_name(service: str, language: str) -> str:
    """An annex row's service: "Voice" / "Simu"."""
    return _SERVICE_NAMES[language].get(service, service)


def adjustment_description(kind: str, month: str, line: str, language: str) -> str:
    """A re-rating or late-usage line of an earlier month (`month` is "YYYY-MM")."""
    year, _, number = month.partition("-")
    named = f"{_MONTHS[language][int(number) - 1]} {year}" if number.isdigit() else month
    return _ADJUSTMENTS[language][kind].format(month=named, line=line)


def quantity_unit(unit: str, quantity: Decimal, language: str) -> str:
    """The unit after a quantity: "min", "messages"; "" for a unit it does not know."""
    names = _UNITS[language].get(unit)
    if names is None:
        return unit
    return names[0] if abs(quantity) == 1 else names[1]


def with_unit(quantity_text: str, unit: str, quantity: Decimal, language: str) -> str:
    """ "3.00 min", "2,000 messages"; Swahili counts after the noun: "jumbe 2,000"."""
    name = quantity_unit(unit, quantity, language)
    if not name:
        return quantity_text
    if language == "sw" and unit in _SWAHILI_UNIT_FIRST:
        return f"{name} {quantity_text}"
    return f"{quantity_text} {name}"


def duration(seconds: int, language: str) -> str:
    """Billed seconds as a person reads them: 180 → "3 min", 125 → "2 min 5 s",
    3725 → "1 h 2 min 5 s"; Swahili "dak 3", "dak 2 sek 5", "saa 1 dak 2 sek 5"."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    names = {"en": ("h", "min", "s"), "sw": ("saa", "dak", "sek")}[language]
    parts = [(hours, names[0]), (minutes, names[1]), (secs, names[2])]
    shown = [(n, name) for n, name in parts if n] or [(0, names[2])]
    if language == "sw":
        return " ".join(f"{name} {n}" for n, name in shown)
    return " ".join(f"{n} {name}" for n, name in shown)


def annex_units(billed_units: int, unit: str, language: str) -> str:
    """An annex row's billed quantity: durations for seconds, counts otherwise."""
    if unit in ("s", "second"):
        return duration(billed_units, language)
    return with_unit(f"{billed_units:,}", unit, Decimal(billed_units), language)
