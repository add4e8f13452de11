"""Staff sign-in: argon2id password, TOTP for every staff role (secret sealed at rest,
a code used once), one-use recovery codes, lockout after repeated failures, and a rate
limit by client address."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.auth.models import StaffUser
from billing.backoffice.models import RecoveryCode, SignInAttempt, StaffCredential
from billing.core.clock import utcnow
from billing.core.errors import MalipoError
from billing.core.sealing import seal, unseal

LOCK_AFTER = 5  # failed passwords or codes in a row
LOCK_FOR = timedelta(minutes=15)
ADDRESS_WINDOW = timedelta(minutes=15)
ADDRESS_FAILURES = 20  # failures from one address in the window: it waits
RECOVERY_CODES = 10
ISSUER = "Malipo back office"
_hasher = PasswordHasher()  # argon2id, the library's current defaults


@cache
def _dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so both answers take as long. Made on
    first use: an argon2 hash costs a second of start-up on a busy machine."""
    return _hasher.hash(secrets.token_urlsafe(16))


class SignInRefused(MalipoError):
    status = 401
    title = "Sign-in refused"
    type_slug = "sign-in-refused"


class TooManyAttempts(MalipoError):
    status = 429
    title = "Too many attempts"
    type_slug = "too-many-attempts"


@dataclass(frozen=True)
class Enrolment:
    """What a staff member is shown once: the TOTP secret (and its URI) and recovery codes."""

    totp_secret: str
    totp_uri: str
    recovery_codes: list[str]


def hash_password(password: str) -> str:
    if len(password) < 12:
        raise MalipoError(
            "the password must have at least 12 characters",
            {"password": ["at least 12 characters"]},
        )
    return _hasher.hash(password)


def enrol(session: Session, user: StaffUser, password: str) -> Enrolment:
    """Set (or replace) a staff member's password, TOTP secret and recovery codes."""
    secret = pyotp.random_base32()
    credential = session.get(StaffCredential, user.id) or StaffCredential(staff_user_id=user.id)
    credential.password_hash = hash_password(password)
    credential.totp_sealed = seal(secret)
    credential.last_totp_step = 0
    credential.failed_attempts = 0
    credential.locked_until = None
    credential.updated_at = utcnow()
    session.add(credential)
    for old in session.execute(
        select(RecoveryCode).where(RecoveryCode.staff_user_id == user.id)
    ).scalars():
        session.delete(old)
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    session.add_all(RecoveryCode(staff_user_id=user.id, code_sha256=_code_digest(c)) for c in codes)
    session.flush()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return Enrolment(secret, uri, codes)


def _new_recovery_code() -> str:
    raw = pyotp.random_base32(32)[:16]  # 80 bits: a SHA-256 of it cannot be brute-forced
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def _code_digest(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").replace(" ", "").upper().encode()).hexdigest()


def check_address(session: Session, address: str, now: datetime | None = None) -> None:
    """Refuse an address that failed too often lately (before any password is checked)."""
    since = (now or utcnow()) - ADDRESS_WINDOW
    failures = session.execute(
        select(func.count()).where(
            SignInAttempt.client_address == address,
            SignInAttempt.at >= since,
            SignInAttempt.succeeded.is_(False),
        )
    ).scalar_one()
    if failures >= ADDRESS_FAILURES:
        raise TooManyAttempts("too many failed sign-ins from this address: wait 15 minutes")


def note_attempt(session: Session, email: str, address: str, succeeded: bool) -> None:
    session.add(SignInAttempt(email=email[:254], client_address=address[:64], succeeded=succeeded))


def check_password(
    session: Session, email: str, password: str, now: datetime | None = None
) -> StaffUser:
    """The staff member whose password this is; counts a failure towards the lockout."""
    now = now or utcnow()
    user = session.execute(
        select(StaffUser).where(StaffUser.email == email.strip().lower())
    ).scalar()
    credential = session.get(StaffCredential, user.id, with_for_update=True) if user else None
    if credential is None:
        _verifies(_dummy_hash(), password)
        raise SignInRefused("the e-mail or the password is wrong")
    _refuse_if_locked(credential, now)
    if not _verifies(credential.password_hash, password):
        _failed(credential, now)
        raise SignInRefused("the e-mail or the password is wrong")
    return user


def check_second_factor(
    session: Session, user_id: str, code: str, now: datetime | None = None
) -> str:
    """Accept a current TOTP code (never one already used) or an unused recovery code.
    Returns which it was: 'totp' or 'recovery'."""
    now = now or utcnow()
    credential = session.get(StaffCredential, user_id, with_for_update=True)
    if credential is None:
        raise SignInRefused("no second factor is enrolled")
    _refuse_if_locked(credential, now)
    digits = code.replace(" ", "").strip()
    if digits.isdigit() and len(digits) == 6:
        step = _totp_step(unseal(credential.totp_sealed), digits, now)
        if step is not None and step > credential.last_totp_step:
            credential.last_totp_step = step
            credential.failed_attempts = 0
            return "totp"
    elif len(digits.replace("-", "")) == 16:
        recovery = session.execute(
            select(RecoveryCode)
            .where(
                RecoveryCode.staff_user_id == user_id,
                RecoveryCode.code_sha256 == _code_digest(digits),
                RecoveryCode.used_at.is_(None),
            )
            .with_for_update()
        ).scalar()
        if recovery is not None:
            recovery.used_at = now
            credential.failed_attempts = 0
            return "recovery"
    _failed(credential, now)
    raise SignInRefused("the code is wrong or was used already")


def _totp_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step (±1 for clock drift) whose code this is, or None."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _verifies(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _refuse_if_locked(credential: StaffCredential, now: datetime) -> None:
    if credential.locked_until is not None and credential.locked_until > now:
        raise SignInRefused("this account is locked for a while after failed sign-ins")


def _failed(credential: StaffCredential, now: datetime) -> None:
    credential.failed_attempts += 1
    if credential.failed_attempts >= LOCK_AFTER:
        credential.locked_until = now + LOCK_FOR
        credential.failed_attempts = 0
