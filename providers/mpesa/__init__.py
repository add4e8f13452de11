"""Vodacom M-Pesa Open API, market vodacomTZN: C2B single stage (USSD push), status
query and reversal, authenticated by RSA-encrypting the API key and then the session."""
