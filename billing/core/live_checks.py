"""What live invoicing and e-mail need before a process may start: each missing setting
by its environment name, never its value. (Providers: `billing.topups.gateways`.)"""

from __future__ import annotations

from pathlib import Path

from billing.core import sealing
from billing.core.config import (
    DEVELOPMENT_PSEUDONYM_KEY,
    SANDBOX_SELLER,
    SANDBOX_VFD_DEVICE,
    Settings,
)

VFD_DEVICE_KEYS = ("tin", "regid", "efd_serial", "receipt_code", "uin", "username", "password")
SELLER_KEYS = ("name", "address", "tin", "vrn")


def missing_vfd_settings(settings: Settings) -> list[str]:
    """Live fiscalisation must not run on the sandbox's identity, key or password."""
    if settings.vfd_mode != "live":
        return []
    defaults = Settings()
    missing = []
    if not settings.vfd_base_url:
        missing.append("MALIPO_VFD_BASE_URL")
    if settings.vfd_pfx_path == defaults.vfd_pfx_path or not Path(settings.vfd_pfx_path).is_file():
        missing.append("MALIPO_VFD_PFX_PATH")
    if settings.vfd_pfx_password in ("", defaults.vfd_pfx_password):
        missing.append("MALIPO_VFD_PFX_PASSWORD")
    missing += [
        f"MALIPO_VFD_DEVICE.{key}"
        for key in VFD_DEVICE_KEYS
        if settings.vfd_device.get(key) in (None, "", SANDBOX_VFD_DEVICE[key])
    ]
    missing += [
        f"MALIPO_SELLER.{key}"
        for key in SELLER_KEYS
        if settings.seller.get(key) in (None, "", SANDBOX_SELLER[key])
    ]
    return missing


def missing_smtp_settings(settings: Settings) -> list[str]:
    """E-mail is off without a host; set partly, it would fail at the first invoice."""
    given = {
        "MALIPO_SMTP_HOST": settings.smtp_host,
        "MALIPO_SMTP_USERNAME": settings.smtp_username,
        "MALIPO_SMTP_PASSWORD": settings.smtp_password,
    }
    if not any(given.values()):
        return []
    needed = ["MALIPO_SMTP_HOST"]
    if settings.smtp_username or settings.smtp_password:
        needed += ["MALIPO_SMTP_USERNAME", "MALIPO_SMTP_PASSWORD"]
    return [name for name in needed if not given[name]]


def missing_privacy_settings(settings: Settings) -> list[str]:
    """Live data must not be sealed or pseudonymised with keys printed in the source:
    anyone could unseal the one, and reverse the other by hashing every phone number."""
    if settings.provider_mode != "live":
        return []
    missing = []
    if sealing.uses_development_key():
        missing.append(sealing.ENV_KEYS)
    if settings.pseudonym_key == DEVELOPMENT_PSEUDONYM_KEY or len(settings.pseudonym_key) < 32:
        missing.append("MALIPO_PSEUDONYM_KEY (32 characters or more)")
    return missing
