"""The box that encrypts SFTP secrets at rest, and where its key comes from (R18)."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from chatrec.errors import SecretKeyError, StoreError
from chatrec.store.secrets import (
    KEY_VARIABLE,
    PREFIX,
    SecretBox,
    generate_key,
    load_secret_box,
    parse_keys,
)

OLD, NEW, OTHER = generate_key(), generate_key(), generate_key()
SECRET = "p4ss wörd\nwith a second line"


def test_R18_a_secret_is_stored_as_prefixed_ciphertext_and_read_back() -> None:
    box = SecretBox([NEW])
    stored = box.encrypt(SECRET)
    assert stored.startswith(PREFIX)
    assert "p4ss" not in stored
    assert stored != box.encrypt(SECRET)  # a fresh IV each time: equal secrets do not show
    assert box.decrypt(stored) == SECRET
    assert box.is_current(stored)
    assert box.can_decrypt(stored)


def test_R18_another_key_is_refused_with_what_to_do() -> None:
    stored = SecretBox([OTHER]).encrypt(SECRET)
    box = SecretBox([NEW], origin="the key in the key file /srv/chatrec/secret.key")
    with pytest.raises(SecretKeyError) as refused:
        box.decrypt(stored)
    assert isinstance(refused.value, StoreError)
    message = str(refused.value)
    assert "saved with another key than the key in the key file /srv/chatrec/secret." in message
    assert "set CHATREC_SECRET_KEY (or the key file) to the key they were saved with" in message
    assert "chatrec migrate --forget-unreadable-secrets" in message
    assert not box.can_decrypt(stored)
    assert not box.is_current(stored)


@pytest.mark.parametrize(
    "stored",
    [PREFIX + "not a token", PREFIX, PREFIX + "gAAAAAB-tampered"],
    ids=["garbage", "empty", "tampered"],
)
def test_R18_a_damaged_ciphertext_is_refused_not_returned(stored: str) -> None:
    with pytest.raises(SecretKeyError):
        SecretBox([NEW]).decrypt(stored)


def test_R18_the_first_key_encrypts_and_every_key_decrypts() -> None:
    under_old = SecretBox([OLD]).encrypt(SECRET)
    rotating = SecretBox([NEW, OLD])
    assert rotating.decrypt(under_old) == SECRET
    assert not rotating.is_current(under_old)  # a migration re-encrypts it
    under_new = rotating.encrypt(SECRET)
    assert rotating.is_current(under_new)
    assert SecretBox([NEW]).decrypt(under_new) == SECRET
    with pytest.raises(SecretKeyError):
        SecretBox([OLD]).decrypt(under_new)


def test_R18_a_value_without_the_prefix_is_legacy_plain_text() -> None:
    box = SecretBox([NEW])
    assert box.decrypt("saved before encryption") == "saved before encryption"
    assert box.can_decrypt("saved before encryption")
    assert not box.is_current("saved before encryption")


def test_a_box_needs_a_key() -> None:
    with pytest.raises(ValueError, match="at least one key"):
        SecretBox([])


def test_several_keys_are_read_separated_by_commas_or_lines() -> None:
    text = f"# rotated on 2026-11-27\n{NEW}, {OLD}\n\n{OTHER}  # the oldest\n"
    assert parse_keys(text, "the key file k") == [NEW, OLD, OTHER]


@pytest.mark.parametrize(
    ("text", "refusal"),
    [
        ("", "holds no key"),
        ("  # only a comment", "holds no key"),
        ("changeme", "holds a placeholder, not a key"),
        ("<your key here>", "holds a placeholder, not a key"),
        ("${SECRET_KEY}", "holds a placeholder, not a key"),
        ("0123456789abcdef", "holds something that is not a key"),
        (f"{NEW[:-4]}!!!=", "holds something that is not a key"),
        ("A" * 43 + "=", "holds a made-up key, not a random one"),
        (f"{NEW},changeme", "holds a placeholder, not a key"),
    ],
    # Ids without the run's random key: every pytest worker must collect the same tests.
    ids=lambda value: value.replace(NEW, "KEY").replace(NEW[:-4], "KEY")[:60],
)
def test_R18_placeholder_and_invalid_keys_are_refused(text: str, refusal: str) -> None:
    with pytest.raises(ValueError, match=refusal) as refused:
        parse_keys(text, KEY_VARIABLE)
    message = str(refused.value)
    assert message.startswith(KEY_VARIABLE)
    assert "Fernet.generate_key()" in message  # how to make a good one
    if text.strip() and not text.startswith("#"):
        assert text not in message  # never echoed: it may be a real key mistyped


def test_R18_the_key_from_the_environment_wins_over_the_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    box = load_secret_box(f"{NEW},{OLD}", key_file)
    assert box.origin == f"the key in {KEY_VARIABLE}"
    assert SecretBox([NEW]).decrypt(box.encrypt(SECRET)) == SECRET
    assert box.decrypt(SecretBox([OLD]).encrypt(SECRET)) == SECRET
    assert not key_file.exists()


def test_R18_the_first_start_creates_a_private_key_file_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key_file = tmp_path / "data" / "secret.key"
    with caplog.at_level(logging.WARNING, logger="chatrec.store.secrets"):
        box = load_secret_box(None, key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [path.name for path in key_file.parent.iterdir()] == ["secret.key"]
    assert box.origin == f"the key in the key file {key_file}"
    [created] = caplog.messages
    assert f"created the key file {key_file}" in created
    assert "back it up" in created

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="chatrec.store.secrets"):
        again = load_secret_box(None, key_file)
    assert caplog.messages == []
    assert again.decrypt(box.encrypt(SECRET)) == SECRET


def test_R18_a_key_file_others_can_read_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key_file = tmp_path / "secret.key"
    key_file.write_text(NEW + "\n")
    key_file.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="chatrec.store.secrets"):
        load_secret_box(None, key_file)
    assert caplog.messages == [f"the key file {key_file} can be read by other users: chmod 600 it"]


def test_R18_a_key_file_without_a_usable_key_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    key_file.write_text("changeme\n")
    with pytest.raises(ValueError, match=f"the key file {key_file} holds a placeholder"):
        load_secret_box(None, key_file)
