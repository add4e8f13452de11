"""Settlement reconciliation: a provider's statement matched against the top-ups and the
ledger, its exceptions sent to the staff review queue, its fees booked per provider."""
