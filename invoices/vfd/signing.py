"""SHA1withRSA signing of VFD payloads with the key TRA certified, and the EFDMS envelope.

TRA hashes the exact compact payload bytes (`<RCT>…</RCT>`, `<REGDATA>…</REGDATA>`,
`<ZREPORT>…</ZREPORT>`), with no XML declaration, so the envelope is assembled as a
string around those bytes and never re-serialised. SHA-1 is TRA's choice, not ours.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
_ENVELOPE = re.compile(
    rb"\A(?:<\?xml[^>]*\?>)?\s*<EFDMS>(?P<payload>.*)"
    rb"<EFDMSSIGNATURE>(?P<signature>[A-Za-z0-9+/=\s]*)</EFDMSSIGNATURE>\s*</EFDMS>\s*\Z",
    re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class SigningKey:
    """The private key and certificate from the PFX TRA issued for this VFD."""

    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def cert_serial(self) -> str:
        return cert_serial_header(self.certificate)


def load_pfx(data: bytes, password: str | bytes | None) -> SigningKey:
    if isinstance(password, str):
        password = password.encode()
    key, cert, _ = pkcs12.load_key_and_certificates(data, password)
    if not isinstance(key, rsa.RSAPrivateKey) or cert is None:
        raise ValueError("the PFX must hold an RSA private key and its certificate")
    return SigningKey(key, cert)


def cert_serial_header(certificate: x509.Certificate) -> str:
    """The `Cert-Serial` header: base64 of the serial as spaced hex pairs ("69 c5 af")."""
    serial = certificate.serial_number
    hex_digits = format(serial, "x")
    hex_digits = hex_digits.rjust(len(hex_digits) + len(hex_digits) % 2, "0")
    spaced = " ".join(hex_digits[i : i + 2] for i in range(0, len(hex_digits), 2))
    return base64.b64encode(spaced.encode("ascii")).decode("ascii")


def sign(payload: str, key: SigningKey) -> str:
    """Base64 PKCS#1 v1.5 SHA-1 signature of the payload's UTF-8 bytes."""
    raw = key.private_key.sign(payload.encode("utf-8"), padding.PKCS1v15(), hashes.SHA1())  # noqa: S303
    return base64.b64encode(raw).decode("ascii")


def verify(payload: bytes, signature_b64: str, public_key: rsa.RSAPublicKey) -> bool:
    try:
        raw = base64.b64decode(signature_b64, validate=True)
        public_key.verify(raw, payload, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303
    except (InvalidSignature, ValueError):
        return False
    return True


def envelope(payload: str, key: SigningKey) -> bytes:
    """The request body TRA expects: declaration, `<EFDMS>`, payload, signature."""
    signature = f"<EFDMSSIGNATURE>{sign(payload, key)}</EFDMSSIGNATURE>"
    return f"{XML_DECLARATION}<EFDMS>{payload}{signature}</EFDMS>".encode()


def open_envelope(body: bytes) -> tuple[bytes, str]:
    """The exact signed payload bytes and the base64 signature of an EFDMS body."""
    match = _ENVELOPE.match(body)
    if match is None:
        raise ValueError("not an <EFDMS> envelope with an <EFDMSSIGNATURE>")
    return match["payload"], match["signature"].decode("ascii").strip()
