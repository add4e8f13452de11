"""The dispute e-mail job: one notice per change, by SMTP when it is configured."""

from __future__ import annotations

import logging
import smtplib

from billing.disputes.models import Dispute
from billing.disputes.notify import NOTIFY_JOB, message_for
from billing.invoicing.delivery import DeliveryNotConfigured, send_notice
from billing.jobs.registry import job
from billing.runtime import current
from billing.tenants.models import Tenant

log = logging.getLogger(__name__)


@job(NOTIFY_JOB)
def notify(dispute_id: str, event_id: str, change: str) -> None:
    """E-mail the tenant; an SMTP failure raises, so the job is retried (at least once)."""
    runtime = current()
    with runtime.sessions() as session:
        dispute = session.get(Dispute, dispute_id)
        if dispute is None:
            return
        tenant = session.get(Tenant, dispute.tenant_id)
        subject, body = message_for(dispute, change, tenant.name)
        to = tenant.email
    try:
        send_notice(runtime.settings, to=to, subject=subject, body=body)
    except DeliveryNotConfigured:
        log.info(
            "dispute %s (%s): no SMTP host, the event %s tells it", dispute_id, change, event_id
        )
    except (smtplib.SMTPException, OSError):
        log.warning("dispute %s: the %s notice was not e-mailed; retried", dispute_id, change)
        raise
