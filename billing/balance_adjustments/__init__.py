"""Manual balance adjustments of a tenant's wallet, with maker-checker approval.

Named apart from `billing.invoicing.adjustments` (usage adjustments billed on drafts):
these are staff credits and debits of a wallet, with a reason code."""
