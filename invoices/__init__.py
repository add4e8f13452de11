"""Tanzanian tax invoicing: VAT rules, taxpayer numbers, documents, TRA fiscalisation.

May import `billing.core` and nothing else of `billing`.
"""
