"""The HTTP edge: the API object, problem+json errors, the per-request unit of work,
Idempotency-Key handling and the health endpoints."""
