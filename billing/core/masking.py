"""Phone numbers never reach a log whole: `255712345678` is written `2557******78`.

Installed as the log record factory (once per process, by the composition root), so
every record is masked where it is made: whichever logger, handler or library wrote it,
and before any handler (a file, a test's capture, a log shipper) sees it. The message
is rendered then masked; its arguments are dropped with the numbers in them.
"""

from __future__ import annotations

import logging
import re
from typing import Any

# Tanzanian mobile numbers as written in requests, callbacks and records: 2557…/2556…
# (12 digits), +255…, or the local 07…/06… (10 digits); not part of a longer number.
_NUMBER = re.compile(r"(?<![\d])(\+?255[67]\d{8}|0[67]\d{8})(?![\d])")


def mask(text: str) -> str:
    return _NUMBER.sub(_masked, text)


def _masked(match: re.Match[str]) -> str:
    number = match.group(1)
    keep = 5 if number.startswith("+") else 4 if number.startswith("255") else 2
    return number[:keep] + "*" * (len(number) - keep - 2) + number[-2:]


def install() -> None:
    """Mask every log record made from now on in this process (idempotent)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "masks_numbers", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error report
            return record
        masked = mask(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        return record

    factory.masks_numbers = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
