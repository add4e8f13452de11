"""Log lines: one JSON object a line (or plain text), request id attached, phones masked.

Phone numbers are personal data: a log line never carries one whole. Every MSISDN-shaped
run of digits in the message, the exception text and the extra fields is masked to its
first four and last two digits (`2557******12`), whatever module logged it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from billing.core.context import request_id

# Tanzanian numbers as they travel: 255XXXXXXXXX (E.164 without +), +255…, 0[67]XXXXXXXX.
# Other countries' E.164 numbers in international form (+ and 10-15 digits) too.
_PHONE = re.compile(r"(?<![\w.])(?:\+?255\d{9}|0[67]\d{8}|\+\d{10,14})(?![\w.])")
_STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


def mask_phone(number: str) -> str:
    """`255712345612` → `2557******12` (a leading + is kept and not counted)."""
    sign, digits = ("+", number[1:]) if number.startswith("+") else ("", number)
    return sign + digits[:4] + "*" * (len(digits) - 6) + digits[-2:]


def mask_phones(text: str) -> str:
    return _PHONE.sub(lambda found: mask_phone(found.group(0)), text)


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "message", "request_id"?, "exc"?, ...extra}`."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_phones(record.getMessage()),
        }
        rid = getattr(record, "request_id", None) or request_id()
        if rid:
            line["request_id"] = rid
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line:
                line[key] = mask_phones(value) if isinstance(value, str) else value
        if record.exc_info:
            line["exc"] = mask_phones(self.formatException(record.exc_info))
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The plain format for a terminal, masked the same way."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        rid = request_id()
        return mask_phones(f"{text} [request {rid}]" if rid else text)


def configure(fmt: str = "json", level: int = logging.INFO) -> None:
    """The root logger writes to stderr in `fmt` ("json" or "text"), once per process;
    a handler someone else installed (pytest's, a host's) is left as it is."""
    root = logging.getLogger()
    if any(getattr(handler, "_malipo", False) for handler in root.handlers):
        return
    if root.handlers:  # configured by the host: only our masking joins its handlers
        for handler in root.handlers:
            if not isinstance(handler.formatter, JsonFormatter | TextFormatter):
                handler.addFilter(_mask_filter)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler._malipo = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)


def _mask_filter(record: logging.LogRecord) -> bool:
    """For a handler we did not make: the message is rendered and masked in place."""
    message = record.getMessage()
    masked = mask_phones(message)
    if masked != message:
        record.msg, record.args = masked, None
    return True
