"""VAT codes as TRA's VFD uses them, and rounding that always adds up.

Rounding rule (one rule for invoices, receipts and credit notes):

* Amounts are integer minor units; rates are `Decimal` percentages. No floats.
* Lines are grouped by VAT code. For each group the tax is computed **once, on the
  group's summed amount**, rounded half-up (away from zero), exactly as the per-rate
  VAT summary (`VATTOTALS`) shows it:
  - exclusive prices: VAT = round(sum of net x rate);
  - inclusive prices: net = round(sum of gross / (1 + rate)), VAT = gross - net.
* That group VAT is then allocated to the lines by largest remainder (Hamilton), so the
  lines' VAT sums to the summary exactly, and each line is within one minor unit of
  its exact share. Net + VAT = gross on every line and every summary.
* A group whose sum is negative is allocated on its mirror image, so a credit note that
  mirrors an invoice gets exactly the invoice's figures with the sign flipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import StrEnum
from types import MappingProxyType

_HUNDRED = Decimal(100)


class VatCode(StrEnum):
    """The five TRA VAT letters; `taxcode` is the number a receipt's ITEM carries."""

    A = "A"  # standard rate, 18% (VAT Act s.5(1))
    B = "B"  # special rate, set by TRA at VFD registration (TAXCODES/CODEB)
    C = "C"  # zero-rated, 0% (s.5(2)): exports, telecom for non-resident carriers
    D = "D"  # special relief
    E = "E"  # exempt (Schedule, s.6): no VAT, and no input credit for the seller

    @property
    def taxcode(self) -> int:
        return "ABCDE".index(self.value) + 1

    @classmethod
    def from_taxcode(cls, taxcode: int) -> VatCode:
        if not 1 <= taxcode <= 5:
            raise ValueError(f"TRA tax codes run 1..5, not {taxcode}")
        return cls("ABCDE"[taxcode - 1])

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]


_MEANINGS = {
    VatCode.A: "Standard rate",
    VatCode.B: "Special rate",
    VatCode.C: "Zero-rated",
    VatCode.D: "Special relief",
    VatCode.E: "Exempt",
}

# Percentages. B's real value comes from the registration reply; until TRA says
# otherwise it is 0, as in the open-source integrations.
STANDARD_RATES: Mapping[VatCode, Decimal] = MappingProxyType(
    {
        VatCode.A: Decimal("18.00"),
        VatCode.B: Decimal("0.00"),
        VatCode.C: Decimal("0.00"),
        VatCode.D: Decimal("0.00"),
        VatCode.E: Decimal("0.00"),
    }
)


def rates_from_taxcodes(taxcodes: Mapping[str, str]) -> Mapping[VatCode, Decimal]:
    """Rates from a registration reply's TAXCODES (`{"CODEA": "18", ...}`).

    Codes the reply leaves out keep their standard rate; E is exempt by law.
    """
    rates = dict(STANDARD_RATES)
    for code in (VatCode.A, VatCode.B, VatCode.C, VatCode.D):
        raw = taxcodes.get(f"CODE{code.value}")
        if raw is not None and raw.strip():
            rates[code] = Decimal(raw.strip())
    return MappingProxyType(rates)


def zreport_rate_label(code: VatCode, rate: Decimal) -> str:
    """The Z report's VATRATE, e.g. `A-18.00`."""
    return f"{code.value}-{rate.quantize(Decimal('0.01'))}"


def _round(amount: Decimal) -> int:
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def vat_on_net(net_minor: int, rate: Decimal) -> int:
    return _round(Decimal(net_minor) * rate / _HUNDRED)


def gross_from_net(net_minor: int, rate: Decimal) -> int:
    return net_minor + vat_on_net(net_minor, rate)


def net_from_gross(gross_minor: int, rate: Decimal) -> int:
    return _round(Decimal(gross_minor) * _HUNDRED / (_HUNDRED + rate))


def split_gross(gross_minor: int, rate: Decimal) -> tuple[int, int]:
    """(net, VAT) of a VAT-inclusive amount; they always sum to the gross."""
    net = net_from_gross(gross_minor, rate)
    return net, gross_minor - net


@dataclass(frozen=True, slots=True)
class LineTax:
    code: VatCode
    net_minor: int
    vat_minor: int

    @property
    def gross_minor(self) -> int:
        return self.net_minor + self.vat_minor


@dataclass(frozen=True, slots=True)
class RateTotal:
    """One row of the VAT summary: everything charged under one code."""

    code: VatCode
    rate: Decimal
    net_minor: int
    vat_minor: int

    @property
    def gross_minor(self) -> int:
        return self.net_minor + self.vat_minor


def tax_lines(
    amounts: Sequence[tuple[VatCode, int]],
    *,
    inclusive: bool,
    rates: Mapping[VatCode, Decimal] = STANDARD_RATES,
) -> tuple[list[LineTax], list[RateTotal]]:
    """Net, VAT and gross per line, and the VAT summary by code (A..E order).

    `amounts` are net (exclusive) or gross (`inclusive=True`) minor units per line.
    """
    lines: list[LineTax | None] = [None] * len(amounts)
    summary: list[RateTotal] = []
    for code in VatCode:
        indexes = [i for i, (c, _) in enumerate(amounts) if c == code]
        if not indexes:
            continue
        group = [amounts[i][1] for i in indexes]
        rate = rates[code]
        taxed, total = _tax_group(code, group, rate, inclusive)
        for i, line in zip(indexes, taxed, strict=True):
            lines[i] = line
        summary.append(total)
    return [line for line in lines if line is not None], summary


def _tax_group(
    code: VatCode, amounts: list[int], rate: Decimal, inclusive: bool
) -> tuple[list[LineTax], RateTotal]:
    total = sum(amounts)
    sign = -1 if total < 0 else 1
    mirrored = [sign * a for a in amounts]
    if inclusive:
        net, vat = split_gross(sign * total, rate)
        share = rate / (_HUNDRED + rate)
    else:
        net, vat = sign * total, vat_on_net(sign * total, rate)
        share = rate / _HUNDRED
    vats = allocate(vat, [Decimal(a) * share for a in mirrored])
    if inclusive:
        lines = [
            LineTax(code, sign * (a - v), sign * v) for a, v in zip(mirrored, vats, strict=True)
        ]
    else:
        lines = [LineTax(code, sign * a, sign * v) for a, v in zip(mirrored, vats, strict=True)]
    return lines, RateTotal(code, rate, sign * net, sign * vat)


def allocate(total: int, ideals: Sequence[Decimal]) -> list[int]:
    """Whole units summing to `total`, each the floor or ceiling of its ideal share.

    Largest remainder first; ties go to the earlier line so the result is stable.
    `total` must be within len(ideals) of the sum of the floors, which holds whenever
    it is a rounding of the ideals' sum.
    """
    floors = [int(x.to_integral_value(rounding=ROUND_FLOOR)) for x in ideals]
    left = total - sum(floors)
    if not 0 <= left <= len(ideals):
        raise ValueError("total is not a rounding of the shares' sum")
    by_remainder = sorted(range(len(ideals)), key=lambda i: (-(ideals[i] - floors[i]), i))
    for i in by_remainder[:left]:
        floors[i] += 1
    return floors
