"""Settings, read once from the environment by the composition root."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_SQLITE = Path("var") / "malipo.sqlite3"


@dataclass(frozen=True)
class Settings:
    database_url: str = f"sqlite:///{DEFAULT_SQLITE}"
    redis_url: str | None = None
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32))
    public_url: str = "http://127.0.0.1:8000"
    provider_mode: str = "sandbox"
    sandbox_delay_s: float = 1.0
    redrive_after_s: float = 60.0  # a callback or push quiet this long is driven again
    # Live credentials per provider code, e.g. {"mpesa": {"api_key": "…", …}}.
    provider_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    platform_webhook_url: str | None = None
    platform_webhook_secret: str | None = None
    max_body_bytes: int = 2 * 1024 * 1024
    page_size_max: int = 200
    testing: bool = False

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            database_url=normalise_database_url(env.get("DATABASE_URL") or defaults.database_url),
            redis_url=env.get("REDIS_URL") or None,
            secret_key=env.get("SECRET_KEY") or defaults.secret_key,
            public_url=env.get("MALIPO_PUBLIC_URL") or defaults.public_url,
            provider_mode=env.get("MALIPO_PROVIDER_MODE") or defaults.provider_mode,
            sandbox_delay_s=float(env.get("MALIPO_SANDBOX_DELAY_S") or defaults.sandbox_delay_s),
            redrive_after_s=float(env.get("MALIPO_REDRIVE_AFTER_S") or defaults.redrive_after_s),
            provider_settings=json.loads(env.get("MALIPO_PROVIDER_SETTINGS") or "{}"),
            platform_webhook_url=env.get("MALIPO_PLATFORM_WEBHOOK_URL") or None,
            platform_webhook_secret=env.get("MALIPO_PLATFORM_WEBHOOK_SECRET") or None,
            max_body_bytes=int(env.get("MALIPO_MAX_BODY_BYTES") or defaults.max_body_bytes),
        )

    @property
    def inline_jobs(self) -> bool:
        """Without Redis, jobs run in-process after commit (local default only)."""
        return self.redis_url is None


def normalise_database_url(url: str) -> str:
    """Point plain `postgresql://` URLs at psycopg 3, the driver we ship."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
