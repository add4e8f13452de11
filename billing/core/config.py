"""Settings, read once from the environment by the composition root."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_SQLITE = Path("var") / "malipo.sqlite3"

# Live start refuses this key (billing.core.live_checks): pseudonyms made with a key
# anyone can read in the source could be reversed by hashing every phone number.
DEVELOPMENT_PSEUDONYM_KEY = "malipo-development-pseudonym-key"

# Days each class of data is kept before the daily retention job drops or pseudonymises
# it (MALIPO_RETENTION_DAYS, a JSON object, overrides any of them).
RETENTION_DAYS = {
    "callback_bodies": 180,  # raw provider callbacks: kept for disputes, then emptied
    "usage_numbers": 365,  # caller/callee numbers in CDRs: pseudonymised a month at a time
    "usage_records": 5 * 366,  # whole months of usage detail: the invoices' basis, then dropped
    "message_bodies": 30,  # message text, where a record carried it
    "exports": 7,  # export archives (also expire by MALIPO_EXPORT_TTL_S)
    "idempotency_records": 30,  # replayable responses of POSTs
}


@dataclass(frozen=True)
class Settings:
    database_url: str = f"sqlite:///{DEFAULT_SQLITE}"
    # Migrations run as the schema's owner; the service as DATABASE_URL's role, which
    # owns nothing and cannot bypass row-level security. Unset: DATABASE_URL does both.
    database_owner_url: str | None = field(default=None, repr=False)
    redis_url: str | None = None
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32), repr=False)
    public_url: str = "http://127.0.0.1:8000"
    provider_mode: str = "sandbox"
    sandbox_delay_s: float = 1.0
    redrive_after_s: float = 60.0  # a callback or push quiet this long is driven again
    # Live credentials per provider code, e.g. {"mpesa": {"api_key": "…", …}}. Secrets:
    # never in a repr, so a logged or printed Settings shows none of them.
    provider_settings: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    # The enabled providers; None: every one in sandbox, the keys of provider_settings live.
    providers: tuple[str, ...] | None = None
    # Our own proxies' networks: only from these is X-Forwarded-For believed.
    trusted_proxies: tuple[str, ...] = ()
    platform_webhook_url: str | None = None
    platform_webhook_secret: str | None = field(default=None, repr=False)
    max_body_bytes: int = 2 * 1024 * 1024
    # Verified callbacks that came while the database was away, until drained into it.
    spool_dir: str = str(Path("var") / "spool")
    page_size_max: int = 200
    # Settlement statements: the largest upload, and the folder the daily job reads
    # (`<provider>-<YYYY-MM-DD>.csv`, e.g. mpesa-2026-12-06.csv).
    statement_max_bytes: int = 256 * 1024 * 1024
    settlement_dir: str = str(Path("var") / "settlements")
    testing: bool = False
    log_format: str = "json"  # or "text": one JSON object a line by default
    # Who may read /metrics: a bearer token if one is set, otherwise only these networks.
    metrics_token: str | None = field(default=None, repr=False)
    metrics_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    # Where each server process keeps its counters (prometheus_client's multi-process mode).
    metrics_dir: str | None = None
    # Off only in a test proving row-level security alone keeps tenants apart.
    application_scoping: bool = True
    # Invoicing: the seller on every document, TRA's VFD, and e-mail delivery.
    seller: dict[str, str] = field(default_factory=lambda: dict(SANDBOX_SELLER))
    vfd_mode: str = "sandbox"  # sandbox: the TRA simulator served under /sandbox/tra
    vfd_base_url: str | None = None  # default: MALIPO_PUBLIC_URL + /sandbox/tra
    vfd_device: dict[str, str] = field(
        default_factory=lambda: dict(SANDBOX_VFD_DEVICE),
        repr=False,  # holds a password
    )
    vfd_pfx_path: str = str(Path("var") / "vfd-sandbox.pfx")
    vfd_pfx_password: str = field(default="sandbox", repr=False)  # the sandbox key's, made locally
    vfd_timeout_s: float = 10.0  # a receipt TRA has not answered by then is retried later
    smtp_host: str | None = None  # unset: invoices are not e-mailed
    smtp_port: int = 25
    smtp_sender: str = "invoices@malipo.test"
    smtp_tls: bool = False  # STARTTLS after connecting
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    # Dunning: reminders this many days after an invoice's due date, and after the
    # grace period the tenant is restricted (authorise answers tenant_overdue) until paid.
    dunning_reminder_days: tuple[int, ...] = (1, 7, 14)
    dunning_grace_days: int = 21
    # Disputes and adjustments (`_disputes_from_env`).
    dispute_attachment_dir: str | None = None  # unset: attachments kept in the database
    adjustment_thresholds: dict[str, int] = field(
        default_factory=lambda: dict(ADJUSTMENT_THRESHOLDS)
    )  # minor units per currency; above it, a second staff member approves
    adjustment_expiry_hours: float = 48.0

    # Privacy (billing.privacy): the key of the keyed hashes that replace erased personal
    # data, where exports are written and how long they stay, retention in days by class.
    pseudonym_key: str = field(default=DEVELOPMENT_PSEUDONYM_KEY, repr=False)
    export_dir: str = str(Path("var") / "exports")
    export_ttl_s: int = 7 * 24 * 3600
    retention_days: dict[str, int] = field(default_factory=lambda: dict(RETENTION_DAYS))

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            database_url=normalise_database_url(env.get("DATABASE_URL") or defaults.database_url),
            database_owner_url=normalise_database_url(env["MALIPO_DATABASE_OWNER_URL"])
            if env.get("MALIPO_DATABASE_OWNER_URL")
            else None,
            redis_url=env.get("REDIS_URL") or None,
            secret_key=env.get("SECRET_KEY") or defaults.secret_key,
            public_url=env.get("MALIPO_PUBLIC_URL") or defaults.public_url,
            provider_mode=env.get("MALIPO_PROVIDER_MODE") or defaults.provider_mode,
            sandbox_delay_s=float(env.get("MALIPO_SANDBOX_DELAY_S") or defaults.sandbox_delay_s),
            redrive_after_s=float(env.get("MALIPO_REDRIVE_AFTER_S") or defaults.redrive_after_s),
            provider_settings=json.loads(env.get("MALIPO_PROVIDER_SETTINGS") or "{}"),
            providers=_names(env.get("MALIPO_PROVIDERS")) or None,
            trusted_proxies=_names(env.get("MALIPO_TRUSTED_PROXIES")),
            platform_webhook_url=env.get("MALIPO_PLATFORM_WEBHOOK_URL") or None,
            platform_webhook_secret=env.get("MALIPO_PLATFORM_WEBHOOK_SECRET") or None,
            max_body_bytes=int(env.get("MALIPO_MAX_BODY_BYTES") or defaults.max_body_bytes),
            spool_dir=env.get("MALIPO_SPOOL_DIR") or defaults.spool_dir,
            log_format=env.get("MALIPO_LOG_FORMAT") or defaults.log_format,
            metrics_token=env.get("MALIPO_METRICS_TOKEN") or None,
            metrics_networks=_names(env.get("MALIPO_METRICS_NETWORKS"))
            or defaults.metrics_networks,
            metrics_dir=env.get("PROMETHEUS_MULTIPROC_DIR") or None,
            statement_max_bytes=int(
                env.get("MALIPO_STATEMENT_MAX_BYTES") or defaults.statement_max_bytes
            ),
            settlement_dir=env.get("MALIPO_SETTLEMENT_DIR") or defaults.settlement_dir,
            pseudonym_key=env.get("MALIPO_PSEUDONYM_KEY") or defaults.pseudonym_key,
            export_dir=env.get("MALIPO_EXPORT_DIR") or defaults.export_dir,
            export_ttl_s=int(env.get("MALIPO_EXPORT_TTL_S") or defaults.export_ttl_s),
            retention_days={
                **defaults.retention_days,
                **json.loads(env.get("MALIPO_RETENTION_DAYS") or "{}"),
            },
            **_invoicing_from_env(env, defaults),
            **_disputes_from_env(env, defaults),
        )

    @property
    def inline_jobs(self) -> bool:
        """Without Redis, jobs run in-process after commit (local default only)."""
        return self.redis_url is None


# Manual adjustments above these (minor units) wait for a checker: TZS 100,000; USD 50.
ADJUSTMENT_THRESHOLDS = {"TZS": 100_000_00, "USD": 50_00}


def _disputes_from_env(env: Any, defaults: Settings) -> dict[str, Any]:
    """MALIPO_ADJUSTMENT_THRESHOLDS is a JSON object of minor units, e.g. {"TZS": 5000000}."""
    return {
        "dispute_attachment_dir": env.get("MALIPO_DISPUTE_ATTACHMENT_DIR") or None,
        "adjustment_thresholds": {
            **defaults.adjustment_thresholds,
            **{
                str(currency).upper(): int(limit)
                for currency, limit in json.loads(
                    env.get("MALIPO_ADJUSTMENT_THRESHOLDS") or "{}"
                ).items()
            },
        },
        "adjustment_expiry_hours": float(
            env.get("MALIPO_ADJUSTMENT_EXPIRY_HOURS") or defaults.adjustment_expiry_hours
        ),
    }


# The seller and VFD identity the sandbox TRA simulator knows (invoices.vfd.simulator).
SANDBOX_SELLER = {
    "name": "Malipo Communications Ltd",
    "address": "Plot 12, Samora Avenue, Dar es Salaam",
    "street": "Plot 12, Samora Avenue",  # the Z report's HEADER lines
    "city": "Dar es Salaam",
    "mobile": "255700000000",
    "tin": "100000001",
    "vrn": "40012345K",
    # How customers pay (printed on every postpaid invoice with its number as reference).
    "bank_name": "CRDB Bank PLC, Azikiwe branch",
    "bank_account_name": "Malipo Communications Ltd",
    "bank_account": "0150234567800",
    "bank_swift": "CORUTZTZ",
    "mobile_money_name": "M-Pesa Lipa Namba",
    "mobile_money_number": "5123456",
}
SANDBOX_VFD_DEVICE = {
    "tin": "100000001",
    "regid": "TZ0100000001",
    "efd_serial": "10TZ100000",
    "receipt_code": "A1B2C3",
    "uin": "09VFDWEBAPI-SIM",
    "tax_office": "Simulated Tax Office",  # from the registration reply (TAXOFFICE)
    "registration_date": "2026-01-01",
    "username": "sim-user",
    "password": "sim-pass",
}


def _invoicing_from_env(env: Any, defaults: Settings) -> dict[str, Any]:
    """MALIPO_SELLER and MALIPO_VFD_DEVICE are JSON objects; live mode needs both."""
    return {
        "seller": {**defaults.seller, **json.loads(env.get("MALIPO_SELLER") or "{}")},
        "vfd_mode": env.get("MALIPO_VFD_MODE") or defaults.vfd_mode,
        "vfd_base_url": env.get("MALIPO_VFD_BASE_URL") or None,
        "vfd_device": {
            **defaults.vfd_device,
            **json.loads(env.get("MALIPO_VFD_DEVICE") or "{}"),
        },
        "vfd_pfx_path": env.get("MALIPO_VFD_PFX_PATH") or defaults.vfd_pfx_path,
        "vfd_pfx_password": env.get("MALIPO_VFD_PFX_PASSWORD") or defaults.vfd_pfx_password,
        "vfd_timeout_s": float(env.get("MALIPO_VFD_TIMEOUT_S") or defaults.vfd_timeout_s),
        "smtp_host": env.get("MALIPO_SMTP_HOST") or None,
        "smtp_port": int(env.get("MALIPO_SMTP_PORT") or defaults.smtp_port),
        "smtp_sender": env.get("MALIPO_SMTP_SENDER") or defaults.smtp_sender,
        "smtp_tls": (env.get("MALIPO_SMTP_TLS") or "").lower() in ("1", "true", "yes", "on"),
        "smtp_username": env.get("MALIPO_SMTP_USERNAME") or None,
        "smtp_password": env.get("MALIPO_SMTP_PASSWORD") or None,
        "dunning_reminder_days": tuple(
            int(day) for day in _names(env.get("MALIPO_DUNNING_REMINDER_DAYS"))
        )
        or defaults.dunning_reminder_days,
        "dunning_grace_days": int(
            env.get("MALIPO_DUNNING_GRACE_DAYS") or defaults.dunning_grace_days
        ),
    }


def _names(value: str | None) -> tuple[str, ...]:
    """A comma-separated list, e.g. MALIPO_PROVIDERS=mpesa,tigopesa."""
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def normalise_database_url(url: str) -> str:
    """Point plain `postgresql://` URLs at psycopg 3, the driver we ship."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
