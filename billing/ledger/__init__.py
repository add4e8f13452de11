"""The double-entry ledger: accounts, transactions, entries.

`billing.ledger.service.post_transaction` is the only way a balance changes.
Sign convention: an entry's `amount_minor` > 0 credits its account, < 0 debits
it, and every transaction's entries sum to zero per currency. Liability and
income accounts (a tenant's wallet, revenue, VAT payable) so carry positive
balances; asset accounts (a provider's clearing account) carry negative ones.
"""
