"""Streaming CDR parsers, one module per source format."""
