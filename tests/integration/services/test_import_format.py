"""The import file format of docs/administration.md: its example meets the JSON Schema
shipped in the package, and the importer applies it (R3, R19)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from chatrec.services.access import Principal
from chatrec.services.admin import Administration
from chatrec.services.admin.imports import SECTIONS, USER_KEYS
from chatrec.store.store import Store

DOCS = Path(__file__).resolve().parents[3] / "docs" / "administration.md"
OPERATOR = Principal.command_line("test")


def _example() -> str:
    """The first YAML block of the "Import file format" section."""
    section = DOCS.read_text(encoding="utf-8").split("\n## Import file format\n", 1)[1]
    return section.split("```yaml\n", 1)[1].split("```", 1)[0]


def _schema() -> dict[str, Any]:
    text = resources.files("chatrec.services.admin").joinpath("imports.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return schema


def _support_flow(name: str) -> str:
    """What ``cp src/chatrec/flows/examples/support.yaml .`` puts beside the example."""
    assert name == "support.yaml"
    return resources.files("chatrec.flows").joinpath("examples/support.yaml").read_text()


def test_R19_the_documented_example_meets_the_shipped_schema() -> None:
    errors = list(Draft202012Validator(_schema()).iter_errors(yaml.safe_load(_example())))
    assert errors == []


def test_R3_the_schema_refuses_a_recording_key_on_a_queue() -> None:
    document = {"queues": [{"name": "Claims", "record": True}]}
    assert not Draft202012Validator(_schema()).is_valid(document)


def test_R19_the_schema_names_what_the_importer_reads() -> None:
    schema = _schema()
    assert tuple(schema["properties"]) == SECTIONS
    assert set(schema["properties"]["users"]["items"]["properties"]) == USER_KEYS


def test_R19_the_importer_applies_the_documented_example(store: Store) -> None:
    admin = Administration(store, lambda: datetime(2026, 11, 27, 9, tzinfo=UTC))
    admin.companies.create(OPERATOR, "acme", "Acme", ["call_recording", "webchat"])
    done = admin.imports.run(
        OPERATOR, _example(), company_id="acme", label="acme-setup.yaml", read_file=_support_flow
    )
    assert done.summary() == "2 queues, 2 flows, 3 services, 5 users"
    assert sorted(done.passwords) == ["ada", "bob", "carol", "sam"]  # alice's was given
    flows = {flow.name: flow.flow_id for flow in done.flows}
    assert {s.name: s.flow_id for s in done.services} == {
        "Support": flows["Support"],
        "Claims": flows["Claims"],
        "Callback": None,
    }
    users = {user.login: user for user in done.users}
    assert (users["carol"].record_percentage, users["alice"].capacity) == (50, 4)
    assert (users["bob"].permit_recordings, users["bob"].record_chats) == (False, False)


def test_R19_the_example_is_complete_every_section_and_every_key_of_a_login() -> None:
    example = yaml.safe_load(_example())
    assert tuple(example) == SECTIONS
    assert {key for user in example["users"] for key in user} == USER_KEYS
