"""Every error code the API or a socket can give is in docs/protocol.md's table, and every
code in the table is one the server gives (R19).

The codes come from the source: the ``code`` of every :class:`~chatrec.errors.ActionError`,
the literal codes the web layer hands to ``FrameError``, ``error_body``, ``error_frame`` and a
connection's ``error``/``_refuse``, and the codes it assigns; and from the framework
itself, the codes of the refusals Starlette and FastAPI make (a path or method that does
not exist, a body that cannot be read), provoked in process.
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

import chatrec
from chatrec.errors import ActionError
from tests.integration.inprocess import empty_app

ROOT = Path(__file__).parents[2]
WEB = ROOT / "src" / "chatrec" / "web"
PROTOCOL = ROOT / "docs" / "protocol.md"
CODE_CALLS = {"FrameError", "error_body", "error_frame", "Ending"}
"""Functions whose first argument is an error code."""
CODE_METHODS = {"error", "_refuse"}
"""A connection's methods (``self.…``) whose first argument is an error code."""


def subclasses(kind: type[ActionError]) -> Iterator[type[ActionError]]:
    for sub in kind.__subclasses__():
        yield sub
        yield from subclasses(sub)


def action_codes() -> set[str]:
    for module in pkgutil.walk_packages(chatrec.__path__, "chatrec."):
        # Starting the command line, or a migration outside Alembic, is no import.
        if not module.name.endswith("__main__") and ".migrations." not in module.name:
            importlib.import_module(module.name)
    return {kind.code for kind in (ActionError, *subclasses(ActionError))}


def first_code(call: ast.Call) -> str | None:
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    return None


def literal_codes() -> set[str]:
    found: set[str] = set()
    for path in WEB.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                function = node.func
                named = isinstance(function, ast.Name) and function.id in CODE_CALLS
                method = (
                    isinstance(function, ast.Attribute)
                    and isinstance(function.value, ast.Name)
                    and function.value.id == "self"
                    and function.attr in CODE_METHODS
                )
                if (named or method) and (code := first_code(node)) is not None:
                    found.add(code)
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
                if "code" in targets and isinstance(node.value.value, str):
                    found.add(node.value.value)
    return found


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    with empty_app(tmp_path) as app:
        yield app


def post(app: FastAPI, path: str, body: bytes) -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://chatrec") as http:
            return await http.post(path, content=body, headers={"Content-Type": "application/json"})

    return asyncio.run(send())


def framework_codes(app: FastAPI) -> set[str]:
    """The codes of refusals the framework makes before any route of ours runs."""

    async def provoke() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://chatrec") as http:
            return [await http.get("/api/nothing-here"), await http.delete("/api/health")]

    answers = [*asyncio.run(provoke()), post(app, "/api/chats", b'{"service_id": "\xff"}')]
    assert [a.status_code for a in answers] == [404, 405, 400]
    return {a.json()["error"]["code"] for a in answers}


def table_codes() -> set[str]:
    """The first column of the table under ``## Errors``, below its heading row."""
    section = PROTOCOL.read_text().split("\n## Errors\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]
    return {match.group(1) for row in rows if (match := re.match(r"\| `(\w+)` \|", row))}


def test_R19_the_error_table_holds_every_code_and_only_those(app: FastAPI) -> None:
    given = action_codes() | literal_codes() | framework_codes(app)
    documented = table_codes()
    assert given - documented == set(), "codes the server gives that the table lacks"
    assert documented - given == set(), "codes in the table that the server never gives"


def test_R19_a_lone_surrogate_is_invalid_and_a_repeated_key_counts_with_its_last_value(
    app: FastAPI,
) -> None:
    """As docs/protocol.md says under the error table."""
    surrogate = post(app, "/api/login", b'{"login": "a\\ud800", "password": "x"}')
    assert (surrogate.status_code, surrogate.json()["error"]["code"]) == (422, "invalid")
    # The first login would be refused by its length; the last is read, and is wrong.
    repeated = post(app, "/api/login", b'{"login": "", "login": "nobody", "password": "x"}')
    assert (repeated.status_code, repeated.json()["error"]["code"]) == (401, "unauthenticated")
