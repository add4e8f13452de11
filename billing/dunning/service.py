"""Dunning, one transaction per run: reminders of overdue postpaid invoices on the
configured schedule, restriction of the tenant past the grace period, and lifting it
once nothing is overdue past grace any more. Each step is a `DunningStep` row, unique
per invoice, kind and level, so two runs racing take each step once; each is audited.

A reminder is a platform event (`invoice.overdue`, written with the step) and an
e-mail sent after commit by a job (`dunning.remind`) through the invoice delivery
path; restriction and lifting emit `tenant.restricted` and `tenant.unrestricted`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billing.audit.service import SYSTEM, record
from billing.core.clock import utcnow
from billing.core.config import Settings
from billing.dunning.models import DunningStep, DunningStepKind
from billing.dunning.schedule import due_steps
from billing.events.service import emit
from billing.invoicing import payments, states
from billing.invoicing.models import Invoice, PaymentStatus
from billing.invoicing.states import InvoiceSource
from billing.jobs.outbox import defer
from billing.tenants.models import Tenant
from invoices.vfd.receipt import EAT

REMIND_JOB = "dunning.remind"
OPEN = (PaymentStatus.UNPAID, PaymentStatus.PARTLY_PAID)


@dataclass
class DunningRun:
    reminders: list[str] = field(default_factory=list)  # dunning step ids
    restricted: list[str] = field(default_factory=list)  # tenant ids
    lifted: list[str] = field(default_factory=list)  # tenant ids


def today_in_tanzania() -> date:
    return utcnow().astimezone(EAT).date()


def run(session: Session, settings: Settings, today: date | None = None) -> DunningRun:
    """Take every dunning step due as of `today` (EAT); steps taken before are skipped.
    One run at a time: a run that finds another under way leaves the steps to it (two
    runs locking tenants in different orders could deadlock each other)."""
    today = today or today_in_tanzania()
    done = DunningRun()
    if not _only_run(session):
        return done
    overdue = session.execute(
        select(Invoice)
        .where(
            Invoice.source == InvoiceSource.POSTPAID,
            Invoice.status.in_(states.FINAL),
            Invoice.payment_status.in_(OPEN),
            Invoice.due_on < today,
        )
        .order_by(Invoice.due_on, Invoice.id)
        .with_for_update(skip_locked=True)  # a payment in flight: next run
    ).scalars()
    beyond_grace: dict[str, Invoice] = {}
    for invoice in overdue:
        if payments.amount_due(session, invoice) <= 0:
            continue
        due = due_steps(invoice.due_on, today, settings.dunning_reminder_days,
                        settings.dunning_grace_days)  # fmt: skip
        for level in range(invoice.reminders_sent + 1, due.reminders + 1):
            step = _take(session, invoice, DunningStepKind.REMINDER, level,
                         {"due_on": invoice.due_on.isoformat(), "days_late":
                          (today - invoice.due_on).days})  # fmt: skip
            if step is None:
                continue
            invoice.reminders_sent = level
            emit(session, tenant_id=invoice.tenant_id, type="invoice.overdue", data={
                "invoice_id": invoice.id, "number": invoice.number_text, "reminder": level,
                "due_on": invoice.due_on.isoformat(), "currency": invoice.currency,
                "amount_due": payments.amount_due(session, invoice),
            })  # fmt: skip
            defer(session, REMIND_JOB, step.id, dedupe_key=f"{REMIND_JOB}:{step.id}")
            done.reminders.append(str(step.id))
        if due.restrict:
            beyond_grace.setdefault(invoice.tenant_id, invoice)
    for tenant_id, invoice in beyond_grace.items():
        if restrict(session, tenant_id, invoice, today):
            done.restricted.append(tenant_id)
    done.lifted = lift_settled(session, settings, today, keep=set(beyond_grace))
    return done


_RUN_LOCK = 0x6D6C7064756E  # "mlpdun": the dunning run's transaction-level advisory lock


def _only_run(session: Session) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite: one writer at a time anyway
    return bool(
        session.execute(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _RUN_LOCK}
        ).scalar_one()
    )


def _take(session: Session, invoice: Invoice, kind: DunningStepKind, level: int,
          detail: dict) -> DunningStep | None:  # fmt: skip
    """The step, once: None when it was taken before (by this run's twin, say)."""
    step = DunningStep(tenant_id=invoice.tenant_id, invoice_id=invoice.id, kind=kind,
                       level=level, detail=detail)  # fmt: skip
    try:
        with session.begin_nested():
            session.add(step)
            session.flush()
    except IntegrityError:
        return None
    action = {DunningStepKind.REMINDER: "dunning.reminder_queued",
              DunningStepKind.RESTRICTED: "dunning.tenant_restricted",
              DunningStepKind.LIFTED: "dunning.restriction_lifted"}[kind]  # fmt: skip
    record(session, actor=SYSTEM, action=action, subject_type="invoice", subject_id=invoice.id,
           tenant_id=invoice.tenant_id, detail={"level": level, **detail})  # fmt: skip
    return step


def restrict(session: Session, tenant_id: str, invoice: Invoice, today: date) -> bool:
    """Restrict the tenant for `invoice` past grace; False if it is restricted already."""
    tenant = session.get(Tenant, tenant_id, with_for_update=True)
    if tenant.overdue_since is not None:
        return False
    detail = {"invoice": invoice.number_text, "due_on": invoice.due_on.isoformat(),
              "days_late": (today - invoice.due_on).days}  # fmt: skip
    step = _take(session, invoice, DunningStepKind.RESTRICTED, 0, detail)
    if step is None:  # restricted for this invoice before, and lifted since: re-restrict
        _again(session, invoice, DunningStepKind.RESTRICTED, detail)
    tenant.overdue_since = utcnow()
    emit(session, tenant_id=tenant_id, type="tenant.restricted",
         data={"reason": "tenant_overdue", "invoice_id": invoice.id, **detail})  # fmt: skip
    return True


def _again(session: Session, invoice: Invoice, kind: DunningStepKind, detail: dict) -> None:
    level = 1 + max(
        session.execute(
            select(DunningStep.level).where(DunningStep.invoice_id == invoice.id,
                                            DunningStep.kind == kind)
        ).scalars(),
        default=0,
    )  # fmt: skip
    _take(session, invoice, kind, level, detail)


def lift_settled(
    session: Session, settings: Settings, today: date | None = None, keep: set[str] = frozenset()
) -> list[str]:
    """Lift the restriction of every restricted tenant with nothing overdue past grace."""
    today = today or today_in_tanzania()
    lifted = []
    restricted = session.execute(
        select(Tenant.id).where(Tenant.overdue_since.is_not(None))
    ).scalars()
    for tenant_id in [t for t in restricted if t not in keep]:
        if lift_if_paid(session, settings, tenant_id, today):
            lifted.append(tenant_id)
    return lifted


def lift_if_paid(session: Session, settings: Settings, tenant_id: str,
                 today: date | None = None) -> bool:  # fmt: skip
    """Lift the tenant's restriction when none of its invoices is overdue past grace."""
    today = today or today_in_tanzania()
    tenant = session.get(Tenant, tenant_id, with_for_update=True)
    if tenant is None or tenant.overdue_since is None:
        return False
    open_ = session.execute(
        select(Invoice).where(
            Invoice.tenant_id == tenant_id, Invoice.source == InvoiceSource.POSTPAID,
            Invoice.status.in_(states.FINAL), Invoice.payment_status.in_(OPEN),
            Invoice.due_on < today,
        )
    ).scalars()  # fmt: skip
    for invoice in open_:
        late = due_steps(invoice.due_on, today, settings.dunning_reminder_days,
                         settings.dunning_grace_days)  # fmt: skip
        if late.restrict and payments.amount_due(session, invoice) > 0:
            return False
    cause = session.execute(
        select(DunningStep).where(DunningStep.tenant_id == tenant_id,
                                  DunningStep.kind == DunningStepKind.RESTRICTED)
        .order_by(DunningStep.id.desc()).limit(1)
    ).scalar()  # fmt: skip
    tenant.overdue_since = None
    if cause is not None:
        invoice = session.get(Invoice, cause.invoice_id)
        _again(session, invoice, DunningStepKind.LIFTED, {"paid": True})
    else:
        record(session, actor=SYSTEM, action="dunning.restriction_lifted", subject_type="tenant",
               subject_id=tenant_id, tenant_id=tenant_id, detail={"paid": True})  # fmt: skip
    emit(session, tenant_id=tenant_id, type="tenant.unrestricted", data={"reason": "paid"})
    return True
