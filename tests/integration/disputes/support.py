"""What dispute tests share: opening and resolving over HTTP, and the two invariants every
resolution must keep (the ledger balanced, the audit chain intact)."""

from __future__ import annotations

import base64

from billing.audit.verify import verify
from billing.ledger.integrity import find_discrepancies

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def attachment(content: bytes = PDF, content_type: str = "application/pdf", name="proof.pdf"):
    return {
        "filename": name,
        "content_type": content_type,
        "content_base64": base64.b64encode(content).decode(),
    }


def open_dispute(client, tenant, expected: int = 201, **body) -> dict:
    response = client.post(
        "/v1/disputes", json={"reason": "I was charged twice", **body}, headers=tenant.headers
    )
    assert response.status_code == expected, response.get_json()
    return response.get_json()


def resolve(client, admin, dispute_id: str, expected: int = 200, **body) -> dict:
    response = client.post(
        f"/v1/disputes/{dispute_id}/resolve",
        json={"note": "Checked against the evidence", **body},
        headers=admin.headers,
    )
    assert response.status_code == expected, response.get_json()
    return response.get_json()


def assert_books_and_trail_sound(sessions, tenant_id: str) -> None:
    """The ledger balances (postings sum to zero, balances equal their entries) and the
    tenant's audit chain verifies."""
    with sessions() as session:
        assert find_discrepancies(session, tenant_id) == []
        report = verify(session, f"tenant:{tenant_id}")
    assert report.intact, report.broken
    assert report.events > 0
