"""Filename templates for recordings (R6).

An administrator writes a template such as ``{date}/{company}_{chat_id}_{recording_id}``;
a literal ``/`` makes sub-folders.  :meth:`FilenameTemplate.parse` refuses, on save, any
template that could not be rendered safely, naming the problem and its 0-based position.
:func:`render_filename` turns a template and one recording's context into a relative
POSIX base path (no extension) that any SFTP server accepts: Linux, Windows, and
case-insensitive file systems alike.  :func:`assign_unique_names` then makes sure two
recordings never overwrite each other, with a suffix derived from the recording id so
that the same recordings always get the same names.

Why rendering can never fail or produce an unsafe path:

* only literal ``/`` in the template separates folders; a token value is one piece of
  one segment, so an agent named ``a/../../etc`` stays inside its segment;
* every segment is sanitised (:func:`sanitise_segment`) to ``[A-Za-z0-9._-]``, with no
  leading dot, no trailing dot, no Windows device name and at most
  :data:`MAX_SEGMENT_BYTES` bytes;
* a token without a value renders as ``none``, and :meth:`FilenameTemplate.parse`
  refuses segments made only of text that sanitises away, so no segment is ever empty,
  ``.`` or ``..``, and a save-time render with a sample chat could not find anything
  that parsing has not already refused;
* ``{datetime:…}`` accepts a portable, locale-free subset of strftime, formatted here
  rather than by the C library, so a name never depends on the server it is made on.

Its length is R6's: the template language, rendering and the clash rule are one rule,
kept in one module so a reader finds all of it here.
"""

from __future__ import annotations

import hashlib
import re
import string
import unicodedata
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from chatrec.errors import TemplateError

TOKENS: frozenset[str] = frozenset(
    {
        "date",
        "time",
        "datetime",
        "company",
        "service",
        "queue",
        "agent",
        "agent_id",
        "chat_id",
        "recording_id",
        "reason",
        "origin",
        # The customer's pre-chat details (R23): personal data in every listing of the
        # SFTP server, so in a path only where an administrator wrote them.
        "customer_name",
        "customer_email",
    }
)

MAX_TEMPLATE_LENGTH = 512
# Ten levels of at most 200 bytes stay far below PATH_MAX (4096) on any server.
MAX_SEGMENTS = 10
# 255 bytes is the usual limit of one name; 200 leaves room for the clash suffix, the
# extensions (".vcon.json", ".meta.json") and the uploader's ".<name>.part" temporary.
MAX_SEGMENT_BYTES = 200
EMPTY_VALUE = "none"

_ALLOWED = frozenset(string.ascii_letters + string.digits + "._-")
_UNDERSCORE_RUN = re.compile(r"_{2,}")
_FORMAT_PIECE = re.compile(r"%.?|[^%]+", re.DOTALL)
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})
_WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"{port}{n}" for port in ("COM", "LPT") for n in range(10)}
)


def _year(at: datetime) -> str:
    return f"{at.year:04d}"


def _month(at: datetime) -> str:
    return f"{at.month:02d}"


def _day(at: datetime) -> str:
    return f"{at.day:02d}"


# Locale-independent strftime directives; a format piece that is not a key is literal.
_DIRECTIVES: dict[str, Callable[[datetime], str]] = {
    "%Y": _year,
    "%y": lambda at: f"{at.year % 100:02d}",
    "%m": _month,
    "%d": _day,
    "%H": lambda at: f"{at.hour:02d}",
    "%M": lambda at: f"{at.minute:02d}",
    "%S": lambda at: f"{at.second:02d}",
    "%f": lambda at: f"{at.microsecond:06d}",
    "%j": lambda at: f"{at.timetuple().tm_yday:03d}",
    "%G": lambda at: f"{at.isocalendar().year:04d}",
    "%V": lambda at: f"{at.isocalendar().week:02d}",
    "%u": lambda at: f"{at.isoweekday()}",
    "%F": lambda at: f"{_year(at)}-{_month(at)}-{_day(at)}",
}
_DATE = ("%F",)
_TIME = ("%H", "%M", "%S")
_KNOWN_TOKENS = ", ".join(
    "{datetime:<format>}" if name == "datetime" else "{" + name + "}" for name in sorted(TOKENS)
)


@dataclass(frozen=True, slots=True)
class FilenameContext:
    """What one recording's name may say; optional values are ``None`` when unknown."""

    started_at: datetime
    company: str
    service: str
    chat_id: str
    recording_id: str
    reason: str
    origin: str
    queue: str | None = None
    agent: str | None = None
    agent_id: str | None = None
    customer_name: str | None = None
    customer_email: str | None = None

    def __post_init__(self) -> None:
        if self.started_at.tzinfo is None or self.started_at.utcoffset() != timedelta(0):
            raise ValueError(f"started_at {self.started_at.isoformat()} must be timezone-aware UTC")


SAMPLE_CONTEXT = FilenameContext(
    started_at=datetime(2024, 3, 14, 9, 26, 53, tzinfo=UTC),
    company="Example Company",
    service="Sales",
    chat_id="c_01HRZ8K5J2W4",
    recording_id="r_01HRZ8M0Q7TB",
    reason="agent",
    origin="agent",
    queue="New business",
    agent="Jane Doe",
    agent_id="u_4821",
    customer_name="Alex Example",
    customer_email="alex@example.com",
)
"""A neutral sample chat, for previewing a template made for no company in particular."""


def sample_context(
    company: str,
    service: str | None = None,
    queue: str | None = None,
    agent: tuple[str, str] | None = None,
) -> FilenameContext:
    """The sample chat as one company's: its name, and its service, queue and agent
    (name, id) where it has them, so a preview shows the names its files will carry.
    """
    name, agent_id = agent if agent is not None else (SAMPLE_CONTEXT.agent, SAMPLE_CONTEXT.agent_id)
    return replace(
        SAMPLE_CONTEXT,
        company=company,
        service=service or SAMPLE_CONTEXT.service,
        queue=queue or SAMPLE_CONTEXT.queue,
        agent=name,
        agent_id=agent_id,
    )


@dataclass(frozen=True, slots=True)
class Placeholder:
    """One ``{token}`` of a template; ``pieces`` is the parsed ``{datetime:…}`` format."""

    token: str
    pieces: tuple[str, ...] = ()


Segment = tuple[str | Placeholder, ...]


@dataclass(frozen=True, slots=True)
class FilenameTemplate:
    """A validated template: constructing one parses it, so no invalid one exists."""

    source: str
    segments: tuple[Segment, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "segments", _parse(self.source))

    @classmethod
    def parse(cls, source: str) -> FilenameTemplate:
        """Validate ``source``; raise :class:`TemplateError` saying what and where."""
        return cls(source)


def _parse(source: str) -> tuple[Segment, ...]:
    if not source:
        raise TemplateError(source, "the template is empty", 0)
    if len(source) > MAX_TEMPLATE_LENGTH:
        raise TemplateError(
            source,
            f"the template is longer than {MAX_TEMPLATE_LENGTH} characters",
            MAX_TEMPLATE_LENGTH,
        )
    for position, char in enumerate(source):
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            raise TemplateError(
                source,
                f"control or invisible character U+{ord(char):04X} is not allowed",
                position,
            )
    if source.startswith("/"):
        raise TemplateError(
            source,
            "the template must be relative to the recording folder; remove the leading '/'",
            0,
        )
    segments: list[Segment] = []
    parts: list[str | Placeholder] = []
    start = 0
    position = 0
    while position < len(source):
        char = source[position]
        if char == "/":
            segments.append(_check_segment(source, start, position, parts))
            if len(segments) == MAX_SEGMENTS:
                raise TemplateError(
                    source,
                    f"a template can have at most {MAX_SEGMENTS - 1} levels of folders",
                    position,
                )
            parts = []
            start = position + 1
            position += 1
        elif char == "{":
            end = _closing_brace(source, position)
            parts.append(_parse_placeholder(source, position, source[position + 1 : end]))
            position = end + 1
        elif char == "}":
            raise TemplateError(source, "'}' without a matching '{'", position)
        else:
            parts.append(char)
            position += 1
    segments.append(_check_segment(source, start, len(source), parts))
    return tuple(segments)


def _closing_brace(source: str, opening: int) -> int:
    for position in range(opening + 1, len(source)):
        if source[position] == "{":
            raise TemplateError(source, "'{' inside a token; tokens cannot be nested", position)
        if source[position] == "}":
            return position
    raise TemplateError(source, "'{' is never closed by '}'", opening)


def _parse_placeholder(source: str, opening: int, body: str) -> Placeholder:
    name, colon, argument = body.partition(":")
    if not name:
        raise TemplateError(source, "empty token; write a name such as {chat_id}", opening)
    if name not in TOKENS:
        raise TemplateError(
            source, f"unknown token {{{name}}}; known tokens are {_KNOWN_TOKENS}", opening
        )
    colon_at = opening + 1 + len(name)
    if name == "datetime":
        if not argument:
            raise TemplateError(
                source,
                "{datetime} needs a strftime format, such as {datetime:%Y%m%d-%H%M%S}",
                opening,
            )
        return Placeholder(name, _parse_format(source, colon_at + 1, argument))
    if colon:
        raise TemplateError(
            source, f"token {{{name}}} takes no ':' argument (only {{datetime:…}} does)", colon_at
        )
    return Placeholder(name)


def _parse_format(source: str, offset: int, fmt: str) -> tuple[str, ...]:
    slash = fmt.find("/")
    if slash >= 0:
        raise TemplateError(
            source,
            "a datetime format cannot contain '/'; put '/' outside the braces to make folders",
            offset + slash,
        )
    pieces: list[str] = []
    for match in _FORMAT_PIECE.finditer(fmt):
        piece = match.group()
        if piece == "%":
            raise TemplateError(
                source,
                "'%' at the end of the datetime format has no directive",
                offset + match.start(),
            )
        if piece == "%%":
            pieces.append("%")
        elif piece.startswith("%") and piece not in _DIRECTIVES:
            supported = " ".join(sorted(_DIRECTIVES, key=str.lower)) + " %%"
            raise TemplateError(
                source,
                f"strftime directive {piece} is not supported in filenames; use one of {supported}",
                offset + match.start(),
            )
        else:
            pieces.append(piece)
    return tuple(pieces)


def _check_segment(source: str, start: int, end: int, parts: list[str | Placeholder]) -> Segment:
    text = source[start:end]
    if not text:
        raise TemplateError(
            source, "empty folder name ('//' or a trailing '/')", min(start, len(source) - 1)
        )
    if text in {".", ".."}:
        raise TemplateError(source, f"'{text}' is not allowed as a folder or file name", start)
    if all(isinstance(part, str) for part in parts) and not _clean(text):
        raise TemplateError(
            source, f"{text!r} renders to an empty name once made safe for SFTP servers", start
        )
    return _merge_literals(parts)


def _merge_literals(parts: list[str | Placeholder]) -> Segment:
    merged: list[str | Placeholder] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    return tuple(merged)


def _clean(text: str) -> str:
    """Reduce to ``[A-Za-z0-9._-]``, without runs of ``_`` or dots at either end."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(
        char if char in _ALLOWED else "_" for char in decomposed if not unicodedata.combining(char)
    )
    return _UNDERSCORE_RUN.sub("_", kept).lstrip(".").rstrip(".")


def sanitise_segment(segment: str) -> str:
    """Make one folder or file name safe on any SFTP server; never empty, idempotent.

    Leading dots go (no hidden files, no clash with the uploader's ``.<name>.part``),
    trailing dots go (Windows drops them), a Windows device name (``CON``, ``COM1.txt``)
    gets a ``_`` in front, and the result fits in :data:`MAX_SEGMENT_BYTES` bytes.
    """
    cleaned = _clean(segment)
    if not cleaned:
        return EMPTY_VALUE
    if cleaned.split(".", 1)[0].upper() in _WINDOWS_DEVICES:
        cleaned = "_" + cleaned
    return cleaned[:MAX_SEGMENT_BYTES].rstrip(".")


def _token_value(placeholder: Placeholder, context: FilenameContext) -> str | None:
    at = context.started_at
    match placeholder.token:
        case "date":
            return _format(_DATE, at)
        case "time":
            return _format(_TIME, at)
        case "datetime":
            return _format(placeholder.pieces, at)
        case "company":
            return context.company
        case "service":
            return context.service
        case "queue":
            return context.queue
        case "agent":
            return context.agent
        case "agent_id":
            return context.agent_id
        case "chat_id":
            return context.chat_id
        case "recording_id":
            return context.recording_id
        case "reason":
            return context.reason
        case "customer_name":
            return context.customer_name
        case "customer_email":
            return context.customer_email
        case _:
            return context.origin


def _format(pieces: tuple[str, ...], at: datetime) -> str:
    return "".join(_DIRECTIVES[piece](at) if piece in _DIRECTIVES else piece for piece in pieces)


def _render_part(part: str | Placeholder, context: FilenameContext) -> str:
    if isinstance(part, str):
        return part
    return _clean(_token_value(part, context) or "") or EMPTY_VALUE


def render_filename(template: FilenameTemplate, context: FilenameContext) -> str:
    """The recording's base path: relative POSIX, no extension, every segment safe (R6).

    Token values are cleaned before they meet the template's literal text, so a value
    can neither add a folder nor become a hidden or empty name; a missing value reads
    ``none``.  Two recordings may still render alike: see :func:`assign_unique_names`.
    """
    return "/".join(
        sanitise_segment("".join(_render_part(part, context) for part in segment))
        for segment in template.segments
    )


# R6's "no clash": two base names clash when equal whatever their case (some SFTP servers
# keep files on case-insensitive file systems), and a name followed by ``-`` and more
# continues it (how a clashing name is made unique), so it clashes with what it continues.
# Choosing names (:func:`assign_unique_names`), the store's lookup of taken names and its
# unique key, and a node's reservations of names not yet committed all read this rule.
CONTINUES = "-"


def name_key(name: str) -> str:
    """What two base names are compared by: equal keys clash (R6)."""
    return name.casefold()


def continuation_prefix(name: str) -> str:
    """The key every name continuing ``name`` starts with (R6)."""
    return name_key(name) + CONTINUES


def clashing(names: Collection[str], candidates: Sequence[str]) -> set[str]:
    """The ``names`` equal to a candidate or continuing it, whatever their case (R6)."""
    keys = {name_key(candidate) for candidate in candidates}
    prefixes = tuple(continuation_prefix(candidate) for candidate in candidates)
    return {name for name in names if name_key(name) in keys or name_key(name).startswith(prefixes)}


def clash_suffix(recording_id: str) -> str:
    """The stable part a clashing name gets: the same recording always gets the same."""
    return CONTINUES + hashlib.sha256(recording_id.encode()).hexdigest()[:8]


def assign_unique_names(
    candidates: Sequence[tuple[str, str]], taken: Collection[str] = ()
) -> dict[str, str]:
    """Give each recording a base path no other recording has, nor any in ``taken`` (R6).

    ``candidates`` are ``(recording_id, rendered base path)`` in a stable order.  The
    first holder of a name keeps it; a later one gets :func:`clash_suffix`, then a
    counter if that is taken too.  Names are compared case-insensitively because some
    SFTP servers store files on case-insensitive file systems.  Same inputs, same names.
    """
    used = {name_key(name) for name in taken}
    names: dict[str, str] = {}
    for recording_id, base in candidates:
        if recording_id in names:
            raise ValueError(f"recording id {recording_id!r} appears twice among the candidates")
        name = base
        if name_key(name) in used:
            suffixed = name = base + clash_suffix(recording_id)
            counter = 1
            while name_key(name) in used:
                counter += 1
                name = f"{suffixed}{CONTINUES}{counter}"
        used.add(name_key(name))
        names[recording_id] = name
    return names
