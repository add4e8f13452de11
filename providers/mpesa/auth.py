"""M-Pesa Open API bearer tokens: RSA PKCS#1 v1.5 encryption under Vodacom's public key.

The API key is encrypted to ask for a session; from then on the session id is encrypted
the same way for every call (openpesa/pypesa open_api.py).
"""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def load_public_key(text: str) -> rsa.RSAPublicKey:
    """The portal hands out base64 DER without PEM armour; accept either."""
    stripped = text.strip()
    if stripped.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(stripped.encode())
    else:
        key = serialization.load_der_public_key(base64.b64decode(stripped))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the M-Pesa public key must be an RSA key")
    return key


def encrypt_bearer(public_key: rsa.RSAPublicKey, secret: str) -> str:
    """base64(RSA_PKCS1v15(public_key, secret)): fresh random padding on every call."""
    return base64.b64encode(public_key.encrypt(secret.encode(), padding.PKCS1v15())).decode()


def bearer_header(public_key: rsa.RSAPublicKey, secret: str) -> str:
    return f"Bearer {encrypt_bearer(public_key, secret)}"
