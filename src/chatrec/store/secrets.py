"""The key that encrypts the SFTP secrets at rest (R18), and where it comes from.

A stored secret is ``fernet:v1:`` followed by a Fernet token (AES-128-CBC with
HMAC-SHA256, from ``cryptography``).  The prefix names the scheme, so a later scheme
can be told apart and the old one still read; a value without it was saved before
secrets were encrypted and is read as plain text until ``Store.migrate`` encrypts it.

A box holds one key or several: the first encrypts, every one decrypts, so a key is
rotated by putting the new one first and migrating (which re-encrypts with it) before
the old one is dropped.  The key comes from ``CHATREC_SECRET_KEY`` or, by default,
from a key file that the first start creates, so a demo needs no configuration.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from base64 import urlsafe_b64decode
from binascii import Error as Base64Error
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from chatrec.errors import SecretKeyError
from chatrec.files import private_dir

log = logging.getLogger(__name__)

PREFIX = "fernet:v1:"
KEY_VARIABLE = "CHATREC_SECRET_KEY"
MAKE_A_KEY = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)

# Words people leave in a configuration template instead of a key.
_PLACEHOLDER = re.compile(
    r"<.*>|\$\{.*\}|change[-_ ]?me|changeit|secret|password|placeholder|example|"
    r"todo|xxx+|\.\.\.|your[-_ ]?key|none|null",
    re.IGNORECASE,
)


class SecretBox:
    """Encrypts secrets with the first of ``keys`` and decrypts them with any of them.

    ``origin`` names the keys as the operator knows them (``the key in
    CHATREC_SECRET_KEY``), for the message of a :class:`SecretKeyError`.
    """

    def __init__(self, keys: Sequence[str], *, origin: str = "the key given to the store") -> None:
        if not keys:
            raise ValueError("a secret box needs at least one key")
        self.origin = origin
        self._current = Fernet(keys[0])
        self._all = MultiFernet([Fernet(key) for key in keys])

    def encrypt(self, plaintext: str) -> str:
        return PREFIX + self._current.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, stored: str) -> str:
        """The secret; a value without the prefix is legacy plain text, returned as is."""
        if not stored.startswith(PREFIX):
            return stored
        try:
            return self._all.decrypt(stored.removeprefix(PREFIX).encode("ascii")).decode()
        except (InvalidToken, UnicodeError) as error:
            raise SecretKeyError(self.origin) from error

    def can_decrypt(self, stored: str) -> bool:
        try:
            self.decrypt(stored)
        except SecretKeyError:
            return False
        return True

    def is_current(self, stored: str) -> bool:
        """Encrypted, and with the first key: nothing for a migration to redo."""
        if not stored.startswith(PREFIX):
            return False
        try:
            self._current.decrypt(stored.removeprefix(PREFIX).encode("ascii"))
        except (InvalidToken, UnicodeError):
            return False
        return True


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def parse_keys(text: str, origin: str) -> list[str]:
    """The keys in ``text`` (comma- or line-separated; ``#`` starts a comment).

    Refuses, naming ``origin`` but never echoing the value, text without a key, a
    placeholder left from a template, and anything that is not a Fernet key.
    """
    lines = (line.split("#", 1)[0] for line in text.splitlines())
    keys = [key.strip() for line in lines for key in line.split(",") if key.strip()]
    if not keys:
        raise ValueError(f"{origin} holds no key: set it to a key made by `{MAKE_A_KEY}`")
    for key in keys:
        _check_key(key, origin)
    return keys


def _check_key(key: str, origin: str) -> None:
    if _PLACEHOLDER.fullmatch(key):
        raise ValueError(
            f"{origin} holds a placeholder, not a key: set it to a key made by `{MAKE_A_KEY}`"
        )
    try:
        raw = urlsafe_b64decode(key.encode("ascii"))
    except (Base64Error, UnicodeError, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ValueError(
            f"{origin} holds something that is not a key (a key is 32 random bytes in "
            f"URL-safe base64, 44 characters): set it to a key made by `{MAKE_A_KEY}`"
        )
    if len(set(raw)) < 8:
        # Random bytes repeat this much with odds far below one in 10^20: a made-up key.
        raise ValueError(
            f"{origin} holds a made-up key, not a random one: set it to a key made by "
            f"`{MAKE_A_KEY}`"
        )


def load_secret_box(key: str | None, key_file: Path) -> SecretBox:
    """The box of ``key`` (``CHATREC_SECRET_KEY``) if given, else of the key file.

    A missing key file is created with a new key, readable by its owner only (0600),
    and the log says so: keep it, and give every node sharing the database the same
    key, since losing it means entering the platforms' secrets again.
    """
    if key is not None:
        return SecretBox(parse_keys(key, KEY_VARIABLE), origin=f"the key in {KEY_VARIABLE}")
    where = f"the key file {key_file}"
    if _create_key_file(key_file):
        log.warning(
            "created %s for the SFTP secrets: back it up, and give every node and worker "
            "of this database the same key (%s or a copy of the file); without it the "
            "recording platforms' passwords and keys must be entered again",
            where,
            KEY_VARIABLE,
        )
    elif os.name == "posix" and key_file.stat().st_mode & 0o077:
        log.warning("%s can be read by other users: chmod 600 it", where)
    keys = parse_keys(key_file.read_text(encoding="utf-8"), where)
    return SecretBox(keys, origin=f"the key in {where}")


def _create_key_file(path: Path) -> bool:
    """Write a new key to ``path`` unless it exists; whether this call created it.

    The key is written to a temporary file first and linked into place, so two
    processes starting at once agree on one key and neither reads a half-written file.
    """
    if path.exists():
        return False
    private_dir(path.parent)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(generate_key() + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.link(draft, path)
    except FileExistsError:
        return False
    finally:
        draft.unlink()
    return True
