"""The reminder e-mail of a dunning step, after the step is committed."""

from __future__ import annotations

import logging

from billing.audit.service import SYSTEM, record
from billing.dunning.models import DunningStep
from billing.dunning.reminders import reminder_text
from billing.invoicing import payments
from billing.invoicing.delivery import DeliveryNotConfigured, send_document
from billing.invoicing.models import Invoice
from billing.jobs.registry import job
from billing.runtime import current

log = logging.getLogger(__name__)


@job("dunning.remind")
def remind(step_id: int) -> None:
    """E-mail the tenant the reminder; SMTP errors raise, so the job is retried."""
    runtime = current()
    with runtime.sessions() as session:
        step = session.get(DunningStep, int(step_id))
        if step is None:
            return
        invoice = session.get(Invoice, step.invoice_id)
        buyer = (invoice.parties or {}).get("buyer") or {}
        subject, body = reminder_text(invoice, step.level, payments.amount_due(session, invoice),
                                      buyer.get("language") or "en")  # fmt: skip
        to = buyer.get("email", "")
    try:
        send_document(runtime.settings, to=to, subject=subject, body=body, pdf=None)
    except DeliveryNotConfigured:
        log.info("reminder %s not e-mailed: no SMTP host configured", step_id)
        return
    with runtime.unit_of_work() as session:
        record(session, actor=SYSTEM, action="dunning.reminder_sent", subject_type="invoice",
               subject_id=invoice.id, tenant_id=invoice.tenant_id,
               detail={"level": step.level, "to": to})  # fmt: skip
