"""The exceptions chatrec raises on purpose, each carrying what a user needs to act.

    ChatrecError                 base of everything below
    ├── TemplateError            a filename template is refused (R6): problem + position
    ├── JournalError             a journal breaks the shape the rules rely on
    ├── FlowError                a chat flow is refused (R3, R19): every problem, with its line
    │   └── FlowRuntimeError     a flow cannot go on: a loop without input, a stale state
    ├── StoreError               the database failed a write; none of it was applied
    │   └── SecretKeyError       stored SFTP secrets were encrypted with another key
    ├── ActionError              a request or frame refused as it stands (R19), by ``code``
    │   ├── NotFoundError        unknown id, or another company's (R18)
    │   ├── PermissionDeniedError  the role or place in the chat does not allow it
    │   │   └── ScopeError       the API token's scope does not allow it
    │   ├── InvalidRequestError  a value out of its bounds, found past the schema (422)
    │   │   ├── MaskPatternError  a company's own masking pattern is refused (R22)
    │   │   ├── CannedResponseError  a canned response's name or text is refused
    │   │   ├── AttachmentTooLargeError  a file over the company's size limit (413, R23)
    │   │   └── AttachmentTypeError  a file whose sniffed type the company refuses (415, R23)
    │   ├── AuthenticationError  no valid login, session, API token or customer token
    │   │   └── SecondFactorRequiredError  the password was right: now the TOTP code
    │   ├── SignInPendingError   signed in, but a step must come first:
    │   │   ├── PasswordChangeRequiredError  a password of one's own, after a reset
    │   │   └── TotpEnrolmentRequiredError   the second factor the company requires
    │   ├── RateLimitedError     too many requests from one client: retry after a pause
    │   ├── RecordingOnQueueError  a queue request names a recording setting (R3)
    │   └── ConflictError        the chat's state does not allow it now
    │       ├── TooManyTokensError   the login has as many live API tokens as it may
    │       ├── TooManyCannedResponsesError  the company or login has as many as it may
    │       ├── ChatFullError        the chat holds as many events or message bytes as it may
    │       └── StoreConflictError   a write clashes with stored data; none of it applied
    │           ├── SequenceClashError   an event number is taken: two writers raced
    │           ├── BaseNameTakenError   a recording base name is in use (R6)
    │           └── DuplicateError       an id or unique name (login, queue) is taken
    └── DeliveryError            delivery to a recording platform failed (R16), by type
        ├── TransientDeliveryError   passing (connection, timeout): retried with back-off
        │   └── PlatformUnreachableError  no SFTP server answered: one plain sentence
        ├── PermanentDeliveryError   needs a person: blocks the destination until fixed
        │   ├── EgressRefusedError   the operator's egress policy refuses the address
        │   ├── HostKeyError         the server's key is not the pinned one
        │   ├── AuthenticationFailedError  user, password or key refused
        │   ├── RemotePermissionError      writing or renaming refused
        │   └── RemoteFolderMissingError   the destination folder does not exist
        └── FileDeliveryError        one file failed; the others go on

The web layer maps these to status codes and error frames in one place; nothing
decides what to do from an error's message text.  Its length is the tree's: one class
per refusal a client tells apart.
"""

from __future__ import annotations

from dataclasses import dataclass


class ChatrecError(Exception):
    """Base of chatrec's own errors."""


class TemplateError(ChatrecError, ValueError):
    """A filename template cannot be used; says what is wrong and where (R6)."""

    def __init__(self, template: str, problem: str, position: int) -> None:
        self.template = template
        self.problem = problem
        self.position = position
        super().__init__(f"{problem} at position {position} of template {template!r}")


class JournalError(ChatrecError, ValueError):
    """A journal is malformed: events out of order, missing start, events after end."""


@dataclass(frozen=True, slots=True)
class FlowProblem:
    """One thing wrong with a flow, and where: ``path`` into the data, 1-based ``line``.

    ``line`` and ``column`` are ``None`` when the flow did not come from text (a flow
    built in code, or a problem found while it runs).
    """

    message: str
    path: tuple[str | int, ...] = ()
    line: int | None = None
    column: int | None = None

    @property
    def location(self) -> str:
        """The path as an administrator reads it, such as ``steps[2].next``."""
        text = ""
        for part in self.path:
            if isinstance(part, int) or not part.isidentifier():
                text += f"[{part!r}]"
            else:
                text += f".{part}" if text else part
        return text

    def __str__(self) -> str:
        where = [] if self.line is None else [f"line {self.line}"]
        if self.column is not None:
            where.append(f"column {self.column}")
        if self.path:
            where.append(self.location)
        return f"{', '.join(where)}: {self.message}" if where else self.message


class FlowError(ChatrecError, ValueError):
    """A chat flow is refused (R19); ``problems`` holds every one found, not only the first."""

    headline = "the flow is refused"

    def __init__(self, source: str, problems: list[FlowProblem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        listed = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"{source}: {self.headline}:\n{listed}")


class FlowRuntimeError(FlowError):
    """A flow cannot go on: a loop that asks nothing, or a state that does not fit it."""

    headline = "the flow cannot go on"


class ActionError(ChatrecError):
    """A request or frame that is refused as it stands; ``code`` is stable for clients.

    The web layer maps the subclasses to HTTP statuses and WebSocket error frames in
    one place (``chatrec.web.errors``); nothing was changed by a refused action (R19).
    """

    code = "refused"


class NotFoundError(ActionError):
    """No such thing, or not one the caller may know of: never a leak across companies (R18)."""

    code = "not_found"


class PermissionDeniedError(ActionError):
    """The caller is known but their role or place in the chat does not allow this."""

    code = "forbidden"


class ScopeError(PermissionDeniedError):
    """The caller's API token has a narrower scope than the action needs (R18)."""

    code = "insufficient_scope"


class InvalidRequestError(ActionError):
    """A value the schema allows but a setting or another record does not (422)."""

    code = "invalid"


class MaskPatternError(InvalidRequestError):
    """A masking pattern an administrator wrote cannot be used (R22): which, and why."""

    def __init__(self, name: str, problem: str) -> None:
        self.name = name
        self.problem = problem
        super().__init__(f"masking pattern {name!r}: {problem}" if name else problem)


class CannedResponseError(InvalidRequestError):
    """A canned response cannot be saved as written: a name that is no shortcut, an empty
    or too long text, or a placeholder nobody fills in (which it names)."""


class AttachmentTooLargeError(InvalidRequestError):
    """A file larger than the company takes (R23): the message names the limit."""

    code = "attachment_too_large"


class AttachmentTypeError(InvalidRequestError):
    """A file whose type, read from its bytes, the company does not take (R23): the
    message names the type found and those taken."""

    code = "attachment_type"


class AuthenticationError(ActionError):
    """No valid login, session, API token or customer token."""

    code = "unauthenticated"


class SecondFactorRequiredError(AuthenticationError):
    """The password was right; the login signs in with a TOTP or recovery code as well."""

    code = "totp_required"


class SignInPendingError(ActionError):
    """Signed in, but the session may do nothing else until the user has done a step."""


class PasswordChangeRequiredError(SignInPendingError):
    """An administrator reset the password: the user chooses one of their own first."""

    code = "password_change_required"


class TotpEnrolmentRequiredError(SignInPendingError):
    """The company requires a second factor: the user sets up TOTP first."""

    code = "totp_enrolment_required"


class RateLimitedError(ActionError):
    """Too many requests from one client in a short time; ``retry_after`` is in seconds."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RecordingOnQueueError(ActionError):
    """A request tried to put a recording setting on a queue; refused whole, quoting R3."""

    code = "recording_on_queue"


class ConflictError(ActionError):
    """The action does not fit the chat's current state (ended, already paused, ...)."""

    code = "conflict"


class TooManyTokensError(ConflictError):
    """The login already has the most live API tokens it may have; one must be revoked."""

    code = "too_many_tokens"


class TooManyCannedResponsesError(ConflictError):
    """The company, or the login, already has the most canned responses it may have."""

    code = "too_many_canned_responses"


class ServiceClosedError(ConflictError):
    """A chat cannot start outside its service's business hours; the message is the
    company's, for the customer (issue 15)."""

    code = "closed"


class ChatFullError(ConflictError):
    """The chat holds as many events or bytes of message text as a chat may (R19)."""

    code = "chat_full"


class StoreError(ChatrecError):
    """The database failed a write (unreachable, locked, stopped); none of it was applied.

    Unlike :class:`StoreConflictError` this says nothing about the data: the same write
    may succeed when tried again.  ``cause`` is for the operator's log, and part of the
    text a log or a traceback shows: what failed (the error's type, the database's code,
    the statement), never the values it carried, which in a group commit are several
    companies' (R18).  Callers over HTTP and WebSockets are told neither
    (``web.errors.store_incident``).
    """

    def __init__(self, message: str, *, cause: str | None = None) -> None:
        super().__init__(message)
        self.cause = cause

    def __str__(self) -> str:
        message = super().__str__()
        return message if self.cause is None else f"{message} ({self.cause})"


class SchemaError(ChatrecError):
    """This chatrec cannot use the database: unreachable, never migrated, or migrated by
    another version.  The message says which and what to run."""


class NodeConflictError(ChatrecError):
    """Another chatrec server already serves this database, and the database cannot be
    shared (SQLite; R20).  The message names it and says what to do."""


class SecretKeyError(StoreError):
    """Stored SFTP secrets cannot be decrypted: they were encrypted with another key (R18).

    Nothing is wrong with the data; the node runs with the wrong key.  The message says
    which key is in use and how to give the right one.  ``company_id`` is ``None`` when
    the value's owner is not known where it was read.
    """

    def __init__(self, key_origin: str, company_id: str | None = None) -> None:
        self.key_origin = key_origin
        self.company_id = company_id
        whose = "" if company_id is None else f" of company {company_id!r}"
        super().__init__(
            f"the SFTP secrets{whose} were saved with another key than {key_origin}: set "
            "CHATREC_SECRET_KEY (or the key file) to the key they were saved with; if that "
            "key is lost, run `chatrec migrate --forget-unreadable-secrets` and enter the "
            "platforms' passwords and private keys again"
        )


class StoreConflictError(ConflictError):
    """A write clashes with what is stored (a unique key); none of the write was applied."""


class SequenceClashError(StoreConflictError):
    """An event number of the chat is already stored: two writers raced on one chat.

    The caller's view of the chat is stale; it reloads the journal before trying again.
    """

    def __init__(self, chat_id: str, seqs: list[int]) -> None:
        self.chat_id = chat_id
        self.seqs = tuple(seqs)
        super().__init__(f"chat {chat_id!r} already has events numbered {seqs}")


class AgentFullError(StoreConflictError):
    """The agent a chat was to be given holds as many chats as their capacity: another
    node filled their last slot first (R20).  Nothing was stored; routing looks again."""

    def __init__(self, user_id: str, capacity: int) -> None:
        self.user_id = user_id
        self.capacity = capacity
        super().__init__(f"agent {user_id!r} already holds {capacity} chats, their capacity")


class BaseNameTakenError(StoreConflictError):
    """A recording's base name is already used by another recording of the company (R6).

    Names are compared case-insensitively; the caller picks names again with these in
    its ``taken`` set.
    """

    def __init__(self, company_id: str, names: list[str]) -> None:
        self.company_id = company_id
        self.names = tuple(names)
        super().__init__(f"recording names already used in company {company_id!r}: {names}")


class DuplicateError(StoreConflictError):
    """An id or a name that must be unique (a login, a queue name) is already taken."""


class DeliveryError(ChatrecError):
    """Delivering to a recording platform failed; the subclass says whether to retry (R16).

    ``reason`` is one sentence an administrator can act on.  Retry or give up is decided
    by the type, never by the message text.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientDeliveryError(DeliveryError):
    """Passing: connection refused or lost, timeout.  Retried with back-off, forever."""


class PlatformUnreachableError(TransientDeliveryError):
    """No SFTP server answered at the address: the name did not resolve, the port was
    refused, filtered or unreachable, or what answered did not speak SSH.

    All of these read the same, so Test connection cannot tell a company administrator
    which ports of a network are open (issue 16.3); the cause goes to the server log.
    """

    def __init__(self, host: str, port: int) -> None:
        super().__init__(
            f"could not reach an SFTP server at {host}:{port}; check the host and port, and "
            "that the platform accepts connections from chatrec's address"
        )


class PermanentDeliveryError(DeliveryError):
    """Needs a person: bad credentials, unknown or changed host key, permission denied,
    missing folder.  The destination's deliveries are blocked until it is fixed."""


class EgressRefusedError(PermanentDeliveryError):
    """The operator's egress policy does not allow the address the host name resolved to
    (by default private, loopback, link-local and cloud metadata addresses).

    The sentence names the host and port as given, never the address it resolved to,
    so it does not map the hosting network's names for a company administrator.
    """

    def __init__(self, host: str, port: int) -> None:
        super().__init__(
            f"the operator's egress policy does not allow connections to {host}:{port}; if "
            "the platform is on a private network, ask the operator to allow its address "
            "and port (CHATREC_EGRESS_ALLOW)"
        )


class HostKeyError(PermanentDeliveryError):
    """The server's host key is not the pinned one (or none is pinned)."""


class AuthenticationFailedError(PermanentDeliveryError):
    """The platform refused the user name, password or key."""


class RemotePermissionError(PermanentDeliveryError):
    """The platform refused to let us write or rename in the folder."""


class RemoteFolderMissingError(PermanentDeliveryError):
    """The destination folder does not exist on the platform."""


class FileDeliveryError(DeliveryError):
    """One file could not be delivered (its bytes missing or not as rendered, a check after
    upload failed); the others go on."""
