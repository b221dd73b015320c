"""Which open staff sockets an access notice closes (``live.staff_sockets``, issue 16.1)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from chatrec.live.bus import InProcessFanout
from chatrec.live.staff_sockets import StaffSockets
from chatrec.services.access import CredentialKind
from chatrec.services.revocation import AccessEnded, Revocations


@dataclass(eq=False)
class FakeSocket:
    user_id: str
    credential_key: tuple[str, str]
    ended: list[str] = field(default_factory=list)

    def end(self, reason: str) -> None:
        self.ended.append(reason)

    async def verify(self) -> None:
        return None


SOCKETS = {
    "alice-session-1": ("alice", ("session", "s1")),
    "alice-session-2": ("alice", ("session", "s2")),
    "alice-token": ("alice", ("api_token", "t1")),
    "bob-session": ("bob", ("session", "s3")),
    "bob-token": ("bob", ("api_token", "t2")),
}
SIGNED_OUT = AccessEnded.SIGNED_OUT


@pytest.mark.parametrize(
    ("ended", "closed"),
    [
        ({"session_id": "s1"}, {"alice-session-1"}),
        ({"token_ids": ["t1", "t2"]}, {"alice-token", "bob-token"}),
        ({"user_id": "alice"}, {"alice-session-1", "alice-session-2", "alice-token"}),
        (
            {"user_id": "alice", "kind": CredentialKind.SESSION},
            {"alice-session-1", "alice-session-2"},
        ),
        ({"session_id": "t1"}, set()),  # a session id never names a token's socket
        ({}, set()),
    ],
)
def test_R18_an_access_notice_closes_exactly_the_sockets_it_names(
    ended: dict[str, object], closed: set[str]
) -> None:
    fanout = InProcessFanout()
    registry = StaffSockets(fanout)
    sockets = {name: FakeSocket(user, key) for name, (user, key) in SOCKETS.items()}
    for socket in sockets.values():
        registry.add(socket)
    Revocations(fanout).end_access(reason=SIGNED_OUT, **ended)  # type: ignore[arg-type]
    assert {name for name, socket in sockets.items() if socket.ended} == closed
    assert all(socket.ended in ([], ["signed_out"]) for socket in sockets.values())


def test_a_closed_socket_leaves_the_registry() -> None:
    fanout = InProcessFanout()
    registry = StaffSockets(fanout)
    socket = FakeSocket("alice", ("session", "s1"))
    remove = registry.add(socket)
    remove()
    Revocations(fanout).end_access(reason=SIGNED_OUT, user_id="alice")
    assert socket.ended == []
    assert registry.sockets() == []
