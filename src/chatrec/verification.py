"""Checking delivered recordings offline, with the company's public keys alone (R21).

What ``chatrec verify`` runs on a QA machine: no database, no server, no network.  It
finds every signed manifest under the paths given (a folder of deliveries, or one
recording's file), reads the public keys from ``keys/`` folders beside them or given
with ``--keys``, and for each recording says OK or exactly what differs
(:func:`chatrec.domain.manifest.check_manifest`).  A recording delivered without a
manifest is reported as unsigned, never as verified.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from glob import escape as glob_escape
from pathlib import Path

from chatrec.domain.manifest import KEYS_FOLDER, MANIFEST_EXTENSION, PublicKey, check_manifest
from chatrec.domain.render import EXTENSIONS, SIDECAR_EXTENSION

# The endings a file of a recording can have beside its base name: how a recording is
# found from one of its files.
_RECORDING_ENDINGS = (*EXTENSIONS.values(), SIDECAR_EXTENSION)
# Written after the recording by platforms that want one (``delivery.worker``): never
# signed, never an addition.
_DONE_MARKER = ".done"


@dataclass(frozen=True, slots=True)
class Verdict:
    """One recording's check: where, what it is, and what differs (nothing: it verifies)."""

    path: Path
    problems: tuple[str, ...]
    recording_id: str | None = None
    chat_id: str | None = None
    key_id: str | None = None
    signed_at: str | None = None

    @property
    def verified(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "verified": self.verified,
            "recording_id": self.recording_id,
            "chat_id": self.chat_id,
            "key_id": self.key_id,
            "signed_at": self.signed_at,
            "problems": list(self.problems),
        }


@dataclass
class Keys:
    """The public keys found, by id, and the key files that could not be read."""

    by_id: dict[str, PublicKey] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def read(self, folder: Path) -> None:
        for path in sorted(folder.glob("*.json")):
            try:
                key = PublicKey.from_json(json.loads(path.read_bytes()))
            except ValueError as error:  # json's errors are ValueErrors too
                self.problems.append(f"{path}: {error}")
                continue
            self.by_id[key.key_id] = key


def key_folders(paths: Iterable[Path]) -> list[Path]:
    """Every ``keys`` folder in the given folders or above them: where a delivery puts
    them, at the destination folder's top."""
    found: list[Path] = []
    for path in paths:
        start = path.resolve() if path.is_dir() else path.resolve().parent
        for folder in (start, *start.parents):
            candidate = folder / KEYS_FOLDER
            if candidate.is_dir() and candidate not in found:
                found.append(candidate)
    return found


def _manifests(path: Path) -> tuple[list[Path], list[Path]]:
    """The manifests under ``path``, and the sidecars there that have none."""
    if path.is_file():
        name = path.name
        if name.endswith(MANIFEST_EXTENSION):
            return [path], []
        base = next((name[: -len(e)] for e in _RECORDING_ENDINGS if name.endswith(e)), name)
        manifest = path.with_name(base + MANIFEST_EXTENSION)
        return ([manifest], []) if manifest.is_file() else ([], [path])
    manifests = sorted(p for p in path.rglob("*" + MANIFEST_EXTENSION) if p.is_file())
    signed = {p.name[: -len(MANIFEST_EXTENSION)] + SIDECAR_EXTENSION for p in manifests}
    unsigned = sorted(
        p
        for p in path.rglob("*" + SIDECAR_EXTENSION)
        if p.is_file() and KEYS_FOLDER not in p.parts and p.name not in signed
    )
    return manifests, unsigned


def _listed_by_other_manifests(manifest: Path) -> set[str]:
    """Names the other manifests of the folder list: another recording's whose base
    starts as this one's does, never this one's additions."""
    names: set[str] = set()
    for other in manifest.parent.glob("*" + MANIFEST_EXTENSION):
        if other == manifest:
            continue
        try:
            names.update(str(entry["name"]) for entry in json.loads(other.read_bytes())["files"])
        except (OSError, ValueError, TypeError, KeyError):
            continue
    return names


def check_recording(manifest: Path, keys: Keys) -> Verdict:
    """One recording, by its manifest and the files beside it."""
    folder = manifest.parent
    base = manifest.name[: -len(MANIFEST_EXTENSION)]
    try:
        content = manifest.read_bytes()
        listed = {str(entry["name"]) for entry in json.loads(content).get("files", [])}
    except (OSError, ValueError, AttributeError, TypeError, KeyError) as error:
        return Verdict(manifest, (f"the manifest cannot be read: {error}",))
    files = {name: (folder / name).read_bytes() for name in listed if (folder / name).is_file()}
    others = _listed_by_other_manifests(manifest)
    extra = [
        path.name
        for path in folder.glob(glob_escape(base) + ".*")
        if path.is_file()
        and path.name not in listed
        and path.name not in others
        and path != manifest
        and not path.name.endswith((_DONE_MARKER, MANIFEST_EXTENSION))
    ]
    found, problems = check_manifest(content, files, extra, keys.by_id)
    if found is None:
        return Verdict(manifest, tuple(problems))
    return Verdict(
        manifest,
        tuple(problems),
        recording_id=found.get("recording_id"),
        chat_id=found.get("chat_id"),
        key_id=found.get("key_id"),
        signed_at=found.get("signed_at"),
    )


def verify_paths(
    paths: Sequence[Path], key_dirs: Sequence[Path] = ()
) -> tuple[list[Verdict], Keys]:
    """Every recording under ``paths``, checked with the keys of ``key_dirs`` and of the
    ``keys`` folders in or above the paths and the manifests."""
    found = [_manifests(path) for path in paths]
    manifests = [manifest for listed, _ in found for manifest in listed]
    keys = Keys()
    for folder in [*key_dirs, *key_folders([*paths, *manifests])]:
        keys.read(folder)
    verdicts = [check_recording(manifest, keys) for manifest in manifests]
    verdicts += [
        Verdict(sidecar, ("no manifest beside it: this recording is not signed",))
        for _, unsigned in found
        for sidecar in unsigned
    ]
    return verdicts, keys
