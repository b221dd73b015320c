"""How every token is kept: chat links, login sessions and API tokens alike (R18)."""

from __future__ import annotations

import hashlib


def hash_token(token: str) -> str:
    """Tokens are stored only as SHA-256: a database leak opens no chat (R18)."""
    return hashlib.sha256(token.encode()).hexdigest()
