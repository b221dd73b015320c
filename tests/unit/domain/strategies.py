"""Hypothesis strategies for whole chats: random but well-formed journals."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import strategies as st

from chatrec.domain.journal import Actor, Answer, CustomerDetails, Journal
from tests.unit.domain.builders import ChatBuilder, agent, supervisor

AGENTS = [agent("alice"), agent("bob"), agent("carol")]
SUPERVISORS = [supervisor("sam"), supervisor("sue")]
STAFF = AGENTS + SUPERVISORS
TEMPLATES = [
    None,
    "{date}/{reason}",
    "{company}/{service}/{datetime:%Y%m%d-%H%M%S}",
    "flows/{reason}_{origin}",
    "x.vcon",
    "x",
]

Step = Callable[[ChatBuilder], ChatBuilder]

texts = st.text(min_size=0, max_size=30)
staff = st.sampled_from(STAFF)
agents = st.sampled_from(AGENTS)


def _assign(who: Actor, permit: bool, record: bool, percentage: int) -> Step:
    return lambda c: c.assign(who, permit=permit, record_chats=record, percentage=percentage)


def _transfer(source: Actor, target: Actor, permit: bool) -> Step:
    return lambda c: c.transfer(source, target, permit=permit)


def _flow_records(step: int, reason: str, template: str | None) -> Step:
    return lambda c: c.flow_records(f"s{step}", reason, template)


steps: st.SearchStrategy[Step] = st.one_of(
    texts.map(lambda t: lambda c: c.customer_says(t)),
    st.tuples(staff, texts).map(lambda a: lambda c: c.says(a[0], a[1])),
    st.tuples(staff, st.sampled_from(["Billing", "Claim"])).map(
        lambda a: lambda c: c.wraps_up(a[0], a[1])
    ),
    st.tuples(staff, texts, st.booleans()).map(
        lambda a: lambda c: c.notes(a[0], a[1], with_transfer=a[2])
    ),
    st.builds(_assign, agents, st.booleans(), st.booleans(), st.integers(0, 100)),
    st.builds(_transfer, agents, agents, st.booleans()),
    st.tuples(st.sampled_from(SUPERVISORS), st.booleans()).map(
        lambda a: lambda c: c.supervisor_joins(a[0], permit=a[1])
    ),
    staff.map(lambda s: lambda c: c.leaves(s)),
    st.builds(
        _flow_records,
        st.integers(1, 9),
        st.sampled_from(["sales", "qa", "complaint"]),
        st.sampled_from(TEMPLATES),
    ),
    st.booleans().map(lambda g: lambda c: c.consent(g)),
    st.just(lambda c: c.discard()),
    staff.map(lambda s: lambda c: c.pause(s)),
    staff.map(lambda s: lambda c: c.resume(s)),
    st.just(lambda c: c.customer_asks_deletion()),
    staff.map(lambda s: lambda c: c.press_delete(s)),
    staff.map(lambda s: lambda c: c.flag_abusive(s)),
)


customers = st.builds(
    CustomerDetails,
    name=st.text(max_size=20),
    email=st.sampled_from(["", "kim@example.com"]),
    answers=st.lists(
        st.builds(Answer, st.sampled_from(["order", "topic"]), st.just("Order"), st.text()),
        max_size=2,
    ).map(tuple),
    page=st.sampled_from(["", "https://shop.example/cart?id=7"]),
)
"""Pre-chat details a customer may have given (R23), or none of them."""


@st.composite
def journals(
    draw: st.DrawFn, *, chat_id: str = "C1", max_steps: int = 25, ended: bool = True
) -> Journal:
    """A chat of up to ``max_steps`` random events, ended unless ``ended`` is False."""
    builder = ChatBuilder(chat_id, customer=draw(st.none() | customers))
    for step in draw(st.lists(steps, max_size=max_steps)):
        step(builder)
    return (builder.end() if ended else builder).journal()
