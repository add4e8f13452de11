"""Malipo: the billing service of a Tanzanian cloud-communications platform.

`create_app()` is the one composition root; see `billing.app`.
"""

from billing.app import create_app

__all__ = ["create_app"]
