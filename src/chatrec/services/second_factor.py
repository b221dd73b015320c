"""The second factor: TOTP codes (RFC 6238, via ``pyotp``) and one-time recovery codes.

A code is accepted within one 30-second step either side of the server's clock, for
phones a little fast or slow, and each step's code once only (the store keeps the last
step taken).  Recovery codes are 80 random bits each, so a SHA-256 of one is as safe
to keep as an API token's (R18); each signs in once, instead of a TOTP code.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import pyotp

ISSUER = "chatrec"
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper
_STEP = timedelta(seconds=30)


def new_secret() -> str:
    """A new base32 TOTP secret of 160 bits (RFC 4226's recommended length)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, login: str, company_id: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads, naming the login and company."""
    return pyotp.TOTP(secret).provisioning_uri(name=f"{login} ({company_id})", issuer_name=ISSUER)


def totp_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code ``code`` is, within one step of ``now``; else ``None``."""
    digits = "".join(code.split())
    if not (len(digits) == 6 and digits.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    for offset in (0, -1, 1):
        moment = now + offset * _STEP
        if hmac.compare_digest(totp.at(moment), digits):
            return totp.timecode(moment)
    return None


def new_recovery_codes() -> list[str]:
    """Codes like ``k7pm-x2qd-9fht-a3wc``: 16 characters of 31, about 80 bits each."""
    codes = []
    for _ in range(RECOVERY_CODES):
        chars = "".join(secrets.choice(_ALPHABET) for _ in range(16))
        codes.append("-".join(chars[i : i + 4] for i in range(0, 16, 4)))
    return codes


def recovery_hash(code: str) -> str:
    """What is kept of a recovery code: case, spaces and dashes do not matter."""
    normal = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(f"chatrec recovery code:{normal}".encode()).hexdigest()
