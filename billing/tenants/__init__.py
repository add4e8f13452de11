"""Tenants: the businesses that buy communications from the platform."""
