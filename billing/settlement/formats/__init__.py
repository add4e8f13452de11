"""Settlement statement formats: one parser per provider's (or aggregator's) export.

Each parser reads the file's text lines and yields `StatementLine`s, or raises
`StatementError` naming the line and the column at the first line it cannot read:
a statement is taken whole or not at all. Pure: no database, web or queue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from billing.settlement.formats import airtelmoney, mpesa, selcom, tigopesa
from billing.settlement.formats.lines import StatementError, StatementLine

Parser = Callable[[Iterable[str]], Iterator[StatementLine]]

PARSERS: dict[str, Parser] = {
    "mpesa": mpesa.parse,
    "tigopesa": tigopesa.parse,
    "airtelmoney": airtelmoney.parse,
    "selcom": selcom.parse,
}
# The operators whose top-ups a statement of this format settles.
OPERATORS: dict[str, tuple[str, ...]] = {
    "mpesa": ("mpesa",),
    "tigopesa": ("tigopesa",),
    "airtelmoney": ("airtelmoney",),
    "selcom": selcom.OPERATORS,
}
FORMATS = tuple(PARSERS)

__all__ = ["FORMATS", "OPERATORS", "PARSERS", "StatementError", "StatementLine", "parse"]


def parse(fmt: str, lines: Iterable[str]) -> Iterator[StatementLine]:
    try:
        parser = PARSERS[fmt]
    except KeyError:
        raise StatementError(0, "provider", f"no statement format {fmt!r}") from None
    return parser(lines)
