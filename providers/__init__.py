"""Payment-provider adapters: one package per wire format behind one interface.

A library, not a service: it imports nothing of `billing` or `invoices`, keeps no state
beyond cached access tokens, and speaks in plain dataclasses (`providers.base`). The
billing service decides what a result means for a top-up; adapters only translate each
operator's wire format, honestly, including when the outcome is unknown (`ambiguous`).
"""
