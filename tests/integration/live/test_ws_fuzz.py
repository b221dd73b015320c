"""R19 under fuzzing: hypothesis-made bad frames on both sockets of one real server.

Each frame must get the answer docs/protocol.md gives it: an ``error`` frame with the
documented code and ``ref`` after the hello, or, for a failed hello or a frame beyond
what the WebSocket layer takes, the documented close code.  After it the connection
still answers, nothing stored changes (chat rows, journals, recordings, the set of open
chats) and the server logs no error.

One server per database serves the whole module, with one long-lived connection per
socket kind.  Its rate limit is raised so the fuzzing meets the frame checks, not the
limiter.  Frames name chats by placeholders (``OWN``, ``OTHER``, ``OTHER_TOKEN``) that
are filled in just before sending, so strategies and explicit examples stay static.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from chatrec.store.migrations import migrate
from chatrec.store.store import Store
from tests.conftest import _postgres_schema_url
from tests.integration.clients import Client, Frame
from tests.integration.live.test_live_recording import queued_to
from tests.integration.server import SeededDemo, ServerProcess
from tests.integration.tenant import SHARED_LIMITS
from tests.keys import SECRETS

pytestmark = pytest.mark.long  # tens of seconds: handed out first (tests/conftest.py)

Kind = Literal["customer", "staff"]

# docs/protocol.md, "Limits": a frame over 16 384 bytes is too_large, a text over 4000
# characters too; a frame over 64 KiB is cut off by the WebSocket layer (close 1009).
MAX_FRAME_BYTES = 16_384
MAX_TEXT = 4000
WS_LIMIT = 65_536
ANSWERS = {"ack", "error", "pong"}
ANSWER_TIMEOUT = 5.0

OWN, OTHER, OTHER_TOKEN = "@@OWN@@", "@@OTHER@@", "@@OTHER_TOKEN@@"
STAFF_LOGIN = "alice"

FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


# -- what a bad frame is, and what it must get ---------------------------------------


@dataclass(frozen=True)
class Bad:
    """A frame (placeholders unfilled) and the error codes the protocol allows for it."""

    payload: str | bytes
    codes: frozenset[str]

    def __repr__(self) -> str:
        shown = self.payload if len(self.payload) <= 300 else self.payload[:300]
        return f"Bad({shown!r} ({len(self.payload)} long), {sorted(self.codes)})"


def bad(payload: str | bytes, *codes: str) -> Bad:
    return Bad(payload, frozenset(codes))


def expected_ref(raw: str | bytes) -> str | None:
    """The ``ref`` an error must echo: the frame's own, when it could be read (R19)."""
    if isinstance(raw, bytes) or len(raw.encode()) > MAX_FRAME_BYTES:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    ref = data.get("ref") if isinstance(data, dict) else None
    return ref if isinstance(ref, str) and len(ref) <= 64 else None


def expected_codes(raw: str | bytes, given: frozenset[str]) -> frozenset[str]:
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode())
    if size <= MAX_FRAME_BYTES:
        return given
    # A binary frame is refused for being binary or for its size; either is documented.
    return given | {"too_large"} if isinstance(raw, bytes) else frozenset({"too_large"})


# -- the protocol's frames, as the fuzzer knows them (docs/protocol.md) --------------


@dataclass(frozen=True)
class Spec:
    kind: Literal["str", "text", "bool", "seq", "seen"]
    required: bool = False
    max_length: int | None = None


REF = Spec("str", max_length=64)
CHAT_ID = Spec("str", required=True, max_length=64)
HELLO = {"token": Spec("str", max_length=200), "last_seq": Spec("seq"), "seen": Spec("seen")}
CHAT_ACTIONS = ("pause", "resume", "delete_recording", "flag_abusive", "join", "leave", "end")
CUSTOMER: dict[str, dict[str, Spec]] = {
    "hello": HELLO,
    "ping": {},
    "message": {"text": Spec("text", required=True)},
    "request_deletion": {},
    "end": {},
}
STAFF: dict[str, dict[str, Spec]] = {
    "hello": HELLO,
    "ping": {},
    "presence": {"available": Spec("bool", required=True)},
    "active": {},
    "sync": {"chat_id": CHAT_ID, "last_seq": Spec("seq")},
    "message": {"chat_id": CHAT_ID, "text": Spec("text", required=True)},
    **{action: {"chat_id": CHAT_ID} for action in CHAT_ACTIONS},
    "transfer": {
        "chat_id": CHAT_ID,
        "to_agent": Spec("str", max_length=64),
        "to_queue": Spec("str", max_length=64),
    },
}
SCHEMAS: dict[Kind, dict[str, dict[str, Spec]]] = {"customer": CUSTOMER, "staff": STAFF}

# Every character, lone surrogates included (hypothesis leaves those out by default).
# A string holding one is never valid: the server refuses it as bad_frame.
CHARS = st.characters(exclude_categories=[])
SURROGATES = st.characters(categories=["Cs"])


def texts(min_size: int = 0, max_size: int | None = None) -> st.SearchStrategy[str]:
    return st.text(CHARS, min_size=min_size, max_size=max_size)


def valid_texts(min_size: int = 0, max_size: int | None = None) -> st.SearchStrategy[str]:
    """Any text a string field takes: NUL, controls and emoji, but no lone surrogate."""
    return st.text(min_size=min_size, max_size=max_size)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | texts(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts(max_size=8), inner),
    max_leaves=12,
)


@st.composite
def huge_strings(draw: st.DrawFn, min_chars: int = 1, max_bytes: int = 30_000) -> str:
    """Long strings of any characters (NUL, surrogates, emoji), below the 64 KiB cut."""
    unit = draw(texts(min_size=1, max_size=3))
    cost = len(json.dumps(unit)) - 2  # escaped, the most a character can take
    chars = draw(st.integers(min_chars, max(min_chars, max_bytes * len(unit) // cost)))
    return (unit * (chars // len(unit) + 1))[:chars]


def wrong_values(spec: Spec) -> st.SearchStrategy[Any]:
    """JSON values of another type than the field's; ``null`` only where it is required."""
    if spec.kind == "bool":
        return json_values.filter(lambda v: not isinstance(v, bool))
    not_int = json_values.filter(lambda v: isinstance(v, bool) or not isinstance(v, int))
    if spec.kind == "seq":
        return not_int | st.integers(max_value=-1)
    if spec.kind == "seen":  # chat id -> seq: not an object, or a number that is not a seq
        bad_seq = not_int | st.integers(max_value=-1)
        return json_values.filter(lambda v: not isinstance(v, dict)) | st.dictionaries(
            valid_texts(min_size=1, max_size=64), bad_seq, min_size=1, max_size=3
        )
    if spec.required:
        return json_values.filter(lambda v: not isinstance(v, str))
    return json_values.filter(lambda v: v is not None and not isinstance(v, str))


def valid_values(spec: Spec) -> st.SearchStrategy[Any]:
    if spec.kind == "bool":
        return st.booleans()
    if spec.kind == "seq":
        return st.integers(0, 10**6)
    if spec.kind == "seen":
        chat_ids = valid_texts(min_size=1, max_size=64) | st.sampled_from([OWN, OTHER])
        return st.dictionaries(chat_ids, st.integers(0, 10**6), max_size=3)
    if spec.kind == "text":
        return valid_texts(min_size=1, max_size=40)
    if spec.required:  # a chat id: the chat the connection may act in
        return st.just(OWN)
    return st.none() | valid_texts(max_size=spec.max_length)


@st.composite
def well_formed(draw: st.DrawFn, fields: dict[str, Spec], type_: str) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": type_}
    for name, spec in {**fields, "ref": REF}.items():
        if spec.required or draw(st.booleans()):
            frame[name] = draw(valid_values(spec))
    return frame


@st.composite
def serialized(draw: st.DrawFn, frame: Any) -> str:
    raw = json.dumps(frame, ensure_ascii=draw(st.booleans()))
    try:
        raw.encode()
    except UnicodeEncodeError:  # lone surrogates travel as JSON escapes only
        return json.dumps(frame)
    return raw


@st.composite
def mistyped(draw: st.DrawFn, kind: Kind) -> Bad:
    """A frame of a known type, wrong in exactly one way: never valid, before or after hello."""
    schema = SCHEMAS[kind]
    type_ = draw(st.sampled_from(sorted(schema)))
    frame = draw(well_formed(schema[type_], type_))
    fields = {**schema[type_], "ref": REF}
    required = [name for name, spec in fields.items() if spec.required]
    bounded = [name for name, spec in fields.items() if spec.max_length or spec.kind == "text"]
    strings = [name for name, spec in fields.items() if spec.kind in {"str", "text"}]
    how = draw(st.sampled_from(["missing", "long", "wrong", "surrogate", "extra"]))
    if how == "missing" and required:
        del frame[draw(st.sampled_from(required))]
    elif how == "long" and bounded:
        name = draw(st.sampled_from(bounded))
        spec = fields[name]
        if spec.kind == "text":
            long_text = st.characters().flatmap(
                lambda c: st.integers(MAX_TEXT + 1, MAX_TEXT + 200).map(lambda n: c * n)
            )
            frame[name] = draw(st.just("") | long_text)
            if frame[name]:
                return bad(draw(serialized(frame)), "too_large")
        else:
            assert spec.max_length is not None
            frame[name] = draw(texts(min_size=spec.max_length + 1, max_size=spec.max_length + 50))
    elif how == "surrogate" and strings:
        around = valid_texts(max_size=10)
        frame[draw(st.sampled_from(strings))] = "".join(draw(st.tuples(around, SURROGATES, around)))
    elif how == "wrong":
        name = draw(st.sampled_from(["type", *fields]))
        spec = fields.get(name, Spec("str", required=True))
        frame[name] = draw(wrong_values(spec))
    else:
        keys = texts(max_size=20).filter(lambda k: k not in fields and k != "type")
        if "chat_id" not in fields:  # a customer's chat is the token's; naming one is refused
            keys = keys | st.just("chat_id")
        key = draw(keys)
        frame[key] = draw(json_values | huge_strings() | st.sampled_from([OWN, OTHER]))
    return bad(draw(serialized(frame)), "bad_frame")


def not_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return True
    return False


@st.composite
def truncated(draw: st.DrawFn, kind: Kind) -> str:
    schema = SCHEMAS[kind]
    type_ = draw(st.sampled_from(sorted(schema)))
    whole = json.dumps(draw(well_formed(schema[type_], type_)))
    return whole[: draw(st.integers(0, len(whole) - 1))]


@st.composite
def nested(draw: st.DrawFn) -> Bad:
    """Deep nesting, at the top, as a field, or as the type; past the parser's depth too."""
    depth = draw(st.integers(1, 6000))
    opening, closing = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    deep = opening * depth + "0" + closing * depth
    where = draw(st.sampled_from(["{}", '{{"type": "ping", "x": {}}}', '{{"type": {}}}']))
    return bad(where.format(deep), "bad_frame", "bad_json")


def malformed(kind: Kind) -> st.SearchStrategy[Bad]:
    """Frames no schema accepts: the same error before and after the hello."""
    types = SCHEMAS[kind]
    other_audience = sorted(SCHEMAS["staff" if kind == "customer" else "customer"].keys() - types)
    unknown_type = st.builds(
        lambda type_, rest: {**rest, "type": type_},
        st.sampled_from(other_audience) | texts().filter(lambda t: t not in types) | huge_strings(),
        st.dictionaries(texts(max_size=8), json_values, max_size=3),
    )
    untyped = st.dictionaries(texts(max_size=8), json_values).map(
        lambda d: {k: v for k, v in d.items() if k != "type"}
    )
    objects = (unknown_type | untyped).flatmap(serialized).map(lambda raw: bad(raw, "bad_frame"))
    scalars = json_values.filter(lambda v: not isinstance(v, dict)).flatmap(serialized)
    text = (texts() | truncated(kind)).filter(not_json)
    repeated = st.tuples(st.binary(min_size=1, max_size=3), st.integers(1, 7000))
    binary = st.binary(max_size=200) | repeated.map(
        lambda unit_times: unit_times[0] * unit_times[1]
    )
    return st.one_of(
        mistyped(kind),
        objects,
        scalars.map(lambda raw: bad(raw, "bad_frame")),
        text.map(lambda raw: bad(raw, "bad_json")),
        binary.map(lambda raw: bad(raw, "bad_frame")),
        nested(),
    )


@st.composite
def hello_again(draw: st.DrawFn, kind: Kind) -> Bad:
    """A second hello, even a valid one, even with another chat's token: refused."""
    frame = draw(well_formed(HELLO, "hello"))
    if kind == "customer" and draw(st.booleans()):
        frame["token"] = OTHER_TOKEN
    return bad(json.dumps(frame), "bad_frame")


unknown_ids = valid_texts(min_size=1, max_size=64).filter(lambda t: not t.startswith("demo-"))


@st.composite
def not_mine(draw: st.DrawFn) -> Bad:
    """A valid staff frame on a chat the agent is not in (another customer's) or none."""
    type_ = draw(st.sampled_from(["sync", "message", "transfer", *CHAT_ACTIONS]))
    frame = draw(well_formed(STAFF[type_], type_))
    frame["chat_id"] = draw(st.just(OTHER) | unknown_ids)
    return bad(draw(serialized(frame)), "not_found")


@st.composite
def refused_in_own_chat(draw: st.DrawFn) -> Bad:
    """Valid staff frames on the agent's own chat that the chat's state must refuse."""
    ref = draw(st.none() | valid_texts(max_size=64))
    target = draw(st.sampled_from(["to_agent", "to_queue"]))
    choices = [
        ({"type": "join", "chat_id": OWN, "ref": ref}, "forbidden"),
        ({"type": "transfer", "chat_id": OWN, target: draw(unknown_ids), "ref": ref}, "not_found"),
        ({"type": "transfer", "chat_id": OWN, "ref": ref}, "conflict"),
        (
            {"type": "transfer", "chat_id": OWN, "to_agent": "x", "to_queue": "y", "ref": ref},
            "conflict",
        ),
    ]
    frame, code = draw(st.sampled_from(choices))
    return bad(draw(serialized(frame)), code)


def after_hello(kind: Kind) -> st.SearchStrategy[Bad]:
    refused = hello_again(kind)
    if kind == "staff":
        refused = refused | not_mine() | refused_in_own_chat()
    return malformed(kind) | refused


@st.composite
def first_frames(draw: st.DrawFn, kind: Kind) -> Bad:
    """Anything but a good hello as the first frame (the hello fails, the socket closes)."""
    schema = SCHEMAS[kind]
    type_ = draw(st.sampled_from(sorted(schema.keys() - {"hello"})))
    not_hello = draw(well_formed(schema[type_], type_))
    token = draw(st.none() | valid_texts(max_size=200))
    hello = {"type": "hello", "token": token} if token is not None else {"type": "hello"}
    wrong_token = "not_found" if kind == "customer" and token else "unauthenticated"
    return draw(
        malformed(kind)
        | serialized(not_hello).map(lambda raw: bad(raw, "unauthenticated"))
        | serialized(hello).map(lambda raw: bad(raw, wrong_token))
    )


# -- the server, its store, and one connection per socket kind -----------------------


@dataclass
class Arena:
    server: ServerProcess
    store: Store
    runner: asyncio.Runner
    tokens: dict[str, str]  # chat id -> the customer's token
    own: dict[Kind, str]  # the chat each connection acts in
    clients: dict[Kind, Client] = field(default_factory=dict)
    log_offset: int = 0
    pings: Iterator[int] = field(default_factory=itertools.count)

    def other(self, kind: Kind) -> str:
        return self.own["staff" if kind == "customer" else "customer"]

    def fill(self, kind: Kind, payload: str | bytes) -> str | bytes:
        if isinstance(payload, bytes):
            return payload
        other = self.other(kind)
        return (
            payload.replace(OTHER_TOKEN, self.tokens[other])
            .replace(OTHER, other)
            .replace(OWN, self.own[kind])
        )

    def snapshot(self) -> object:
        chats = {
            chat_id: (
                self.store.get_chat(chat_id),
                self.store.load_journal(chat_id),
                self.store.get_recordings(chat_id),
            )
            for chat_id in self.tokens
        }
        return chats, sorted(chat.chat_id for chat in self.store.open_chats())

    def new_log_errors(self) -> list[str]:
        with self.server.log_path.open("rb") as log:
            log.seek(self.log_offset)
            text = log.read().decode(errors="replace")
            self.log_offset = log.tell()
        return [line for line in text.splitlines() if "ERROR" in line or "Traceback" in line]

    async def hello(self, kind: Kind) -> Frame:
        if kind == "customer":
            return {"token": self.tokens[self.own["customer"]]}
        return {"token": await asyncio.to_thread(self.server.token, STAFF_LOGIN)}

    def url(self, kind: Kind) -> str:
        return f"{self.server.ws_url}/ws/{kind}"

    async def connection(self, kind: Kind) -> Client:
        """The long-lived connection; a new one if an earlier example broke it."""
        client = self.clients.get(kind)
        if client is None or client.ws.state is not State.OPEN:
            client = await Client.open(self.url(kind), await self.hello(kind))
            assert client.frames[0]["type"] == "welcome", client.frames[0]
            self.clients[kind] = client
        return client

    async def answer(self, client: Client, raw: str | bytes) -> Frame:
        count = len(client.frames)
        await client.ws.send(raw)
        return await client.wait_for(lambda f: f["type"] in ANSWERS, ANSWER_TIMEOUT, after=count)

    async def assert_alive(self, client: Client) -> None:
        """A ping still gets its pong, then its ack (docs/protocol.md, "Both audiences")."""
        ref = f"alive-{next(self.pings)}"
        count = len(client.frames)
        pong = await self.answer(client, json.dumps({"type": "ping", "ref": ref}))
        assert pong == {"type": "pong", "ref": ref}, pong
        ack = await client.wait_for(
            lambda f: f.get("ref") == ref and f["type"] == "ack", ANSWER_TIMEOUT, after=count
        )
        assert ack["seq"] is None, ack

    async def refuse(self, kind: Kind, frame: Bad) -> None:
        client = await self.connection(kind)
        raw = self.fill(kind, frame.payload)
        try:
            error = await self.answer(client, raw)
        except TimeoutError:
            pytest.fail(f"no answer on /ws/{kind} to {frame!r}")
        assert error["type"] == "error", (frame, error)
        assert error["code"] in expected_codes(raw, frame.codes), (frame, error)
        assert error["ref"] == expected_ref(raw), (frame, error)
        assert isinstance(error["message"], str), (frame, error)
        assert error["message"], (frame, error)
        try:
            await self.assert_alive(client)
        except (TimeoutError, ConnectionClosed):
            pytest.fail(f"/ws/{kind} stopped answering after {frame!r}")

    def check(self, kind: Kind, frame: Bad) -> None:
        """The whole R19 promise for one frame on the long-lived connection."""
        before = self.snapshot()
        self.runner.run(self.refuse(kind, frame))
        assert self.snapshot() == before, frame
        assert self.new_log_errors() == [], frame


async def open_chats(server: ServerProcess) -> tuple[dict[str, str], dict[Kind, str]]:
    """A chat Alice handles, and a customer's chat waiting in its flow that she is not in."""
    other_customer, alice, alice_chat = await queued_to(server, STAFF_LOGIN)
    customer, chat_id, token = await Client.customer(server, "demo-support")
    await customer.state(chat_id, lambda c: c["choices"] is not None)
    assert other_customer.token is not None
    for client in (other_customer, alice, customer):
        await client.close()
    return {chat_id: token, alice_chat: other_customer.token}, {
        "customer": chat_id,
        "staff": alice_chat,
    }


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def arena(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    seeded_demo: SeededDemo,
) -> Iterator[Arena]:
    with contextlib.ExitStack() as stack:
        tmp: Path = tmp_path_factory.mktemp(f"ws-fuzz-{request.param}")
        if request.param == "sqlite":  # the demo seeded already
            url = seeded_demo.copy_to(tmp / "data", tmp / "chatrec.db")
        else:
            url = stack.enter_context(_postgres_schema_url())
            migrate(url)
        server = ServerProcess(
            tmp / "data",
            url,
            # Every example signs in anew from one address: the per-address limits are
            # not what is fuzzed here.
            env={
                "CHATREC_FRAMES_PER_SECOND": "100000",
                "CHATREC_FRAME_BURST": "100000",
                **SHARED_LIMITS,
            },
        )
        server.start()
        stack.callback(server.stop)
        store = stack.enter_context(contextlib.closing(Store(url, secrets=SECRETS)))
        runner = stack.enter_context(asyncio.Runner())
        stack.callback(lambda: runner.run(Client.close_all()))
        tokens, own = runner.run(open_chats(server))
        arena = Arena(server, store, runner, tokens, own)
        for kind in own:
            runner.run(arena.connection(kind))
        arena.new_log_errors()
        yield arena


# -- the tests -----------------------------------------------------------------------

DEEP = "[" * 8000 + "]" * 8000
CUSTOMER_EXAMPLES = [
    bad(DEEP, "bad_frame", "bad_json"),
    bad('{"type": "message", "text": "\\ud800\\u0000"}', "bad_frame"),
    bad(json.dumps({"type": "message", "text": "Billing", "chat_id": OTHER}), "bad_frame"),
    bad(json.dumps({"type": "hello", "token": OTHER_TOKEN}), "bad_frame"),
    bad(json.dumps({"type": "pause", "chat_id": OWN}), "bad_frame"),  # R2, and staff only
    bad(json.dumps({"type": "message", "text": "x" * (MAX_TEXT + 1), "ref": "r"}), "too_large"),
    bad(b"\x00binary", "bad_frame"),
]
STAFF_EXAMPLES = [
    bad(DEEP, "bad_frame", "bad_json"),
    bad(json.dumps({"type": "presence", "available": "no"}), "bad_frame"),
    bad(json.dumps({"type": "presence", "available": 1}), "bad_frame"),
    bad(json.dumps({"type": "sync", "chat_id": OWN, "last_seq": "3"}), "bad_frame"),
    bad(json.dumps({"type": "pause", "chat_id": OTHER, "ref": "r"}), "not_found"),
    bad(json.dumps({"type": "end", "chat_id": OWN, "extra": 1}), "bad_frame"),
    bad(json.dumps({"type": "message", "chat_id": OWN, "text": "\x00" * 5000}), "too_large"),
    bad(json.dumps({"type": "leave", "chat_id": OWN, "ref": "r" * 65}), "bad_frame"),
]


Test = TypeVar("Test", bound=Callable[..., None])


def with_examples(examples: list[Bad]) -> Callable[[Test], Test]:
    """Always try these frames first, whatever hypothesis draws."""

    def decorate(test: Test) -> Test:
        for frame in reversed(examples):
            test = example(frame=frame)(test)
        return test

    return decorate


@FUZZ
@with_examples(CUSTOMER_EXAMPLES)
@given(frame=after_hello("customer"))
def test_R19_bad_customer_frames_get_an_error_and_change_nothing(arena: Arena, frame: Bad) -> None:
    arena.check("customer", frame)


@FUZZ
@with_examples(STAFF_EXAMPLES)
@given(frame=after_hello("staff"))
def test_R19_bad_staff_frames_get_an_error_and_change_nothing(arena: Arena, frame: Bad) -> None:
    arena.check("staff", frame)


async def refused_hello(arena: Arena, kind: Kind, frame: Bad) -> None:
    """A failed hello: one error frame, then close 4401 (unauthenticated) or 4400."""
    raw = arena.fill(kind, frame.payload)
    client = Client(await connect(arena.url(kind)))
    await client.ws.send(raw)
    async with asyncio.timeout(ANSWER_TIMEOUT):
        await client.ws.wait_closed()
    await client.close()
    assert [f["type"] for f in client.frames] == ["error"], client.frames
    error = client.frames[0]
    assert error["code"] in expected_codes(raw, frame.codes), error
    assert error["ref"] is None, error
    assert client.ws.close_code == (4401 if error["code"] == "unauthenticated" else 4400)


@settings(FUZZ, max_examples=60)
@given(kind=st.sampled_from(["customer", "staff"]), data=st.data())
def test_R19_a_bad_first_frame_gets_an_error_and_the_documented_close(
    arena: Arena, kind: Kind, data: st.DataObject
) -> None:
    frame = data.draw(first_frames(kind), label="frame")
    before = arena.snapshot()
    arena.runner.run(refused_hello(arena, kind, frame))
    assert arena.snapshot() == before
    assert arena.new_log_errors() == []


async def cut_off(arena: Arena, kind: Kind, raw: str | bytes) -> None:
    client = await Client.open(arena.url(kind), await arena.hello(kind))
    await client.ws.send(raw)
    async with asyncio.timeout(ANSWER_TIMEOUT):
        await client.ws.wait_closed()
    await client.close()
    assert client.ws.close_code == 1009, (client.ws.close_code, client.frames[-3:])
    await arena.assert_alive(await arena.connection(kind))


@settings(FUZZ, max_examples=6)
@given(
    kind=st.sampled_from(["customer", "staff"]),
    size=st.integers(WS_LIMIT + 1, 4 * WS_LIMIT),
    binary=st.booleans(),
)
def test_R19_a_frame_beyond_the_websocket_limit_closes_1009_and_changes_nothing(
    arena: Arena, kind: Kind, size: int, binary: bool
) -> None:
    raw: str | bytes = b"\x00" * size
    if not binary:
        frame = {"type": "message", "text": ""}
        if kind == "staff":
            frame["chat_id"] = arena.own[kind]
        frame["text"] = "x" * (size - len(json.dumps(frame)))
        raw = json.dumps(frame)
    before = arena.snapshot()
    arena.runner.run(cut_off(arena, kind, raw))
    assert arena.snapshot() == before
    assert arena.new_log_errors() == []
