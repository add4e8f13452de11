"""Stripe payouts reconciled against the ledger (issue 14): each balance transaction a
payout settled (charge, refund, dispute withdrawal or reinstatement, fee) matched to what
Malipo booked, with the settlement statements' outcomes and review queue."""
