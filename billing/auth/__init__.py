"""Authentication and authorisation: staff users, API keys, roles, the principal."""
