"""``chatrec verify`` on folders written as a delivery writes them (R21)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from chatrec.cli import app
from chatrec.domain.journal import CUSTOMER
from chatrec.domain.render import RecordingFiles, render_recording
from tests.unit.domain.test_manifest import KEY, signed
from tests.unit.domain.test_render import (
    ALICE,
    BASE,
    COMPANY,
    EXPLANATION,
    FLOW_VERDICT,
    ended,
)


def deliver(files: RecordingFiles, folder: Path) -> Path:
    """Every file where the platform gets it; the recording's folder."""
    for file in files.all_files:
        path = folder / file.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(file.content)
    return (folder / files.base_name).parent


def verify(*args: object) -> Result:
    return CliRunner().invoke(app, ["verify", *map(str, args)])


def test_R21_a_delivered_folder_verifies_from_any_of_its_files_with_the_keys_found_above(
    tmp_path: Path,
) -> None:
    day = deliver(signed(), tmp_path / "platform")
    for path in (tmp_path / "platform", day, day / "acme_C1_flow_C1-r1.html"):
        proved = verify(path)
        assert proved.exit_code == 0, proved.output
        assert proved.stdout.startswith(f"OK      {day / 'acme_C1_flow_C1-r1.manifest.json'}")
        assert f"signed by {KEY.public.key_id} at 2026-11-27T11:00:00Z" in proved.stdout
    as_json = json.loads(verify(tmp_path / "platform", "--json").stdout)
    assert as_json["verified"] is True
    assert as_json["keys"] == [KEY.public.key_id]
    assert as_json["recordings"][0]["recording_id"] == "C1-r1"


def test_R21_keys_given_apart_an_unsigned_recording_and_nothing_to_check(tmp_path: Path) -> None:
    day = deliver(signed(), tmp_path / "platform")
    keys = tmp_path / "published"
    (tmp_path / "platform" / "keys").rename(keys)
    assert "unknown key" in verify(day).stdout
    assert verify(day, "--keys", keys).exit_code == 0
    (keys / "broken.json").write_text("{")
    warned = verify(day, "--keys", keys)
    assert (warned.exit_code, "warning: " in warned.stderr) == (0, True)
    (day / "acme_C1_flow_C1-r1.manifest.json").unlink()
    unsigned = verify(day, "--keys", keys)
    assert unsigned.exit_code == 1
    assert "no manifest beside it: this recording is not signed" in unsigned.stdout
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = verify(empty)
    assert (nothing.exit_code, nothing.stdout) == (1, f"no recordings found under {empty}\n")
    missing = verify(tmp_path / "nowhere")
    assert missing.exit_code == 2
    assert "no such file or folder" in missing.stderr


def test_R21_R23_a_missing_or_changed_attachment_is_named_and_an_unlisted_one_is_extra(
    tmp_path: Path,
) -> None:
    photo = b"\x89PNG\r\n\x1a\n photo"
    journal = ended(lambda c: c.assign(ALICE).attaches(CUSTOMER, "A1", "photo.png", photo))
    rendered = render_recording(COMPANY, journal, FLOW_VERDICT, EXPLANATION, BASE, {"A1": photo})
    files = signed(journal, rendered=rendered)
    day = deliver(files, tmp_path / "platform")
    name = "acme_C1_flow_C1-r1.att1-photo.png"
    assert (day / name).read_bytes() == photo
    assert verify(day).exit_code == 0
    (day / name).write_bytes(photo.replace(b"photo", b"phono"))
    (day / "acme_C1_flow_C1-r1.att2-card.png").write_bytes(photo)
    changed = verify(day, "--json")
    assert changed.exit_code == 1
    assert json.loads(changed.stdout)["recordings"][0]["problems"] == [
        f"file {name} has changed bytes (same size, different bytes)",
        "extra file acme_C1_flow_C1-r1.att2-card.png: not in the signed manifest",
    ]
    (day / name).unlink()
    assert f"missing file {name}" in verify(day).stdout
