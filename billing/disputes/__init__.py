"""Disputes: a tenant (or a review item, a chargeback, a settlement exception) questions a
top-up, usage, or an invoice; staff investigate with the evidence in one place and
resolve it through the ledger and invoice pipelines, the tenant told of every change."""
