"""A served app's routes are built before its first request (issue 13: loop stalls).

FastAPI builds an included router's routes, their validators among them, on the first
request through it: on a node just started, about 0.5 s of the event loop, and objects
made after the start-up heap was frozen. :func:`prepare_routes` builds them at start.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import TypeAdapter

from chatrec.web.app import prepare_routes
from tests.integration.inprocess import empty_app


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    with empty_app(tmp_path) as app:
        yield app


def validators() -> int:
    """Validators alive in this process: FastAPI makes one per field of a route it builds.
    Unreachable ones (earlier tests' apps) are collected first, so only live ones count."""
    gc.collect()
    return sum(isinstance(found, TypeAdapter) for found in gc.get_objects())


def first_requests(app: FastAPI) -> list[int]:
    """A login refused for its body, and a widget's start refused for its service."""

    async def send() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://chatrec") as http:
            login = await http.post("/api/login", json={})
            start = await http.post("/api/chats", json={"service_id": "no-such-service"})
            return [login.status_code, start.status_code]

    return asyncio.run(send())


def test_a_prepared_apps_first_requests_build_no_route(app: FastAPI) -> None:
    prepare_routes(app)
    before = validators()
    statuses = first_requests(app)
    assert all(400 <= status < 500 for status in statuses), statuses
    assert validators() == before


def test_an_unprepared_apps_first_request_builds_its_routes(app: FastAPI) -> None:
    """What the test above guards against: FastAPI builds routes on first use."""
    before = validators()
    first_requests(app)
    assert validators() > before
