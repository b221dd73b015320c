"""Signed manifests: what the QA side checks a delivered recording against (R21).

Beside each recording's files is ``<base>.manifest.json``: the recording and chat ids,
the decision, every file's name, size and SHA-256 (the sidecar's too), the head of the
chat's hash chain (:mod:`chatrec.domain.chain`) and the id of the company key that
signed it, with an Ed25519 signature over all of that in canonical JSON.  Checking it
needs the manifest, the files and the company's public key, nothing of the server's.

This module builds, signs and checks manifests; reading folders is
:mod:`chatrec.verification`'s.  ``docs/verification.md`` describes the same algorithm
for QA teams who write their own verifier.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from chatrec.domain.chain import canonical_json
from chatrec.domain.decision import Verdict
from chatrec.domain.render import SIDECAR_EXTENSION
from chatrec.domain.render.document import iso
from chatrec.domain.render.files import RecordingFiles, RenderedFile
from chatrec.domain.render.json_format import dump_json

MANIFEST_EXTENSION = ".manifest.json"
MANIFEST_FORMAT = "manifest"
KEY_FORMAT = "key"
KEYS_FOLDER = "keys"
MEDIA_TYPE = "application/json"
MANIFEST_VERSION = 1
ALGORITHM = "Ed25519"
KEY_ID_PREFIX = "ed25519-"


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id_of(public_key: bytes) -> str:
    """A key's id: named by its own bytes, so a key file cannot claim another key's id."""
    return KEY_ID_PREFIX + hashlib.sha256(public_key).hexdigest()[:16]


def _iso(at: datetime | None) -> str | None:
    return None if at is None else iso(at)


def _parse_iso(text: str | None) -> datetime | None:
    return None if text is None else _aware(datetime.fromisoformat(text.replace("Z", "+00:00")))


def _aware(at: datetime) -> datetime:
    """A time without its zone is refused: validity is compared across machines."""
    if at.tzinfo is None:
        raise ValueError(f"the time {at.isoformat()} has no time zone")
    return at


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A company's public signing key and when it signed (R21): published and delivered."""

    company_id: str
    public_key: bytes
    valid_from: datetime
    valid_until: datetime | None = None

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_key)

    def to_json(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "company_id": self.company_id,
            "algorithm": ALGORITHM,
            "public_key": base64.b64encode(self.public_key).decode("ascii"),
            "valid_from": _iso(self.valid_from),
            "valid_until": _iso(self.valid_until),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PublicKey:
        """A key document as published; :class:`ValueError` says what is wrong with it."""
        try:
            if data["algorithm"] != ALGORITHM:
                raise ValueError(f"algorithm {data['algorithm']!r} is not {ALGORITHM}")
            raw = base64.b64decode(data["public_key"], validate=True)
            if len(raw) != 32:
                raise ValueError("an Ed25519 public key has 32 bytes")
            valid_from = _parse_iso(data["valid_from"])
            if valid_from is None:
                raise ValueError("valid_from is missing")
            key = cls(
                company_id=str(data["company_id"]),
                public_key=raw,
                valid_from=valid_from,
                valid_until=_parse_iso(data.get("valid_until")),
            )
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise ValueError(f"not a chatrec key document: {error}") from None
        if data.get("key_id") != key.key_id:
            raise ValueError(f"key_id {data.get('key_id')!r} is not the id of its key")
        return key

    def valid_at(self, at: datetime) -> bool:
        return self.valid_from <= at and (self.valid_until is None or at < self.valid_until)


@dataclass(frozen=True, slots=True)
class ManifestFile:
    name: str
    size: int
    sha256: str


def build_manifest(
    *,
    company_id: str,
    chat_id: str,
    recording_id: str,
    base: str,
    decision: Mapping[str, str],
    journal_events: int,
    journal_head: bytes,
    files: Sequence[ManifestFile],
    key_id: str,
    signed_at: datetime,
    journal_problems: Sequence[str] = (),
) -> dict[str, Any]:
    """The manifest's signed fields (R21); a journal that did not verify against its
    chain when the recording was made says so, in ``journal.problems``."""
    journal: dict[str, Any] = {"events": journal_events, "head": journal_head.hex()}
    if journal_problems:
        journal["problems"] = list(journal_problems)
    return {
        "manifest_version": MANIFEST_VERSION,
        "company_id": company_id,
        "chat_id": chat_id,
        "recording_id": recording_id,
        "base": base,
        "decision": dict(decision),
        "journal": journal,
        "files": [{"name": f.name, "size": f.size, "sha256": f.sha256} for f in files],
        "key_id": key_id,
        "signed_at": _iso(signed_at),
    }


def signed_bytes(manifest: Mapping[str, Any]) -> bytes:
    """What the signature covers: every field but the signature, canonical JSON."""
    return canonical_json({key: value for key, value in manifest.items() if key != "signature"})


def sign_manifest(manifest: Mapping[str, Any], key: Ed25519PrivateKey) -> bytes:
    """The manifest file: its fields and their signature, indented for people."""
    if manifest["key_id"] != key_id_of(raw_public_key(key.public_key())):
        raise ValueError("the manifest names another key than the one signing it")
    signature = key.sign(signed_bytes(manifest))
    signed = {
        **manifest,
        "signature": {
            "algorithm": ALGORITHM,
            "value": base64.b64encode(signature).decode("ascii"),
        },
    }
    return dump_json(signed)


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A company's current key: the private part signs, the public part is published."""

    public: PublicKey
    private: Ed25519PrivateKey

    @classmethod
    def of(cls, company_id: str, private: bytes, valid_from: datetime) -> SigningKey:
        key = Ed25519PrivateKey.from_private_bytes(private)
        public = PublicKey(company_id, raw_public_key(key.public_key()), valid_from)
        return cls(public, key)


def new_private_key() -> bytes:
    """A fresh Ed25519 private key, raw (32 bytes)."""
    return Ed25519PrivateKey.generate().private_bytes_raw()


def key_file(key: PublicKey) -> RenderedFile:
    """The key's document as delivered beside the recordings: ``keys/<key id>.json``."""
    content = dump_json(key.to_json())
    return RenderedFile(f"{KEYS_FOLDER}/{key.key_id}.json", KEY_FORMAT, MEDIA_TYPE, content)


def sign_recording(
    files: RecordingFiles,
    verdict: Verdict,
    *,
    company_id: str,
    chat_id: str,
    journal_events: int,
    journal_head: bytes,
    key: SigningKey,
    published: Sequence[PublicKey],
    signed_at: datetime,
    journal_problems: Sequence[str] = (),
) -> RecordingFiles:
    """The recording with its signed manifest and the company's public keys (R21)."""
    manifest = build_manifest(
        company_id=company_id,
        chat_id=chat_id,
        recording_id=files.recording_id,
        base=files.base_name.rsplit("/", 1)[-1],
        decision={"outcome": verdict.outcome.value, "rule": verdict.rule},
        journal_events=journal_events,
        journal_head=journal_head,
        files=[ManifestFile(f.name, f.size, f.sha256) for f in files.all_files],
        key_id=key.public.key_id,
        signed_at=signed_at,
        journal_problems=journal_problems,
    )
    signed = RenderedFile(
        files.base_name + MANIFEST_EXTENSION,
        MANIFEST_FORMAT,
        MEDIA_TYPE,
        sign_manifest(manifest, key.private),
    )
    return replace(files, signed=(signed, *map(key_file, published)))


# -- checking ----------------------------------------------------------------------------


def check_manifest(
    content: bytes,
    files: Mapping[str, bytes],
    extra: Sequence[str],
    keys: Mapping[str, PublicKey],
) -> tuple[dict[str, Any] | None, list[str]]:
    """The manifest and what differs from it, in words (empty: the recording verifies).

    ``files`` are the bytes of the files found beside the manifest under the names it
    lists, ``extra`` the names of files found there that belong to the recording by
    their name yet are not listed.
    """
    try:
        manifest = json.loads(content)
        signature = base64.b64decode(manifest["signature"]["value"], validate=True)
        listed = [
            ManifestFile(f["name"], int(f["size"]), str(f["sha256"])) for f in manifest["files"]
        ]
        key_id = str(manifest["key_id"])
        signed_at = _parse_iso(manifest["signed_at"])
    except (ValueError, KeyError, TypeError) as error:
        return None, [f"the manifest cannot be read: {error}"]
    problems: list[str] = []
    key = keys.get(key_id)
    if key is None:
        problems.append(f"unknown key {key_id}: no published key has this id")
    else:
        try:
            Ed25519PublicKey.from_public_bytes(key.public_key).verify(
                signature, signed_bytes(manifest)
            )
        except InvalidSignature:
            problems.append(
                f"bad signature: the manifest was changed after key {key_id} signed it, "
                "or that key did not sign it"
            )
        if key.company_id != manifest.get("company_id"):
            problems.append(
                f"key {key_id} is company {key.company_id}'s, not {manifest.get('company_id')}'s"
            )
        if signed_at is None or not key.valid_at(signed_at):
            until = _iso(key.valid_until) or "now"
            problems.append(
                f"key {key_id} used outside its validity: signed at {_iso(signed_at)}, "
                f"valid from {_iso(key.valid_from)} until {until}"
            )
    for entry in listed:
        found = files.get(entry.name)
        what = "the sidecar" if entry.name.endswith(SIDECAR_EXTENSION) else "file"
        if found is None:
            problems.append(f"missing {what} {entry.name}")
        elif len(found) != entry.size or hashlib.sha256(found).hexdigest() != entry.sha256:
            change = (
                f"{len(found)} bytes, not {entry.size}"
                if len(found) != entry.size
                else "same size, different bytes"
            )
            verb = "was edited" if what == "the sidecar" else "has changed bytes"
            problems.append(f"{what} {entry.name} {verb} ({change})")
    problems += [f"extra file {name}: not in the signed manifest" for name in sorted(extra)]
    journal = manifest.get("journal")
    if isinstance(journal, dict) and journal.get("problems"):
        problems.append(
            "the chat's journal did not verify against its hash chain when this recording "
            f"was made: {'; '.join(map(str, journal['problems']))}"
        )
    return manifest, problems
