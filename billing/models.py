"""Every table, imported so the metadata is complete (migrations, tests)."""


def load_all() -> None:
    import billing.audit.models
    import billing.auth.models
    import billing.backoffice.models
    import billing.balance_adjustments.models
    import billing.cards.models
    import billing.disputes.models
    import billing.dunning.models
    import billing.events.models
    import billing.invoicing.models
    import billing.jobs.models
    import billing.ledger.models
    import billing.pages.models
    import billing.portal.models
    import billing.privacy.models
    import billing.settlement.models
    import billing.settlement.payouts.models
    import billing.tariffs.models
    import billing.tenants.models
    import billing.topups.models
    import billing.usage.models
    import billing.web.models  # noqa: F401
