"""R6: filename templates are validated on save, rendered safely, and never clash."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import string
from datetime import UTC, datetime, timedelta, timezone
from pathlib import PurePosixPath
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatrec.domain.filenames import (
    EMPTY_VALUE,
    MAX_SEGMENT_BYTES,
    MAX_SEGMENTS,
    MAX_TEMPLATE_LENGTH,
    SAMPLE_CONTEXT,
    TOKENS,
    FilenameContext,
    FilenameTemplate,
    assign_unique_names,
    clash_suffix,
    clashing,
    render_filename,
    sample_context,
    sanitise_segment,
)
from chatrec.errors import TemplateError

SAFE_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL"} | {
    f"{port}{n}" for port in ("COM", "LPT") for n in range(10)
}
NO_OPTIONALS = dataclasses.replace(SAMPLE_CONTEXT, queue=None, agent=None, agent_id=None)
DIRECTIVES = ["%Y", "%y", "%m", "%d", "%H", "%M", "%S", "%f", "%j", "%G", "%V", "%u", "%F"]


def suffix(recording_id: str) -> str:
    return "-" + hashlib.sha256(recording_id.encode()).hexdigest()[:8]


def render(source: str, context: FilenameContext = SAMPLE_CONTEXT) -> str:
    return render_filename(FilenameTemplate.parse(source), context)


def parse_or_error(source: str) -> FilenameTemplate | TemplateError:
    try:
        return FilenameTemplate.parse(source)
    except TemplateError as error:
        return error


def assert_safe(path: str, segment_count: int) -> None:
    """The promise of render_filename: relative, inside the root, every segment safe."""
    pure = PurePosixPath(path)
    assert not pure.is_absolute()
    assert pure.parts == tuple(path.split("/"))
    assert len(pure.parts) == segment_count
    root = PurePosixPath("/srv/recordings")
    assert (root / pure).is_relative_to(root)
    for segment in pure.parts:
        assert SAFE_SEGMENT.fullmatch(segment), segment
        assert segment not in {".", ".."}
        assert not segment.startswith(".")
        assert not segment.endswith(".")
        assert "__" not in segment
        assert len(segment.encode()) <= MAX_SEGMENT_BYTES
        assert segment.split(".", 1)[0].upper() not in WINDOWS_DEVICES


# --- validation on save -----------------------------------------------------------------

KNOWN_LIST = (
    "{agent}, {agent_id}, {chat_id}, {company}, {customer_email}, {customer_name}, {date}, "
    "{datetime:<format>}, {origin}, {queue}, {reason}, {recording_id}, {service}, {time}"
)


@pytest.mark.parametrize(
    ("source", "position", "problem"),
    [
        pytest.param("{date}/{agnet}", 7, "unknown token {agnet}", id="unknown-token"),
        pytest.param("{Date}", 0, "unknown token {Date}", id="token-names-are-case-sensitive"),
        pytest.param("{ date }", 0, "unknown token { date }", id="token-with-spaces"),
        pytest.param("{date", 0, "'{' is never closed", id="unclosed-brace"),
        pytest.param("a/{chat_id}_{", 12, "'{' is never closed", id="unclosed-brace-at-end"),
        pytest.param("chat}", 4, "'}' without a matching '{'", id="stray-closing-brace"),
        pytest.param("{{date}}", 1, "tokens cannot be nested", id="doubled-braces"),
        pytest.param("{date{time}}", 5, "tokens cannot be nested", id="nested-token"),
        pytest.param("x{}", 1, "empty token", id="empty-token"),
        pytest.param("{:%Y}", 0, "empty token", id="argument-without-token"),
        pytest.param("{datetime}", 0, "{datetime} needs a strftime format", id="datetime-bare"),
        pytest.param("{datetime:}", 0, "needs a strftime format", id="datetime-empty-format"),
        pytest.param("{date:%Y}", 5, "token {date} takes no ':' argument", id="date-argument"),
        pytest.param("{agent:}", 6, "token {agent} takes no ':' argument", id="empty-argument"),
        pytest.param("{datetime:%Y/%m}", 12, "cannot contain '/'", id="slash-in-format"),
        pytest.param("{datetime:%a}", 10, "directive %a is not supported", id="locale-directive"),
        pytest.param("{datetime:%Y%Q}", 12, "directive %Q is not supported", id="bad-directive"),
        pytest.param("{datetime:%Y%}", 12, "'%' at the end", id="lone-percent"),
        pytest.param("/{date}", 0, "remove the leading '/'", id="absolute-path"),
        pytest.param("//x", 0, "remove the leading '/'", id="absolute-double-slash"),
        pytest.param("../{chat_id}", 0, "'..' is not allowed", id="parent-first"),
        pytest.param("{date}/../x", 7, "'..' is not allowed", id="parent-middle"),
        pytest.param("{date}/..", 7, "'..' is not allowed", id="parent-last"),
        pytest.param("./{chat_id}", 0, "'.' is not allowed", id="dot-segment"),
        pytest.param("a//b", 2, "empty folder name", id="double-slash"),
        pytest.param("{date}/", 6, "empty folder name", id="trailing-slash"),
        pytest.param("", 0, "the template is empty", id="empty-template"),
        pytest.param("...", 0, "renders to an empty name", id="only-dots"),
        pytest.param("{date}/\u0301", 7, "renders to an empty name", id="only-combining-mark"),
        pytest.param("{date}\n", 6, "U+000A", id="newline"),
        pytest.param("a\tb", 1, "U+0009", id="tab"),
        pytest.param("a\x00", 1, "U+0000", id="nul"),
        pytest.param("a\u202eb", 1, "U+202E", id="bidi-override"),
        pytest.param("a" * (MAX_TEMPLATE_LENGTH + 1), MAX_TEMPLATE_LENGTH, "longer than 512"),
        pytest.param("/".join(["a"] * (MAX_SEGMENTS + 1)), 19, "at most 9 levels", id="deep"),
    ],
)
def test_R6_refuses_invalid_template_with_problem_and_position(
    source: str, position: int, problem: str
) -> None:
    with pytest.raises(TemplateError) as raised:
        FilenameTemplate.parse(source)
    assert problem in raised.value.problem
    assert raised.value.position == position
    assert raised.value.template == source


def test_R6_refuses_unknown_token_with_position_and_lists_known_tokens() -> None:
    with pytest.raises(TemplateError) as raised:
        FilenameTemplate.parse("{date}/{customer}")
    assert raised.value.position == 7
    assert raised.value.problem == f"unknown token {{customer}}; known tokens are {KNOWN_LIST}"


def test_R6_unsupported_directive_lists_the_supported_ones() -> None:
    with pytest.raises(TemplateError) as raised:
        FilenameTemplate.parse("{datetime:%c}")
    for directive in [*DIRECTIVES, "%%"]:
        assert directive in raised.value.problem


def test_R6_constructing_a_template_validates_it_like_parse() -> None:
    with pytest.raises(TemplateError):
        FilenameTemplate("{nope}")
    assert FilenameTemplate("{date}") == FilenameTemplate.parse("{date}")


@pytest.mark.parametrize(
    "source",
    [
        "{date}/{company}_{chat_id}_{origin}_{recording_id}",
        "{company}/{service}/{queue}/{agent}_{agent_id}/{datetime:%Y%m%d-%H%M%S}",
        "{datetime:%Y}/{datetime:%m}/{datetime:%d}/{time}_{reason}",
        "a" * MAX_TEMPLATE_LENGTH,
        "/".join(["{chat_id}"] * MAX_SEGMENTS),
        "rec.{chat_id}..{recording_id}",
        ".hidden/{chat_id}",
        "{datetime:%H:%M}",
    ],
)
def test_R6_accepts_valid_template(source: str) -> None:
    template = FilenameTemplate.parse(source)
    assert template.source == source
    for context in (SAMPLE_CONTEXT, NO_OPTIONALS):
        assert_safe(render_filename(template, context), source.count("/") + 1)


# --- rendering --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{date}", "2024-03-14"),
        ("{time}", "092653"),
        ("{datetime:%Y%m%d-%H%M%S}", "20240314-092653"),
        ("{datetime:%y%j.%G-W%V-%u.%f}", "24074.2024-W11-4.000000"),
        ("{datetime:%F}", "2024-03-14"),
        ("{datetime:100%%}", "100_"),
        ("{company}", "Example_Company"),
        ("{service}", "Sales"),
        ("{queue}", "New_business"),
        ("{agent}", "Jane_Doe"),
        ("{agent_id}", "u_4821"),
        ("{chat_id}", "c_01HRZ8K5J2W4"),
        ("{recording_id}", "r_01HRZ8M0Q7TB"),
        ("{reason}", "agent"),
        ("{origin}", "agent"),
        ("{customer_name}", "Alex_Example"),  # R23: only where the template asks
        ("{customer_email}", "alex_example.com"),
        (
            "{date}/{company}_{chat_id}_{origin}_{recording_id}",
            "2024-03-14/Example_Company_c_01HRZ8K5J2W4_agent_r_01HRZ8M0Q7TB",
        ),
        ("{company}/{service}/{queue}", "Example_Company/Sales/New_business"),
        ("Chats of {service}!", "Chats_of_Sales_"),
        (".hidden/{chat_id}", "hidden/c_01HRZ8K5J2W4"),
    ],
)
def test_R6_renders_each_token(source: str, expected: str) -> None:
    assert render(source) == expected


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        pytest.param(
            {"service": "Support", "queue": "General", "agent": ("Alice Martin", "demo-alice")},
            "Demo_Insurance/Support/General/Alice_Martin_demo-alice",
            id="all-its-own",
        ),
        pytest.param({}, "Demo_Insurance/Sales/New_business/Jane_Doe_u_4821", id="name-only"),
    ],
)
def test_R6_a_sample_for_a_company_carries_its_own_names(
    names: dict[str, Any], expected: str
) -> None:
    """A preview shows the company's names; the neutral sample fills only what it lacks."""
    context = sample_context("Demo Insurance", **names)
    assert render("{company}/{service}/{queue}/{agent}_{agent_id}", context) == expected
    assert (context.chat_id, context.started_at) == (
        SAMPLE_CONTEXT.chat_id,
        SAMPLE_CONTEXT.started_at,
    )


@pytest.mark.parametrize(
    ("changes", "source", "expected"),
    [
        pytest.param({"agent": "a/../../etc"}, "{agent}", "a_.._.._etc", id="slash-in-value"),
        pytest.param({"agent": "../.."}, "x/{agent}", "x/_", id="value-is-parent"),
        pytest.param({"agent": ".."}, "{agent}_{chat_id}", "none_c1", id="dots-then-literal"),
        pytest.param({"agent": None}, "{agent}", EMPTY_VALUE, id="none-value"),
        pytest.param({"queue": ""}, "{queue}/{chat_id}", "none/c1", id="empty-value-folder"),
        pytest.param({"queue": None}, "{queue}_{chat_id}", "none_c1", id="none-inside"),
        pytest.param({"agent_id": None}, "a{agent_id}", "anone", id="none-after-literal"),
        pytest.param({"company": "Müller & Söhne"}, "{company}", "Muller_Sohne", id="accents"),
        pytest.param({"company": "李雷"}, "{company}", "_", id="no-ascii-at-all"),
        pytest.param({"company": "ＡＢＣ①"}, "{company}", "ABC1", id="compatibility-forms"),
        pytest.param({"company": "CON"}, "{company}", "_CON", id="windows-device"),
        pytest.param({"company": "nul"}, "{company}.x", "_nul.x", id="windows-device-ext"),
        pytest.param({"company": "CON"}, "{company}_{chat_id}", "CON_c1", id="not-a-device"),
        pytest.param({"company": "x" * 300}, "{company}", "x" * 200, id="capped"),
        pytest.param({"agent": "Jo\\Ann:*?"}, "{agent}", "Jo_Ann_", id="windows-specials"),
        pytest.param({"agent": ".bashrc"}, "{agent}", "bashrc", id="hidden-value"),
        pytest.param({"agent": "x.part."}, ".{agent}", "x.part", id="no-temporary-clash"),
    ],
)
def test_R6_sanitises_token_values_within_their_segment(
    changes: dict[str, Any], source: str, expected: str
) -> None:
    context = dataclasses.replace(SAMPLE_CONTEXT, chat_id="c1", **changes)
    assert render(source, context) == expected


def test_R6_renders_time_of_the_chat_start_in_utc() -> None:
    context = dataclasses.replace(
        SAMPLE_CONTEXT, started_at=datetime(987, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    )
    assert render("{date}_{time}_{datetime:%Y.%f}", context) == "0987-01-02_030405_0987.000006"


@pytest.mark.parametrize(
    "started_at",
    [
        datetime(2024, 3, 14, 9, 26, 53),
        datetime(2024, 3, 14, 9, 26, 53, tzinfo=timezone(timedelta(hours=2))),
    ],
    ids=["naive", "not-utc"],
)
def test_R6_context_refuses_a_start_time_that_is_not_utc(started_at: datetime) -> None:
    with pytest.raises(ValueError, match="must be timezone-aware UTC"):
        dataclasses.replace(SAMPLE_CONTEXT, started_at=started_at)


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        ("", EMPTY_VALUE),
        ("...", EMPTY_VALUE),
        ("..a..", "a"),
        ("a  b", "a_b"),
        ("a__-__b", "a_-_b"),
        ("COM1.txt", "_COM1.txt"),
        ("lpt9", "_lpt9"),
        ("COM10", "COM10"),
        ("CONSOLE", "CONSOLE"),
        ("a" * 199 + ".b", "a" * 199),
        ("AUX." + "a" * 300, "_AUX." + "a" * 195),
        ("ﬁle", "file"),
    ],
)
def test_R6_sanitise_segment(segment: str, expected: str) -> None:
    assert sanitise_segment(segment) == expected


# --- uniqueness -------------------------------------------------------------------------


def test_R6_five_flow_recordings_of_one_chat_get_five_distinct_names() -> None:
    template = FilenameTemplate.parse("{date}/{company}_{chat_id}_{origin}")
    contexts = [
        dataclasses.replace(SAMPLE_CONTEXT, origin="flow", recording_id=f"r{i}") for i in range(5)
    ]
    base = render_filename(template, contexts[0])
    candidates = [(c.recording_id, render_filename(template, c)) for c in contexts]

    names = assign_unique_names(candidates)

    assert names == {
        "r0": base,
        "r1": base + suffix("r1"),
        "r2": base + suffix("r2"),
        "r3": base + suffix("r3"),
        "r4": base + suffix("r4"),
    }
    assert len({name.casefold() for name in names.values()}) == 5


def test_R6_two_chats_of_the_same_second_get_distinct_names_when_first_is_taken() -> None:
    template = FilenameTemplate.parse("{datetime:%Y%m%d%H%M%S}")
    first = render_filename(template, SAMPLE_CONTEXT)
    second_context = dataclasses.replace(SAMPLE_CONTEXT, chat_id="c2", recording_id="r2")

    names = assign_unique_names([("r2", render_filename(template, second_context))], [first])

    assert first == "20240314092653"
    assert names == {"r2": first + suffix("r2")}


def test_R6_clash_is_case_insensitive() -> None:
    names = assign_unique_names([("r1", "Sales/Chat"), ("r2", "sales/chat")], ["other"])
    assert names == {"r1": "Sales/Chat", "r2": "sales/chat" + suffix("r2")}


def test_R6_suffix_is_stable_and_counter_follows_when_suffix_is_taken() -> None:
    taken = ["x", "x" + suffix("r1"), "X" + suffix("r1") + "-2"]
    names = assign_unique_names([("r1", "x"), ("r2", "y")], taken)
    assert names == {"r1": "x" + suffix("r1") + "-3", "r2": "y"}
    assert clash_suffix("r1") == suffix("r1")


def test_R6_first_holder_keeps_its_name_and_later_names_never_shadow_it() -> None:
    collide = "x" + suffix("r2")
    names = assign_unique_names([("r1", "x"), ("r2", "x"), ("r3", collide)])
    assert names == {"r1": "x", "r2": collide, "r3": collide + suffix("r3")}


def test_R6_refuses_a_recording_id_twice() -> None:
    with pytest.raises(ValueError, match="'r1' appears twice"):
        assign_unique_names([("r1", "a"), ("r1", "b")])


# --- properties -------------------------------------------------------------------------

literal_text = st.text(
    alphabet=st.characters(blacklist_characters="{}/", blacklist_categories=("Cc", "Cf", "Cs")),
    max_size=8,
)
datetime_format = (
    st.lists(
        st.one_of(st.sampled_from([*DIRECTIVES, "%%"]), st.text("-_.:T Z", max_size=3)),
        min_size=1,
        max_size=6,
    )
    .map("".join)
    .filter(bool)
)
placeholder = st.one_of(
    st.sampled_from(sorted(TOKENS - {"datetime"})).map(lambda name: "{" + name + "}"),
    datetime_format.map(lambda fmt: "{datetime:" + fmt + "}"),
)
segment = st.one_of(
    st.tuples(literal_text, placeholder, literal_text, placeholder).map("".join),
    st.tuples(literal_text, placeholder).map("".join),
    st.text(string.ascii_letters + string.digits + "._- ", min_size=1, max_size=12).filter(
        lambda text: text.strip(".")
    ),
)
valid_template = (
    st.lists(segment, min_size=1, max_size=MAX_SEGMENTS)
    .map("/".join)
    .filter(lambda source: len(source) <= MAX_TEMPLATE_LENGTH)
)
template_ish = st.one_of(
    valid_template,
    st.lists(st.sampled_from([*"{}/:.%a_", "{date}", "{datetime:%Y}", "\n"])).map("".join),
    st.text(),
)
value = st.text()
contexts = st.builds(
    FilenameContext,
    started_at=st.datetimes(
        min_value=datetime(1000, 1, 1),
        max_value=datetime(9999, 12, 31),
        timezones=st.just(UTC),
    ),
    company=value,
    service=value,
    chat_id=value,
    recording_id=value,
    reason=value,
    origin=st.sampled_from(["agent", "flow", "abusive"]),
    queue=st.none() | value,
    agent=st.none() | value,
    agent_id=st.none() | value,
)


@given(source=template_ish)
def test_R6_property_parse_accepts_or_names_a_position_inside_the_template(source: str) -> None:
    template = parse_or_error(source)
    if isinstance(template, TemplateError):
        assert 0 <= template.position < max(len(source), 1)
        assert template.problem
        return
    for context in (SAMPLE_CONTEXT, NO_OPTIONALS):
        assert_safe(render_filename(template, context), len(template.segments))


@given(source=valid_template, context=contexts)
def test_R6_property_rendered_path_is_safe_for_any_values(
    source: str, context: FilenameContext
) -> None:
    template = FilenameTemplate.parse(source)
    rendered = render_filename(template, context)
    assert_safe(rendered, source.count("/") + 1)
    assert rendered == render_filename(template, context)


@given(segment_text=st.text())
def test_R6_property_sanitise_segment_is_safe_and_idempotent(segment_text: str) -> None:
    cleaned = sanitise_segment(segment_text)
    assert_safe(cleaned, 1)
    assert sanitise_segment(cleaned) == cleaned


@given(
    moment=st.datetimes(
        min_value=datetime(1000, 1, 1),
        max_value=datetime(9999, 12, 31),
        timezones=st.just(UTC),
    ),
    fmt=datetime_format,
)
def test_R6_property_datetime_format_agrees_with_strftime(moment: datetime, fmt: str) -> None:
    context = dataclasses.replace(SAMPLE_CONTEXT, started_at=moment)
    assert render("{datetime:" + fmt + "}", context) == sanitise_segment(moment.strftime(fmt))


base_names = st.sampled_from(["a", "A", "a/b", "A/B", "b", "a" + suffix("r1"), "a-2"])


@given(
    candidates=st.lists(
        st.tuples(st.sampled_from([f"r{i}" for i in range(8)]), base_names),
        unique_by=lambda candidate: candidate[0],
        max_size=8,
    ),
    taken=st.lists(base_names | st.text(max_size=4), max_size=5),
)
def test_R6_property_unique_names_never_collide_nor_reuse_taken(
    candidates: list[tuple[str, str]], taken: list[str]
) -> None:
    names = assign_unique_names(candidates, taken)

    assert names == assign_unique_names(candidates, taken)
    assert list(names) == [recording_id for recording_id, _ in candidates]
    folded = [name.casefold() for name in names.values()]
    assert len(set(folded)) == len(folded)
    assert not set(folded) & {name.casefold() for name in taken}
    seen = {name.casefold() for name in taken}
    for recording_id, base in candidates:
        name = names[recording_id]
        assert name.startswith(base)
        if base.casefold() not in seen:
            assert name == base
        else:
            assert name.startswith(base + suffix(recording_id))
        seen.add(name.casefold())


@pytest.mark.parametrize(
    ("name", "candidate", "clashes"),
    [
        ("Support/Alice", "Support/Alice", True),
        ("support/ALICE", "Support/Alice", True),  # whatever the case
        ("Support/Alice-1a2b3c4d", "Support/Alice", True),  # continues the candidate
        ("SUPPORT/alice-2", "Support/Alice", True),
        ("Support/Alicia", "Support/Alice", False),
        ("Support/Alice_2", "Support/Alice", False),  # only "-" continues a name
        ("Support/Alice", "Support/Alice-1a2b3c4d", False),  # the shorter is not taken
    ],
)
def test_R6_a_name_clashes_with_a_candidate_it_equals_or_continues(
    name: str, candidate: str, clashes: bool
) -> None:
    assert clashing([name], [candidate]) == ({name} if clashes else set())


def test_R6_names_continued_by_a_clash_suffix_clash_with_their_base() -> None:
    base = "Support/Alice"
    chosen = assign_unique_names([("r1", base), ("r2", base), ("r3", base)])
    assert clashing(chosen.values(), [base]) == set(chosen.values())
