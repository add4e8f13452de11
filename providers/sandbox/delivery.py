"""Posting a simulator's callback to Malipo, the way an operator's platform would.

Operators do not wait on the merchant's answer for anything but a retry decision, so a
failed delivery is logged and dropped: losing callbacks is part of what Malipo must
survive (providers.md §9.4).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import requests

log = logging.getLogger(__name__)

TIMEOUTS = (3.0, 10.0)  # connect, read


def post_callback(url: str, body: bytes, headers: Mapping[str, str]) -> int | None:
    """POST the raw body; the HTTP status Malipo answered, or None if it never answered."""
    try:
        response = requests.post(url, data=body, headers=dict(headers), timeout=TIMEOUTS)
    except requests.RequestException as error:
        log.warning("sandbox callback to %s failed: %s", url, error)
        return None
    if response.status_code >= 300:
        log.warning("sandbox callback to %s answered %s", url, response.status_code)
    return response.status_code
