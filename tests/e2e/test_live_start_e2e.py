"""Live mode refuses to start without what it needs, naming each missing setting.

Before, `MALIPO_PROVIDER_MODE=live` without credentials started, said ready, and
answered a top-up with 500.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess

import pytest

from tests.e2e.conftest import BILLING, free_port

pytestmark = pytest.mark.e2e

SECRET = "tigo-password-that-must-not-be-printed"


def live_env(service_env: dict[str, str]) -> dict[str, str]:
    return {
        **service_env,
        "MALIPO_PROVIDER_MODE": "live",
        "MALIPO_PROVIDER_SETTINGS": json.dumps(
            {"tigopesa": {"token_url": "https://tigo.invalid/token", "password": SECRET}}
        ),
        "MALIPO_VFD_MODE": "live",
        "MALIPO_SMTP_USERNAME": "mailer",  # without a host or a password
    }


def run_briefly(args: list[str], env: dict[str, str]) -> tuple[int | None, str]:
    """The exit code, or None if it was still running after 20 s (then it is stopped)."""
    process = subprocess.Popen(
        args,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its server processes hold the pipe: stop them all
    )
    try:
        output, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return None, output
    return process.returncode, output


@pytest.mark.parametrize(
    "command", [["serve", "--port", "PORT"], ["worker", "--burst"]], ids=["serve", "worker"]
)
def test_live_mode_with_missing_settings_exits_naming_each(service_env, command):
    args = [BILLING, *(str(free_port()) if part == "PORT" else part for part in command)]
    code, output = run_briefly(args, live_env(service_env))
    assert code not in (None, 0), output
    for name in (
        "tigopesa.pay_url",
        "tigopesa.username",
        "tigopesa.biller_msisdn",
        "tigopesa.biller_code",
        "tigopesa.callback_ips",
        "tigopesa.callback_token",
        "MALIPO_VFD_BASE_URL",
        "MALIPO_VFD_PFX_PATH",
        "MALIPO_VFD_PFX_PASSWORD",
        "MALIPO_VFD_DEVICE.regid",
        "MALIPO_SMTP_HOST",
        "MALIPO_SMTP_PASSWORD",
        "MALIPO_SEAL_KEYS",
        "MALIPO_PSEUDONYM_KEY",
    ):
        assert name in output, f"{name} not named in:\n{output}"
    assert SECRET not in output
    assert "mpesa" not in output  # not enabled: only the configured providers are checked
