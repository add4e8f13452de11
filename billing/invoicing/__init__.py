"""Invoicing: numbering, states, credit notes, runs, fiscalisation, delivery."""
