"""The VAT a credit note takes back: never more than its invoice charged, per line and
per rate, however the credit is split over notes.

Rounding each note on its own would not do: net 100 at 18% credited as 4 x 25 gives
4 x 5 = 20 VAT against 18 invoiced, and the excess would become cash-refundable credit.
So VAT credited is worked out on the running total instead: after a note, the VAT
credited on a line (and on a rate) is the rule's rounding of all that was credited so
far, capped at what the invoice charged, and exactly that once all of it is credited;
the note takes the difference from what earlier notes took (5, 4, 5, 4 above). Per
rate the same; the rate's difference is shared over the note's lines within each
line's own room. Earlier notes are the finalised ones: finalising locks the invoice
first, so notes of one invoice are finalised one at a time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from invoices.document import Line
from invoices.vat import STANDARD_RATES, VatCode

_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Credited:
    """A line of the note: the invoice line it credits (by description) and how much
    (positive minor units, on the line's own basis: net, or gross if prices include VAT)."""

    description: str
    code: VatCode
    amount_minor: int


def _share(rate: Decimal, inclusive: bool) -> Decimal:
    return rate / (_HUNDRED + rate) if inclusive else rate / _HUNDRED


def _vat_for(credited: int, base: int, vat: int, share: Decimal) -> int:
    """VAT on `credited` of `base` (which carried `vat`): the rule's, capped; all of it
    once all is credited."""
    if credited >= base:
        return vat
    exact = (Decimal(credited) * share).quantize(Decimal(1), ROUND_HALF_UP)
    return min(vat, int(exact))


def capped_vats(
    invoice_lines: Sequence[Line],
    before: Mapping[str, int],
    note: Sequence[Credited],
    *,
    inclusive: bool,
    rates: Mapping[VatCode, Decimal] = STANDARD_RATES,
) -> list[int]:
    """The VAT of each note line (negative: it is taken back).

    `invoice_lines`: the invoice's lines with their VAT; `before`: per description, what
    earlier finalised notes credited (positive)."""
    by_line = {line.description: line for line in invoice_lines}

    def base(line: Line) -> int:
        return line.gross_minor if inclusive else line.net_minor

    ideals, rooms = [], []
    for item in note:
        line = by_line[item.description]
        share = _share(rates[line.vat_code], inclusive)
        was = before.get(item.description, 0)
        done = _vat_for(was, base(line), line.vat_minor, share)
        ideals.append(_vat_for(was + item.amount_minor, base(line), line.vat_minor, share) - done)
        rooms.append(line.vat_minor - done)  # what the line has left to credit
    vats = list(ideals)
    for code in {item.code for item in note}:
        lines = [line for line in invoice_lines if line.vat_code == code]
        share = _share(rates[code], inclusive)
        code_base, code_vat = sum(base(ln) for ln in lines), sum(ln.vat_minor for ln in lines)
        was = sum(before.get(ln.description, 0) for ln in lines)
        now = was + sum(item.amount_minor for item in note if item.code == code)
        total = _vat_for(now, code_base, code_vat, share) - _vat_for(
            was, code_base, code_vat, share
        )
        mine = [i for i, item in enumerate(note) if item.code == code]
        _share_out(vats, rooms, mine, total - sum(vats[i] for i in mine))
    return [-vat for vat in vats]


def _share_out(vats: list[int], rooms: list[int], indexes: list[int], left: int) -> None:
    """Move the rate's difference onto its lines, one unit at a time, within each line's
    room (up) or its VAT (down): the lines keep their shares to within a unit."""
    step = 1 if left > 0 else -1
    while left:
        fits = [i for i in indexes if (vats[i] < rooms[i] if step > 0 else vats[i] > 0)]
        if not fits:
            return  # no line has room: the lines' caps bind tighter than the rate's
        for i in fits:
            if not left:
                return
            vats[i] += step
            left -= step
