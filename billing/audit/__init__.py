"""The audit trail: every staff action that changes money or documents."""
