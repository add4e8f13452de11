"""Staff sign-in material: password hash, sealed TOTP secret, recovery codes, attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from billing.core.clock import utcnow
from billing.core.db import Base, BigId, UtcDateTime


class StaffCredential(Base):
    __tablename__ = "staff_credentials"

    staff_user_id: Mapped[str] = mapped_column(ForeignKey("staff_users.id"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, self-describing
    totp_sealed: Mapped[str] = mapped_column(Text)  # billing.core.sealing
    last_totp_step: Mapped[int] = mapped_column(BigInteger, default=0)  # no code twice
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class RecoveryCode(Base):
    """A one-use code for when the authenticator is lost; 80 random bits, kept as SHA-256."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    staff_user_id: Mapped[str] = mapped_column(ForeignKey("staff_users.id"), index=True)
    code_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class SignInAttempt(Base):
    """Every sign-in attempt, for the rate limit by address and the audit of failures."""

    __tablename__ = "staff_signin_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254))
    client_address: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (Index("ix_staff_signin_attempts_address_at", "client_address", "at"),)
