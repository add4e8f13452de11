"""Top-ups: a tenant's wallet credited by mobile money, exactly once.

The path: `POST /v1/topups` writes a pending top-up and an outbox row; a job asks
the provider for a USSD push, with no lock held; the provider's callback is stored
raw in the inbox and answered at once; a reconciliation job checks it against the
top-up and credits the wallet with one ledger transaction. A sweeper queries the
provider for top-ups whose callback never came, then expires them.
"""
