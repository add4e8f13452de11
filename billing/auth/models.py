"""Staff users and API keys. A key's secret is stored only as its SHA-256."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from billing.core.clock import utcnow
from billing.core.db import Base, UtcDateTime, string_enum


class Role(StrEnum):
    ADMIN = "admin"
    FINANCE = "finance"
    TENANT_ADMIN = "tenant_admin"
    TENANT_USER = "tenant_user"

    @property
    def is_staff(self) -> bool:
        return self in (Role.ADMIN, Role.FINANCE)


STAFF_ROLES = frozenset({Role.ADMIN, Role.FINANCE})
TENANT_ROLES = frozenset({Role.TENANT_ADMIN, Role.TENANT_USER})


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[Role] = mapped_column(string_enum(Role, "role"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (CheckConstraint("role IN ('admin', 'finance')", name="staff_role"),)


class ApiKey(Base):
    """A bearer key `mlp_<prefix>_<secret>`: the prefix finds the row, the hash proves it."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(string_enum(Role, "role"))
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    staff_user_id: Mapped[str | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        CheckConstraint(
            "(tenant_id IS NOT NULL AND staff_user_id IS NULL"
            " AND role IN ('tenant_admin', 'tenant_user'))"
            " OR (tenant_id IS NULL AND staff_user_id IS NOT NULL"
            " AND role IN ('admin', 'finance'))",
            name="one_owner_matching_role",
        ),
    )
