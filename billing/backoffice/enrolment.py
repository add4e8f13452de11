"""Giving staff back-office access (CLI), and the demo's ready-made ways in."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.auth.models import Role, StaffUser
from billing.auth.service import create_staff
from billing.backoffice.credentials import Enrolment, enrol
from billing.core.errors import NotFound
from billing.portal.links import create_link

UnitOfWork = Callable[[], AbstractContextManager[Session]]


def enrol_by_email(unit_of_work: UnitOfWork, email: str, password: str) -> Enrolment:
    with unit_of_work() as session:
        user = session.execute(
            select(StaffUser).where(StaffUser.email == email.strip().lower())
        ).scalar()
        if user is None:
            raise NotFound(f"no staff user {email}: create it with `billing create-staff`")
        return enrol(session, user, password)


@dataclass(frozen=True)
class DemoAccess:
    portal_url: str
    staff_email: str
    staff_password: str
    enrolment: Enrolment


def demo_access(unit_of_work: UnitOfWork, public_url: str, tenant_id: str) -> DemoAccess:
    """A portal link for the demo tenant and a finance sign-in (password, TOTP secret)."""
    with unit_of_work() as session:
        user, _key = create_staff(
            session, email=f"demo-finance-{uuid.uuid4().hex[:8]}@malipo.test", role=Role.FINANCE
        )
        password = secrets.token_urlsafe(12)
        enrolment = enrol(session, user, password)
        _link, token = create_link(
            session,
            actor=user.id,
            tenant_id=tenant_id,
            user_email="owner@demo-duka.co.tz",
            role=Role.TENANT_ADMIN,
            return_url=None,
        )
    return DemoAccess(
        f"{public_url.rstrip('/')}/portal/start/{token}", user.email, password, enrolment
    )
