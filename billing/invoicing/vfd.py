"""The seller's VFD as settings describe it: identity, signing key, endpoints, client.

Sandbox mode points the client at the TRA simulator this service serves under
`/sandbox/tra`, signing with a test key kept in `vfd_pfx_path` (made on first use, so
the web process and every worker sign with the same key). Live mode reads TRA's PFX
and the registration's credentials from settings and never makes a key.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

from billing.core.config import Settings
from invoices.vfd.client import Credentials, Endpoints, VfdClient
from invoices.vfd.devcert import make_self_signed_pfx
from invoices.vfd.receipt import DeviceIdentity
from invoices.vfd.signing import SigningKey, load_pfx

SANDBOX_PATH = "/sandbox/tra"
SANDBOX_CERT_SERIAL = 0x69C5AF01
_keys: dict[tuple[str, str], SigningKey] = {}
_clients: dict[tuple, VfdClient] = {}
_lock = threading.Lock()


def device(settings: Settings) -> DeviceIdentity:
    d = settings.vfd_device
    return DeviceIdentity(d["tin"], d["regid"], d["efd_serial"], d["receipt_code"])


def signing_key(settings: Settings) -> SigningKey:
    cache_key = (settings.vfd_pfx_path, settings.vfd_pfx_password)
    with _lock:
        if cache_key not in _keys:
            path = Path(settings.vfd_pfx_path)
            if settings.vfd_mode == "sandbox" and not path.exists():
                _make_sandbox_pfx(path, settings.vfd_pfx_password)
            _keys[cache_key] = load_pfx(path.read_bytes(), settings.vfd_pfx_password)
        return _keys[cache_key]


def _make_sandbox_pfx(path: Path, password: str) -> None:
    """Create the sandbox key once; a process that loses the race uses the winner's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = make_self_signed_pfx(SANDBOX_CERT_SERIAL, password, days=3650)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
        tmp.write(data)
    try:
        os.link(tmp.name, path)  # fails if another process got there first
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp.name)


def endpoints(settings: Settings) -> Endpoints:
    if settings.vfd_base_url:
        return Endpoints.test(settings.vfd_base_url)
    if settings.vfd_mode == "sandbox":
        return Endpoints.test(settings.public_url.rstrip("/") + SANDBOX_PATH)
    if settings.vfd_mode == "live":
        return Endpoints.production()
    return Endpoints.test()  # "test": TRA's own test system


def client(settings: Settings) -> VfdClient:
    """One client per process and configuration, so its token is reused until it expires."""
    d = settings.vfd_device
    cache_key = (endpoints(settings), settings.vfd_pfx_path, d.get("username"), d["efd_serial"])
    with _lock:
        found = _clients.get(cache_key)
    if found is None:
        found = VfdClient(
            endpoints(settings),
            signing_key(settings),
            credentials=Credentials(d.get("username", ""), d.get("password", "")),
            timeout=(min(3.0, settings.vfd_timeout_s), settings.vfd_timeout_s),
        )
        with _lock:
            found = _clients.setdefault(cache_key, found)
    return found
