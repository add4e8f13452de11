"""Browser sessions of the portal and the back office, kept server-side.

The cookie carries only a random token (signed by Flask); the row, found by the token's
SHA-256, says who it is and until when. A row can be revoked (sign-out) and times out
when idle, which a cookie alone cannot do.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from billing.auth.models import Role
from billing.core.clock import utcnow
from billing.core.db import Base, UtcDateTime, string_enum


class WebSession(Base):
    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # portal | staff
    role: Mapped[Role] = mapped_column(string_enum(Role, "role"))
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    staff_user_id: Mapped[str | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    user_email: Mapped[str] = mapped_column(String(254))
    return_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    reauth_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        CheckConstraint(
            "(kind = 'portal' AND tenant_id IS NOT NULL AND staff_user_id IS NULL)"
            " OR (kind = 'staff' AND staff_user_id IS NOT NULL AND tenant_id IS NULL)",
            name="one_owner_per_kind",
        ),
    )
