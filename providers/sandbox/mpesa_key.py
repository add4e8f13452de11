"""The M-Pesa simulator's RSA key pair, fixed so every process agrees on it.

The adapter encrypts its API key and session ids under the public half; the simulator
decrypts them with the private half. The pair is published here on purpose and opens
nothing real, like the sandbox public key Vodacom embeds in its own clients. It is fixed
rather than generated so that `billing serve` (hosting the simulator) and `billing
worker` (calling it) hold the same pair.
"""

from __future__ import annotations

import base64
import binascii
from functools import cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

_SANDBOX_PRIVATE_PEM = b"""\
-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQC/izjQzeDheBVj
AqqY9aDIWJHHRybOZgTiDMBdSUZ6LiLuezZ2Sl5k9Nq1A75hbCxmRShv9KICPP2l
27rWZx34RxjedprfYuLFlUiSZuXFMxl1XhlJ0sGx9FREQbtNmN0Wo3I0AbhShwA8
nkSfC+uEXRT7PRKYQaYJX7BsemRVNYXlo4Bq1bx+qhk4vaXB8qoKTLvOCFUSDdo2
sUfpj+bvPOSDg6jxmORc461smrsim3BzwUhu28OYN3HKOOz5gqGdCmHEuCPOnOeX
fP0KB2gBTLs3f3cr3rKYKVe3kIs2gON7i33dKCU2/LJvZqUYCC20y8zNApLoGELY
LtIG8k4zAgMBAAECggEAKYFIgW5rMVAtCjRUtSpcea0/gXf4f7b5jeYHdO9g1y7S
IO0QAxfgVm38SkcSZNfk0xBfT8spo+SFbgAr/zN++gKl7+axboBl9TyA6kBjv5Rw
Cs+mGSoTELWJ4PSBWrIqDjLCl2RcBX39XiVJZ1FU6mylFD/KnLV0/gj/GLJ4tUGw
pBlkPoDugbf6ffU0eCcZdTdJiezN49oH7ugtTPThMHpv7N+cNnRQdQeDe/TyQ84C
kgav0JoHQDIM9I4a4fS9U6UQWs6N/xm0NR59qu4JQ8fmbYfNH2s5NYdac+TSNrVT
r8lxBwFCCg7WHVOuqxrFc2HH6JiFdNYGyYs3USB5SQKBgQDsNPFF6xpUSwy802Kd
FX0id9mhTFH4LyhwnPD5mYv1KOk6lRIHbCbaJ/scquRlUE4ZGghIGIdTp5o1YYAK
mLuX8NboZHuoXPUxXA4q6aQ/bwwxiuNh10rdQ8CZLt78VbmXJGUcqTsLSgJ9L4yK
sBCQ8Tt9ZY6J8s7Xpk7W7Le3jwKBgQDPmC3VMI4D3sV3i6sQzB9ChfrHRc2DQPZA
5Z/ajzbnYoAlm76tJb/Knp5kvpqWfQxGfqMZ+/tZ2lh17AdwCEWwjwtmfG6VHthO
i2x2j3A5dz6tYLZa0fLFCbIPXLP4xsrAk2laXNL2IvhdvCIRDdMm5rribLo2eDm5
XgE0+wvNHQKBgQDcrhXgmedOa5Op8uBGHGZ9xnV4YiKO+hgRJj9pItCEqsVD6zQd
5ShjV0kfnnWmRiHBB/ZGzUvZl1PWnZIP1GQnb2aJVh/Fy5t0kynVY9YFQc2ll7oa
lhcmo/8T3puMKtcq42DoJx+3y1yJ8tueUyIXGJnY7QH/1e7zwTgVSrHV9wKBgQCO
yrdj+CUHRnl/dEOzpyQtZukLntjw2oNIOmpNNMtoNxm8RLfQc7HL1nVPCMhekR8b
ckoQOoI22PiWDEdFaXs+KfaGhTqvOetBg6eUma9w57PmICrup5EctUGUTYjBq0OV
WRBThpvZkE5Uc27fWioOjRCpZG5lvya9eYrM/Y2thQKBgGlGYmOLFXkCXTluQQzN
syBXLW6o3UY5lLIh8rKSG88XIkR0hssnyOwqq4tfbpZ6BYFhVUwWe2kPmzYZBjM9
F+/7a5/CEXhTYves5vOkok66MMRQSfh2HkXTu3Rv0EA6fmf0dQrc+qBhYNSalOm/
JVTNpouQdcJFOyR1x6kuvKYj
-----END PRIVATE KEY-----
"""


@cache
def private_key() -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(_SANDBOX_PRIVATE_PEM, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def public_key_b64() -> str:
    """Base64 DER, the form Vodacom's portal hands out."""
    der = (
        private_key()
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return base64.b64encode(der).decode()


def decrypt_bearer(token: str | None) -> str | None:
    """What the adapter encrypted into `Bearer base64(RSA(pub, secret))`, or None."""
    if not token:
        return None
    try:
        secret = private_key().decrypt(base64.b64decode(token, validate=True), padding.PKCS1v15())
        return secret.decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
