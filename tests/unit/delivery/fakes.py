"""A recording fake uploader, a settable clock and a fixed random draw for worker tests.

The fake keeps a "remote" (name -> bytes) as an SFTP platform would after atomic
renames: a name, once there, is never given different bytes (asserted on each write).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chatrec.delivery.model import Destination, RecordingUpload, UploadItem
from chatrec.delivery.sftp.transfer import Source
from chatrec.errors import FileDeliveryError

# What the fake does with one upload call: raise for the whole destination, or return
# an error for some delivery ids (None lets the file through).
Script = Callable[[Destination, Sequence[RecordingUpload]], dict[int, BaseException] | None]


@dataclass
class FakeClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class FixedRandom:
    draw: float = 0.5

    def random(self) -> float:
        return self.draw


@dataclass
class FakeUploader:
    """Writes the items' bytes into ``remote`` unless ``script`` says otherwise; an item
    without its bytes fails as it does in the real uploader (``Source.open_item``)."""

    script: Script | None = None
    remote: dict[str, bytes] = field(default_factory=dict)
    calls: list[tuple[str, list[RecordingUpload]]] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    closed: bool = False

    def put(self, folder: str, name: str, content: bytes) -> None:
        key = f"{folder}/{name}"
        assert self.remote.get(key, content) == content, f"{key} overwritten with other bytes"
        self.remote[key] = content
        self.writes.append(key)

    def put_item(self, folder: str, item: UploadItem) -> BaseException | None:
        try:
            source = Source.open_item(item)
        except FileDeliveryError as error:
            return error
        self.put(folder, item.remote_path, source.stream.read())
        return None

    async def upload(
        self, destination: Destination, recordings: Sequence[RecordingUpload]
    ) -> dict[int, BaseException | None]:
        self.calls.append((destination.company_id, list(recordings)))
        failing: dict[int, BaseException] = {}
        if self.script is not None:
            failing = self.script(destination, recordings) or {}
        results: dict[int, BaseException | None] = {}
        for recording in recordings:
            for item in recording.files:
                error = failing.get(item.delivery_id)
                results[item.delivery_id] = error or self.put_item(destination.folder, item)
            sidecar = recording.sidecar
            if sidecar is None:
                continue
            if any(results[item.delivery_id] is not None for item in recording.files):
                results[sidecar.delivery_id] = FileDeliveryError("not attempted: data failed")
                continue
            error = failing.get(sidecar.delivery_id)
            results[sidecar.delivery_id] = error or self.put_item(destination.folder, sidecar)
            if results[sidecar.delivery_id] is None and recording.done_marker_path:
                self.put(destination.folder, recording.done_marker_path, b"")
        return results

    async def close(self) -> None:
        self.closed = True
