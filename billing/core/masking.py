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

# Tanzanian numbers as they travel: 255 and nine digits (E.164 without +), +255…, or
# 06…/07… and eight digits; other countries' E.164 numbers in international form (+ and
# 10-15 digits) too. Not a run inside a longer number or an id (`top_01JX255712345612`).
_PHONE = re.compile(r"(?<![\w.])(?:\+?255\d{9}|0[67]\d{8}|\+\d{10,14})(?![\w.])")


def mask_phone(number: str) -> str:
    """`255712345612` → `2557******12` (a leading + is kept and not counted)."""
    sign, digits = ("+", number[1:]) if number.startswith("+") else ("", number)
    return sign + digits[:4] + "*" * (len(digits) - 6) + digits[-2:]


def mask(text: str) -> str:
    """Every phone number in `text` masked to its first four and last two digits."""
    return _PHONE.sub(lambda found: mask_phone(found.group(0)), text)


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
