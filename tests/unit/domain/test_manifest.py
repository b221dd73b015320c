"""Signed manifests: a recording proved with the company's public key alone (R21)."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings

from chatrec.domain.chain import GENESIS, chain_events
from chatrec.domain.decision import decide_recordings
from chatrec.domain.journal import Journal
from chatrec.domain.manifest import (
    PublicKey,
    SigningKey,
    check_manifest,
    key_id_of,
    sign_manifest,
    sign_recording,
)
from chatrec.domain.production import produce_files
from chatrec.domain.render import RecordingFiles
from tests.unit.domain.builders import T0, company
from tests.unit.domain.strategies import journals
from tests.unit.domain.test_render import FLOW_VERDICT, FULL, render

COMPANY = company()
KEY = SigningKey.of("acme", bytes(range(32)), T0 - timedelta(days=1))
OTHER = SigningKey.of("acme", bytes(range(1, 33)), T0 - timedelta(days=1))
KEYS = {KEY.public.key_id: KEY.public}


def head(journal: Journal) -> bytes:
    numbered = list(enumerate(journal.events, start=1))
    return chain_events(journal.chat_id, GENESIS, numbered)[-1][1]


def signed(
    journal: Journal = FULL,
    key: SigningKey = KEY,
    journal_problems: tuple[str, ...] = (),
    rendered: RecordingFiles | None = None,
) -> RecordingFiles:
    """The journal's flow recording (or ``rendered``, its files) signed with ``key``."""
    return sign_recording(
        rendered or render(journal),
        FLOW_VERDICT,
        company_id="acme",
        chat_id=journal.chat_id,
        journal_events=len(journal.events),
        journal_head=head(journal),
        key=key,
        published=[key.public],
        signed_at=T0 + timedelta(hours=1),
        journal_problems=journal_problems,
    )


def check(
    files: RecordingFiles, keys: dict[str, PublicKey] = KEYS, **changed: bytes | None
) -> list[str]:
    """The recording's check as delivered, with files replaced (bytes) or gone (None)."""
    manifest = files.signed[0]
    delivered = {file.name: file.content for file in files.all_files if file not in files.signed}
    for name, content in changed.items():
        if content is None:
            delivered.pop(name)
        else:
            delivered[name] = content
    extra = [name for name in delivered if name not in {f.name for f in files.all_files}]
    return check_manifest(manifest.content, delivered, extra, keys)[1]


def test_R21_a_signed_recording_verifies_and_its_manifest_says_what_was_signed() -> None:
    files = signed()
    manifest_file, key_file = files.signed
    assert manifest_file.path == "2026-11-27/acme_C1_flow_C1-r1.manifest.json"
    assert key_file.path == f"keys/{KEY.public.key_id}.json"
    assert files.all_files[-1] is files.sidecar  # the sidecar still goes last
    manifest, problems = check_manifest(manifest_file.content, {}, [], KEYS)
    assert manifest is not None
    assert {k: manifest[k] for k in ("recording_id", "chat_id", "base", "key_id")} == {
        "recording_id": "C1-r1",
        "chat_id": "C1",
        "base": "acme_C1_flow_C1-r1",
        "key_id": KEY.public.key_id,
    }
    assert manifest["decision"] == {"outcome": "produced", "rule": "R5b"}
    assert manifest["journal"] == {"events": len(FULL.events), "head": head(FULL).hex()}
    assert [f["name"] for f in manifest["files"]] == [f.name for f in render(FULL).all_files]
    assert problems == [f"missing file {f.name}" for f in render(FULL).files] + [
        "missing the sidecar acme_C1_flow_C1-r1.meta.json"
    ]
    assert check(files) == []


def test_R21_every_kind_of_tampering_is_named() -> None:
    files = signed()
    text, sidecar = "acme_C1_flow_C1-r1.txt", "acme_C1_flow_C1-r1.meta.json"
    original = {f.name: f.content for f in files.all_files}
    assert check(files, **{text: None}) == [f"missing file {text}"]
    assert check(files, **{"acme_C1_flow_C1-r1.pdf": b"%PDF"}) == [
        "extra file acme_C1_flow_C1-r1.pdf: not in the signed manifest"
    ]
    assert check(files, **{text: original[text].replace(b"Welcome", b"Welcame")}) == [
        f"file {text} has changed bytes (same size, different bytes)"
    ]
    assert check(files, **{sidecar: original[sidecar] + b"\n"}) == [
        f"the sidecar {sidecar} was edited ({len(original[sidecar]) + 1} bytes, "
        f"not {len(original[sidecar])})"
    ]


def manifest_with(files: RecordingFiles, **fields: object) -> RecordingFiles:
    """The recording with its manifest's fields changed after signing."""
    manifest = json.loads(files.signed[0].content)
    manifest.update(fields)
    content = json.dumps(manifest).encode()
    return replace(files, signed=(replace(files.signed[0], content=content), *files.signed[1:]))


def test_R21_a_manifest_changed_or_signed_by_an_unknown_or_expired_key_is_refused() -> None:
    files = signed()
    assert check(manifest_with(files, chat_id="C2")) == [
        f"bad signature: the manifest was changed after key {KEY.public.key_id} signed it, "
        "or that key did not sign it"
    ]
    assert check(files, keys={}) == [
        f"unknown key {KEY.public.key_id}: no published key has this id"
    ]
    other = signed(key=OTHER)
    forged = manifest_with(other, key_id=KEY.public.key_id)  # claims the company's key
    assert check(forged)[0].startswith("bad signature")
    globex = {KEY.public.key_id: replace(KEY.public, company_id="globex")}
    assert check(files, keys=globex) == [f"key {KEY.public.key_id} is company globex's, not acme's"]
    rotated = replace(KEY.public, valid_until=T0)  # before the recording was signed
    assert check(files, keys={KEY.public.key_id: rotated}) == [
        f"key {KEY.public.key_id} used outside its validity: signed at 2026-11-27T11:00:00Z, "
        f"valid from 2026-11-26T10:00:00Z until 2026-11-27T10:00:00Z"
    ]
    assert check(manifest_with(files, signature="none")) == [
        "the manifest cannot be read: string indices must be integers, not 'str'"
    ]
    with pytest.raises(ValueError, match="another key"):
        sign_manifest(json.loads(files.signed[0].content), OTHER.private)


def test_R21_a_recording_signed_before_a_rotation_verifies_with_the_old_key_after_it() -> None:
    files = signed()
    old = replace(KEY.public, valid_until=T0 + timedelta(days=2))
    new = SigningKey.of("acme", bytes(range(2, 34)), T0 + timedelta(days=2)).public
    assert check(files, keys={old.key_id: old, new.key_id: new}) == []


def test_R21_a_key_document_is_read_back_and_a_wrong_one_refused() -> None:
    document = KEY.public.to_json()
    assert PublicKey.from_json(document) == KEY.public
    assert document["key_id"] == key_id_of(KEY.public.public_key)
    assert document["valid_from"] == "2026-11-26T10:00:00Z"
    assert document["valid_until"] is None
    for wrong, problem in [
        ({"algorithm": "RSA"}, "algorithm 'RSA' is not Ed25519"),
        ({"public_key": base64.b64encode(b"short").decode()}, "an Ed25519 public key has 32"),
        ({"public_key": "not base64!"}, "not a chatrec key document"),
        ({"key_id": "ed25519-0000000000000000"}, "is not the id of its key"),
        ({"valid_from": None}, "not a chatrec key document"),
        ({"valid_from": "2026-11-26T10:00:00"}, "has no time zone"),
    ]:
        with pytest.raises(ValueError, match=problem):
            PublicKey.from_json({**document, **wrong})
    with pytest.raises(ValueError, match="not a chatrec key document"):
        PublicKey.from_json({"key_id": document["key_id"]})


@settings(max_examples=40)
@given(journals())
def test_R21_every_produced_recording_of_any_chat_verifies(journal: Journal) -> None:
    decision = decide_recordings(COMPANY, journal)
    verdicts = {v.recording.recording_id: v for v in decision.produced}
    for files in produce_files(COMPANY, journal, decision):
        proved = sign_recording(
            files,
            verdicts[files.recording_id],
            company_id="acme",
            chat_id=journal.chat_id,
            journal_events=len(journal.events),
            journal_head=head(journal),
            key=KEY,
            published=[KEY.public],
            signed_at=T0,
        )
        assert check(proved) == []


def test_R21_a_recording_made_from_a_journal_that_did_not_verify_says_so_when_checked() -> None:
    files = signed(journal_problems=("event 3 differs from what was committed",))
    assert json.loads(files.signed[0].content)["journal"]["problems"] == [
        "event 3 differs from what was committed"
    ]
    assert check(files) == [
        "the chat's journal did not verify against its hash chain when this recording was "
        "made: event 3 differs from what was committed"
    ]
