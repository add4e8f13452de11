"""Selcom API gateway as the aggregator for HaloPesa, T-Pesa and Ezypesa, which publish no
direct API (providers.md §4-5): a minimal checkout order, then a wallet USSD push, with
HMAC-signed requests; the operator travels as the channel."""
