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
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
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
    starts = dict.fromkeys(
        path.resolve() if path.is_dir() else path.resolve().parent for path in paths
    )
    found: dict[Path, None] = {}
    for start in starts:
        for folder in (start, *start.parents):
            candidate = folder / KEYS_FOLDER
            if candidate not in found and candidate.is_dir():
                found[candidate] = None
    return list(found)


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


def _listed_names(manifest: Path) -> set[str]:
    """The names a manifest lists; none for one that cannot be read (its own check says
    why)."""
    try:
        return {str(entry["name"]) for entry in json.loads(manifest.read_bytes())["files"]}
    except (OSError, ValueError, TypeError, KeyError):
        return set()


@dataclass(frozen=True, slots=True)
class _Folder:
    """A folder of deliveries, listed once and its manifests read once, however many
    recordings it holds: done per manifest, a day's folder cost the square of its size."""

    by_base: dict[str, list[str]]
    """Each file's name under every prefix it has before a dot: ``a.b.json`` under ``a``
    and ``a.b``, so a recording's files are found by its base."""
    listers: dict[str, set[str]]
    """Each name a manifest lists, and the manifests that list it."""

    @classmethod
    def read(cls, folder: Path) -> _Folder:
        by_base: defaultdict[str, list[str]] = defaultdict(list)
        listers: defaultdict[str, set[str]] = defaultdict(set)
        for path in folder.iterdir():
            if not path.is_file():
                continue
            name = path.name
            for at, char in enumerate(name):
                if char == ".":
                    by_base[name[:at]].append(name)
            if name.endswith(MANIFEST_EXTENSION):
                for listed in _listed_names(path):
                    listers[listed].add(name)
        return cls(by_base, listers)


def check_recording(manifest: Path, keys: Keys, folder: _Folder | None = None) -> Verdict:
    """One recording, by its manifest and the files beside it (``folder``: its folder
    as read already)."""
    base = manifest.name[: -len(MANIFEST_EXTENSION)]
    try:
        content = manifest.read_bytes()
        listed = {str(entry["name"]) for entry in json.loads(content).get("files", [])}
    except (OSError, ValueError, AttributeError, TypeError, KeyError) as error:
        return Verdict(manifest, (f"the manifest cannot be read: {error}",))
    where = manifest.parent
    folder = folder or _Folder.read(where)
    files = {name: (where / name).read_bytes() for name in listed if (where / name).is_file()}
    extra = [
        name
        for name in folder.by_base.get(base, ())
        if name not in listed
        # A name another manifest lists is another recording's, whose base starts as
        # this one's does; never this one's addition.
        and not folder.listers.get(name, set()) - {manifest.name}
        and name != manifest.name
        and not name.endswith((_DONE_MARKER, MANIFEST_EXTENSION))
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
    folders: dict[Path, _Folder] = {}
    verdicts = []
    for manifest in manifests:
        if manifest.parent not in folders:
            folders[manifest.parent] = _Folder.read(manifest.parent)
        verdicts.append(check_recording(manifest, keys, folders[manifest.parent]))
    verdicts += [
        Verdict(sidecar, ("no manifest beside it: this recording is not signed",))
        for _, unsigned in found
        for sidecar in unsigned
    ]
    return verdicts, keys
