"""One-time links into the tenant portal, handed out by the platform (a staff key)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from billing.auth.models import Role
from billing.core.clock import utcnow
from billing.core.db import Base, UtcDateTime, string_enum


class PortalLink(Base):
    """Stored as the token's SHA-256: the URL is shown once, to the platform that asked."""

    __tablename__ = "portal_links"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    user_email: Mapped[str] = mapped_column(String(254))
    role: Mapped[Role] = mapped_column(string_enum(Role, "role"))
    return_url: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
