"""Log lines: one JSON object a line (or plain text), request id attached, phones masked.

Phone numbers are personal data: a log line never carries one whole. The record factory
(`billing.core.masking`) masks each message where it is made; these formatters mask what
it cannot reach, the exception text and the extra fields, by the same rule.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from billing.core.context import request_id
from billing.core.masking import mask as mask_phones

_STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


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


# Libraries that log every call at INFO: the stripe library writes two lines for each
# request (the URL, then Stripe's answer), about 0.1 ms of CPU a call, a fifth of a
# webhook's re-read; a failed call reaches our own log lines as the exception it raises.
_CHATTY_BELOW_WARNING = ("stripe",)


def configure(fmt: str = "json", level: int = logging.INFO) -> None:
    """The root logger writes to stderr in `fmt` ("json" or "text"), once per process;
    a handler someone else installed (pytest's, a host's) is left as it is."""
    root = logging.getLogger()
    if level > logging.DEBUG:  # at DEBUG, every library's line is wanted
        for name in _CHATTY_BELOW_WARNING:
            logging.getLogger(name).setLevel(logging.WARNING)
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
