"""Tariffs: stored destinations, versioned rate plans, plan assignment, FX, authorisation.

The pure rating core (`billing.rating`) prices usage from plain dataclasses; this package
keeps those dataclasses in the database (effective-dated and versioned), loads them back
through a per-process cache (`service.tariff_for`), and answers real-time authorisation.
"""
