"""docs/verification.md's test vector, checked by a verifier written from that page alone
(R21): only json, hashlib, base64 and cryptography, nothing of chatrec's manifests."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from typer.testing import CliRunner

from chatrec.cli import app

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "docs" / "examples"
MANIFEST = EXAMPLES / "2026-11-27" / "Acme_Insurance_C1001_agent_C1001-r2.manifest.json"
DOC = (ROOT / "docs" / "verification.md").read_text(encoding="utf-8")


def jcs(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def independent_verify(manifest_path: Path, keys_folder: Path) -> list[str]:
    """Steps 1 to 5 of docs/verification.md."""
    manifest = json.loads(manifest_path.read_bytes())
    signature = base64.b64decode(manifest.pop("signature")["value"])
    keys = [json.loads(p.read_bytes()) for p in keys_folder.glob("*.json")]
    key = next(k for k in keys if k["key_id"] == manifest["key_id"])
    raw = base64.b64decode(key["public_key"])
    problems = []
    if "ed25519-" + hashlib.sha256(raw).hexdigest()[:16] != key["key_id"]:
        problems.append("key id")
    signed_at = when(manifest["signed_at"])
    until = key["valid_until"]
    if key["company_id"] != manifest["company_id"] or not (
        when(key["valid_from"]) <= signed_at and (until is None or signed_at < when(until))
    ):
        problems.append("validity")
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(signature, jcs(manifest))
    except InvalidSignature:
        problems.append("signature")
    folder = manifest_path.parent
    for entry in manifest["files"]:
        path = folder / entry["name"]
        if not path.is_file():
            problems.append(f"missing {entry['name']}")
            continue
        content = path.read_bytes()
        if len(content) != entry["size"] or hashlib.sha256(content).hexdigest() != entry["sha256"]:
            problems.append(f"changed {entry['name']}")
    listed = {entry["name"] for entry in manifest["files"]} | {manifest_path.name}
    base = manifest["base"] + "."
    problems += [
        f"extra {p.name}"
        for p in sorted(folder.iterdir())
        if p.name.startswith(base) and p.name not in listed and not p.name.endswith(".done")
    ]
    return problems


def test_R21_the_test_vector_verifies_with_chatrec_and_with_a_verifier_from_the_doc() -> None:
    assert independent_verify(MANIFEST, EXAMPLES / "keys") == []
    proved = CliRunner().invoke(app, ["verify", str(EXAMPLES)])
    assert proved.exit_code == 0, proved.output
    manifest = json.loads(MANIFEST.read_bytes())
    for value in (manifest["key_id"], manifest["signed_at"], manifest["journal"]["head"]):
        assert value in DOC  # the page names what the vector holds
    signature = manifest.pop("signature")["value"]
    canonical = jcs(manifest)
    assert canonical.decode().startswith(DOC.split("begin\n`")[1].split("`")[0])
    test_key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))  # as the page says
    assert base64.b64encode(test_key.sign(canonical)).decode() == signature


def test_R21_a_byte_changed_in_the_test_vector_is_caught_by_both(tmp_path: Path) -> None:
    copy = tmp_path / "examples"
    shutil.copytree(EXAMPLES, copy)
    text = copy / "2026-11-27" / "Acme_Insurance_C1001_agent_C1001-r2.txt"
    text.write_bytes(text.read_bytes().replace(b"Alice", b"Alicf", 1))
    manifest = copy / MANIFEST.relative_to(EXAMPLES)
    assert independent_verify(manifest, copy / "keys") == [f"changed {text.name}"]
    caught = CliRunner().invoke(app, ["verify", str(copy)])
    assert caught.exit_code == 1
    assert f"file {text.name} has changed bytes (same size, different bytes)" in caught.stdout
