"""What the outbox worker hands the uploader, and what the uploader promises (R16).

The worker (``delivery/worker.py``) claims recording files from the store's outbox and
groups them by recording; the uploader (``delivery/sftp/``) puts them on the
platform.  This module is the narrow interface between the two, so the uploader can be
tested against a real ``sshd`` without the store and the worker without a network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Destination:
    """A company's recording platform.

    ``host_key`` is the pinned server key in known_hosts form (``ssh-ed25519 AAAA…``,
    optionally preceded by host patterns); an unknown or different key is a refusal,
    never a prompt (R16).  Exactly one of ``password`` and ``private_key`` (OpenSSH or
    PEM text) is set.  ``folder`` is the remote root under which recording paths go.
    """

    company_id: str
    host: str
    port: int
    username: str
    folder: str
    host_key: str
    password: str | None = None
    private_key: str | None = None
    done_marker: bool = False
    max_connections: int = 2
    concurrency: int = 16
    timeout_seconds: float = 30.0
    verify_after_rename: bool = True


@dataclass(frozen=True, slots=True)
class UploadItem:
    """One recording file to put at ``remote_path`` (relative to the destination folder).

    ``content`` is its bytes as the database holds them, checked against ``size`` and
    ``sha256`` (recorded when it was rendered) as they are sent; ``None`` when the
    database holds none (see ``store/migrations/versions/rev_0010``): an upload that
    needs them fails that file alone, saying so.
    """

    delivery_id: int
    remote_path: str
    content: bytes | None = field(repr=False)
    size: int
    sha256: str
    first_attempt: bool = False
    """No earlier attempt can have put it in place, so the uploader need not look first
    (one SFTP request less per file); a retry always looks, and skips what is there."""


@dataclass(frozen=True, slots=True)
class RecordingUpload:
    """One recording's files: the data files first, then the sidecar, then the marker.

    The sidecar is written only once every data file is in place, and the done-marker
    (``<base>.done``, empty) only after the sidecar, so a platform that indexes by
    sidecar or waits for a marker never sees a recording half delivered.
    """

    recording_id: str
    files: tuple[UploadItem, ...]
    sidecar: UploadItem | None
    done_marker_path: str | None = None


class Uploader(Protocol):
    async def upload(
        self, destination: Destination, recordings: Sequence[RecordingUpload]
    ) -> dict[int, BaseException | None]:
        """Put the recordings on the destination; per delivery id, ``None`` or the error.

        Raises a :class:`~chatrec.errors.DeliveryError` subclass when the destination as
        a whole fails (connection, authentication, host key); per-file problems are
        returned in their slot so one bad file never blocks the others.
        """
        ...

    async def close(self) -> None: ...
