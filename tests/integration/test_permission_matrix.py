"""The permission matrix: every route and WebSocket action, as every kind of caller (R2, R18).

One real server holds company A (the demo company, ``demo``) and company B (``globex``),
each with an administrator, a supervisor and agents, and the system operator, who
belongs to neither.  ``RULES`` says, one block per route, who may call it; the routes
the application serves (``app.routes``, and the server's OpenAPI schema) must match
``RULES`` exactly, so a new endpoint without a rule fails
``test_R18_every_route_and_frame_has_a_rule``.

Every request names company A's objects: an id of A in the path or body, and
``?company_id=demo`` where a route takes one.  So staff without the role get 403 (the
role is checked first, which reveals nothing: it does not depend on the id), B's staff
with the role 404 (another company's id is unknown, never forbidden), anonymous callers
401, or a redirect to the login for pages.  The role is checked before anything sent
is read: a malformed body gets the same 401 or 403 as a good one (R19).  The API is called with
``Authorization: Bearer``, as automation does, so the CSRF check of cookie sessions
does not apply; pages are called with the session cookie, as a browser does.

Each test collects every mismatch and fails once, listing them all.
"""

from __future__ import annotations

import itertools
import json
import re
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import create_engine, text
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from chatrec.bootstrap import build
from chatrec.config import Config
from chatrec.flows.examples import example_source
from chatrec.web import protocol
from chatrec.web.app import create_app
from tests.conftest import TEST_COST_PARAMETERS
from tests.integration.clients import Client, Frame, run
from tests.integration.server import ServerProcess, free_port

pytestmark = pytest.mark.long  # tens of seconds: handed out first (tests/conftest.py)

# -- who calls -------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    label: str
    login: str | None = None
    role: str | None = None
    company: str | None = None
    """``"A"`` or ``"B"``; ``None`` for anonymous callers and the operator (no tenant)."""


ANONYMOUS = Caller("anonymous")
OPERATOR = Caller("operator olga", "olga", "operator")
A_ADMIN = Caller("A administrator ada", "ada", "administrator", "A")
A_SUPERVISOR = Caller("A supervisor sam", "sam", "supervisor", "A")
A_AGENT = Caller("A agent alice", "alice", "agent", "A")
A_OTHER_AGENT = Caller("A agent carol (not in the chat)", "carol", "agent", "A")
B_ADMIN = Caller("B administrator", "globex.admin", "administrator", "B")
B_SUPERVISOR = Caller("B supervisor", "globex.supervisor", "supervisor", "B")
B_AGENT = Caller("B agent", "globex.agent", "agent", "B")

HTTP_CALLERS = (
    ANONYMOUS,
    OPERATOR,
    A_ADMIN,
    A_SUPERVISOR,
    A_AGENT,
    B_ADMIN,
    B_SUPERVISOR,
    B_AGENT,
)
STAFF_CALLERS = tuple(caller for caller in HTTP_CALLERS if caller.login)
B_CALLERS = (B_ADMIN, B_SUPERVISOR, B_AGENT)
PASSWORD = "matrix-password-1"
"""Of every login the test creates."""
PASSWORD_OF = {"password": PASSWORD}

# -- the HTTP rules --------------------------------------------------------------------

OK = "ok"  # any 2xx: the call did what it was asked
Outcome = str  # "ok", "401", "403", "404", or "→/path" for a redirect
RouteKey = tuple[str, str]  # (method, path template); ("WS", path) and ("MOUNT", path) too

EVERY_STAFF = ("operator", "administrator", "supervisor", "agent")
OVERSEERS = ("operator", "administrator", "supervisor")
ADMINS = ("operator", "administrator")


@dataclass(frozen=True)
class Rule:
    """Who may call a route, and so what every caller gets.

    ``roles`` may, on their own company (the operator on any company it names).
    ``names_a``: the request names company A's objects, so B's staff get 404.
    ``role_first``: the route refuses a role before it looks up the id (every route
    whose roles its guard declares), so B's staff without the role get 403.
    ``page``: an anonymous caller is sent to the login page rather than refused.
    ``except_for``: deliberate exceptions, each explained where the rule is written.
    """

    roles: frozenset[str] = frozenset()
    public: bool = False
    names_a: bool = True
    role_first: bool = True
    page: bool = False
    except_for: Mapping[Caller, Outcome] = field(default_factory=dict)

    def expect(self, caller: Caller) -> Outcome:
        if caller in self.except_for:
            return self.except_for[caller]
        if self.public:
            return OK
        if caller.role is None:
            return "→/login" if self.page else "401"
        allowed = caller.role in self.roles
        if caller.company == "B" and self.names_a and (allowed or not self.role_first):
            return "404"
        return OK if allowed else "403"


ANYONE = Rule(public=True)


def may(
    *roles: str,
    names_a: bool = True,
    role_first: bool = True,
    page: bool = False,
    except_for: Mapping[Caller, Outcome] | None = None,
) -> Rule:
    return Rule(frozenset(roles), False, names_a, role_first, page, except_for or {})


CONSOLE = may(*ADMINS, names_a=False, page=True)
REFUSED = dict.fromkeys(STAFF_CALLERS, "400")
"""Staff send a wrong password or code in the sample body: refused as it stands."""
CONSOLE_RECORD = may(*ADMINS, page=True, except_for={B_ADMIN: OK})
"""A record's page is a shell that reads nothing: B's administrator gets the shell, and
its script a 404 from the API (which the API rules above check)."""

NOT_OWN = dict.fromkeys(STAFF_CALLERS, "404")
"""Another login's own canned response is unknown to every caller, its administrators'
and the operator's too (R18)."""
PERSONAL_NOTE = "matrix-personal-note"
"""The text of A's target agent's own canned response, which no caller may read."""

NOT_THEIRS = {caller: "404" for caller in STAFF_CALLERS if caller != A_AGENT}
"""A's sample chat was Alice's: no other login took part, so none has it in a history."""

METRICS = Rule(except_for=dict.fromkeys(HTTP_CALLERS, "401"))
"""Every company's volumes: only the operator's metrics token, which no login's token is,
may read them (``chatrec demo`` makes one)."""

RULES: dict[RouteKey, Rule] = {
    # -- public: what the widget and the login page use (the service is A's) ------------
    ("GET", "/api/health"): ANYONE,
    ("GET", "/api/services/{service_id}"): ANYONE,
    ("POST", "/api/chats"): ANYONE,
    ("POST", "/api/login"): ANYONE,
    # The public keys recordings are signed with, for the QA side (R21); A's named.
    ("GET", "/api/companies/{company_id}/signing-keys"): ANYONE,
    # -- any staff login, on itself and its own company (R18) ---------------------------
    ("GET", "/api/me"): may(*EVERY_STAFF, names_a=False),
    ("POST", "/api/logout"): may(*EVERY_STAFF, names_a=False),
    ("POST", "/api/logout-everywhere"): may(*EVERY_STAFF, names_a=False),
    # -- one's own account: a wrong current password or code is refused (400), so no
    # caller's password changes and no second factor goes on under the matrix. ---------
    ("PUT", "/api/me/password"): may(*EVERY_STAFF, names_a=False, except_for=REFUSED),
    ("POST", "/api/me/totp"): may(*EVERY_STAFF, names_a=False),
    ("POST", "/api/me/totp/confirm"): may(*EVERY_STAFF, names_a=False, except_for=REFUSED),
    ("POST", "/api/me/totp/disable"): may(*EVERY_STAFF, names_a=False, except_for=REFUSED),
    # Supervisors list their company's open chats, agents the chats they are in.
    ("GET", "/api/chats"): may(*EVERY_STAFF, names_a=False),
    ("GET", "/api/directory"): may(*EVERY_STAFF, names_a=False),
    ("GET", "/api/wrap-up-codes"): may(*EVERY_STAFF, names_a=False),
    # One's own past chats (R23): only the chats one took part in.
    ("GET", "/api/me/history"): may(*EVERY_STAFF, names_a=False),
    # The supervisors' dashboard (issue 15): the company's overseers.
    ("GET", "/api/dashboard"): may(*OVERSEERS),
    ("GET", "/api/report"): may(*OVERSEERS),
    ("GET", "/api/report/export"): may(*OVERSEERS),
    ("GET", "/api/me/history/{chat_id}"): may(*EVERY_STAFF, except_for=NOT_THEIRS),
    # The customer panel (R23): as the chat's messages, for its company's supervisors and
    # the staff who took part in it (Alice, in A's sample chat).
    ("GET", "/api/chats/{chat_id}/customer"): may(
        *EVERY_STAFF, except_for={**NOT_THEIRS, A_SUPERVISOR: OK}
    ),
    # The template sent, on a sample chat with the caller's own company's names (the
    # operator's: a neutral one); it names no company.
    ("POST", "/api/admin/template-preview"): may(*EVERY_STAFF, names_a=False),
    # -- a chat's record: why it was recorded, its journal (R14, R17) --------------------
    # The operator reads any company's; it names no company, so the role comes first.
    ("GET", "/api/chats/{chat_id}/explanation"): may(*OVERSEERS),
    ("GET", "/api/chats/{chat_id}/journal"): may(*OVERSEERS),
    # -- files sent in chats (R23): the customer by the chat token alone, which no staff
    # token is; staff in the open chat (A's sample chat has ended: nobody sends into it,
    # nor finds a file in it).
    ("POST", "/api/widget/attachments"): Rule(except_for=dict.fromkeys(HTTP_CALLERS, "401")),
    ("GET", "/api/widget/attachments/{attachment_id}"): Rule(
        except_for=dict.fromkeys(HTTP_CALLERS, "401")
    ),
    ("POST", "/api/chats/{chat_id}/attachments"): may(*EVERY_STAFF, except_for=NOT_OWN),
    ("GET", "/api/chats/{chat_id}/attachments/{attachment_id}"): may(
        *EVERY_STAFF, except_for=NOT_OWN
    ),
    ("GET", "/api/chats/history"): may(*OVERSEERS),
    ("GET", "/api/admin/chats"): may(*OVERSEERS),
    ("GET", "/api/admin/chats/{chat_id}/journal"): may(*OVERSEERS),
    # -- deliveries (R16): per recording, and the deprecated per-file routes -----------
    ("GET", "/api/admin/deliveries"): may(*OVERSEERS),
    ("GET", "/api/admin/deliveries/{recording_id}"): may(*OVERSEERS),
    ("POST", "/api/admin/deliveries/retry"): may(*OVERSEERS),
    ("GET", "/api/deliveries"): may(*OVERSEERS),
    ("GET", "/api/deliveries/{delivery_id}"): may(*OVERSEERS),
    ("POST", "/api/deliveries/retry"): may(*OVERSEERS),
    # -- companies and their products: the operator only (R1) --------------------------
    ("GET", "/api/admin/companies"): may("operator", names_a=False),
    ("POST", "/api/admin/companies"): may("operator", names_a=False),
    ("PUT", "/api/admin/companies/{company_id}/products"): may("operator"),
    # -- the servers serving the database: the operator only (R20) ----------------------
    ("GET", "/api/admin/nodes"): may("operator", names_a=False),
    # -- the company's recording settings: supervisors read, administrators change ------
    ("GET", "/api/admin/companies/{company_id}"): may(*OVERSEERS),
    ("PATCH", "/api/admin/companies/{company_id}"): may(*ADMINS),
    ("GET", "/api/admin/company"): may(*OVERSEERS),
    ("PATCH", "/api/admin/company"): may(*ADMINS),
    # A new signing key for the company (R21), audited.
    ("POST", "/api/admin/companies/{company_id}/signing-keys"): may(*ADMINS),
    # Masking settings tried on a sample text (R22); nothing is kept or named.
    ("POST", "/api/admin/masking-preview"): may(*ADMINS, names_a=False),
    # -- user logins (R4, R7, R12a) ------------------------------------------------------
    ("GET", "/api/admin/users"): may(*ADMINS),
    ("POST", "/api/admin/users"): may(*ADMINS),
    ("GET", "/api/admin/users/{user_id}"): may(*ADMINS),
    ("PATCH", "/api/admin/users/{user_id}"): may(*ADMINS),
    ("POST", "/api/admin/users/bulk"): may(*ADMINS),
    ("POST", "/api/admin/users/{user_id}/password"): may(*ADMINS),
    ("DELETE", "/api/admin/users/{user_id}/totp"): may(*ADMINS),
    # -- queues (R3) and services: supervisors read, administrators change --------------
    ("GET", "/api/admin/queues"): may(*OVERSEERS),
    ("POST", "/api/admin/queues"): may(*ADMINS),
    ("PATCH", "/api/admin/queues/{queue_id}"): may(*ADMINS),
    ("GET", "/api/admin/services"): may(*OVERSEERS),
    ("POST", "/api/admin/services"): may(*ADMINS),
    ("PATCH", "/api/admin/services/{service_id}"): may(*ADMINS),
    # -- chat flows (R5b, R10) -----------------------------------------------------------
    ("GET", "/api/admin/flows"): may(*ADMINS),
    ("POST", "/api/admin/flows"): may(*ADMINS),
    ("POST", "/api/admin/flows/check"): may(*ADMINS),
    ("POST", "/api/admin/flows/preview"): may(*ADMINS),
    ("GET", "/api/admin/flows/{flow_id}"): may(*ADMINS),
    ("GET", "/api/admin/flows/{flow_id}/versions"): may(*ADMINS),
    ("PUT", "/api/admin/flows/{flow_id}"): may(*ADMINS),
    # -- the recording platform (R16): secrets are the administrator's alone ------------
    ("GET", "/api/admin/destination"): may(*ADMINS),
    ("PUT", "/api/admin/destination"): may(*ADMINS),
    ("POST", "/api/admin/destination/test"): may(*ADMINS),
    # -- the audit trail ------------------------------------------------------------------
    ("GET", "/api/admin/audit-entries"): may(*ADMINS),
    ("GET", "/api/admin/audit-entries/export"): may(*ADMINS),
    ("GET", "/api/admin/audit"): may(*ADMINS),
    ("GET", "/api/admin/audit/export"): may(*ADMINS),
    # -- API tokens: every login its own; administrators revoke their company's --------
    ("POST", "/api/tokens"): may(*EVERY_STAFF, names_a=False),
    ("GET", "/api/tokens"): may(*EVERY_STAFF, names_a=False),
    # The token is of A's agent ``Objects.user``: not the caller's own.  Every login may
    # revoke tokens (its own), so the token is looked up before the role is weighed.
    ("DELETE", "/api/tokens/{token_id}"): may(*ADMINS, role_first=False),
    # -- canned responses (R23): every login offered the company's and its own; its own
    # changed by it alone (the path names A's target agent's: nobody else reaches it) --
    ("GET", "/api/canned-responses"): may(*EVERY_STAFF, names_a=False),
    ("POST", "/api/me/canned-responses"): may(*EVERY_STAFF, names_a=False),
    ("PATCH", "/api/me/canned-responses/{response_id}"): may(*EVERY_STAFF, except_for=NOT_OWN),
    ("DELETE", "/api/me/canned-responses/{response_id}"): may(*EVERY_STAFF, except_for=NOT_OWN),
    # The company's: supervisors read, administrators change, as queues.
    ("GET", "/api/admin/canned-responses"): may(*OVERSEERS),
    ("POST", "/api/admin/canned-responses"): may(*ADMINS),
    ("PATCH", "/api/admin/canned-responses/{response_id}"): may(*ADMINS),
    ("DELETE", "/api/admin/canned-responses/{response_id}"): may(*ADMINS),
    # -- pages (called with the session cookie) and files -------------------------------
    ("GET", "/"): ANYONE,
    ("GET", "/login"): Rule(public=True, except_for=dict.fromkeys(STAFF_CALLERS, "→/portal")),
    ("GET", "/account"): may(*EVERY_STAFF, names_a=False, page=True),
    # Administrators and the operator take no chats: the portal sends them to the console.
    ("GET", "/portal"): may(
        "supervisor",
        "agent",
        names_a=False,
        page=True,
        except_for=dict.fromkeys((OPERATOR, A_ADMIN, B_ADMIN), "→/console"),
    ),
    ("GET", "/dashboard"): may(
        "supervisor",
        "administrator",
        names_a=False,
        page=True,
        except_for={OPERATOR: "→/console", A_AGENT: "→/portal", B_AGENT: "→/portal"},
    ),
    # -- the console: page shells over the administration API (``?company_id=demo``) ----
    ("GET", "/console"): CONSOLE,
    ("GET", "/console/users"): CONSOLE,
    ("GET", "/console/queues-services"): CONSOLE,
    ("GET", "/console/canned-responses"): CONSOLE,
    ("GET", "/console/flows"): CONSOLE,
    ("GET", "/console/flows/new"): CONSOLE,
    ("GET", "/console/recording"): CONSOLE,
    ("GET", "/console/destination"): CONSOLE,
    ("GET", "/console/chats"): CONSOLE,
    ("GET", "/console/audit"): CONSOLE,
    ("GET", "/console/companies"): may("operator", names_a=False, page=True),
    ("GET", "/console/deliveries"): CONSOLE,
    ("GET", "/console/rules"): CONSOLE,
    ("GET", "/console/flows/{flow_id}"): CONSOLE_RECORD,
    ("GET", "/console/chats/{chat_id}"): CONSOLE_RECORD,
    ("GET", "/widget.js"): ANYONE,
    ("GET", "/widget/demo"): ANYONE,
    ("GET", "/widget/frame/{service_id}"): ANYONE,
    ("MOUNT", "/static"): ANYONE,
    # Counts only: no company, chat or file is named (see chatrec.web.metrics).
    ("GET", "/metrics"): METRICS,
    ("GET", "/openapi.json"): ANYONE,
    ("GET", "/docs"): ANYONE,
    ("MOUNT", "/docs/assets"): ANYONE,
}
WEBSOCKET_ROUTES = {("WS", "/ws/staff"), ("WS", "/ws/customer")}
"""Their rules are the WebSocket tables below."""

MOUNT_SAMPLES = {"/static": "/static/app.css", "/docs/assets": "/docs/assets/swagger-ui.css"}
FRESH_SESSION = {("POST", "/api/logout"), ("POST", "/api/logout-everywhere")}
"""Routes that end the caller's session: called with a session of their own."""
ENDS_EVERY_SESSION = {("POST", "/api/logout-everywhere")}
"""Routes that end every session of the caller: its kept session is made anew after."""

FLOW = example_source("support")


def closed_platform(port: int) -> dict[str, object]:
    """A recording platform nobody listens on: Test connection fails fast, harmlessly."""
    return {
        "host": "127.0.0.1",
        "port": port,
        "username": "matrix",
        "folder": "incoming",
        "password": "matrix-secret",
    }


Body = Callable[["World", int], object]
BODIES: dict[RouteKey, Body] = {
    ("POST", "/api/login"): lambda w, n: {"login": "alice", "password": w.server.logins()["alice"]},
    ("POST", "/api/chats"): lambda w, n: {"service_id": "demo-support"},
    ("POST", "/api/widget/attachments"): lambda w, n: "a text file",
    ("POST", "/api/chats/{chat_id}/attachments"): lambda w, n: "a text file",
    ("POST", "/api/tokens"): lambda w, n: {"name": f"matrix {n}"},
    ("POST", "/api/admin/template-preview"): lambda w, n: {"template": "{date}/{chat_id}"},
    ("POST", "/api/admin/masking-preview"): lambda w, n: {"text": "4111 1111 1111 1111"},
    ("POST", "/api/deliveries/retry"): lambda w, n: {"ids": [w.a.delivery]},
    ("POST", "/api/admin/deliveries/retry"): lambda w, n: {"recording_ids": [w.a.recording]},
    ("POST", "/api/admin/companies"): lambda w, n: {"company_id": f"matrix-{n}", "name": "M"},
    ("PUT", "/api/admin/companies/{company_id}/products"): lambda w, n: {
        "products": ["call_recording", "webchat"]
    },
    ("PATCH", "/api/admin/company"): lambda w, n: {"name": "Demo Insurance"},
    ("PATCH", "/api/admin/companies/{company_id}"): lambda w, n: {"name": "Demo Insurance"},
    ("POST", "/api/admin/users"): lambda w, n: {
        "login": f"matrix.{n}",
        "name": "Matrix User",
        "role": "agent",
    },
    ("PATCH", "/api/admin/users/{user_id}"): lambda w, n: {"record_percentage": 50},
    ("POST", "/api/admin/users/bulk"): lambda w, n: {
        "user_ids": [w.a.user],
        "changes": {"capacity": 2},
    },
    ("POST", "/api/admin/users/{user_id}/password"): lambda w, n: {},
    ("PUT", "/api/me/password"): lambda w, n: {
        "current_password": "not-the-password",
        "new_password": "a-new-password",
    },
    ("POST", "/api/me/totp/confirm"): lambda w, n: {"code": "not-a-code"},
    ("POST", "/api/me/totp/disable"): lambda w, n: {"password": "not-the-password"},
    ("POST", "/api/admin/queues"): lambda w, n: {"name": f"Matrix queue {n}"},
    ("PATCH", "/api/admin/queues/{queue_id}"): lambda w, n: {"name": f"Matrix renamed {n}"},
    ("POST", "/api/admin/services"): lambda w, n: {"name": f"Matrix service {n}"},
    ("PATCH", "/api/admin/services/{service_id}"): lambda w, n: {"name": f"Matrix {n}"},
    ("POST", "/api/admin/flows"): lambda w, n: {"source": FLOW},
    ("POST", "/api/admin/flows/check"): lambda w, n: {"source": FLOW},
    ("POST", "/api/admin/flows/preview"): lambda w, n: {"source": FLOW, "answers": ["Billing"]},
    ("PUT", "/api/admin/flows/{flow_id}"): lambda w, n: {"source": FLOW},
    ("PUT", "/api/admin/destination"): lambda w, n: closed_platform(w.closed_port),
    ("POST", "/api/me/canned-responses"): lambda w, n: {"name": f"m{n}", "text": "Hi"},
    ("PATCH", "/api/me/canned-responses/{response_id}"): lambda w, n: {"text": f"M {n}"},
    ("POST", "/api/admin/canned-responses"): lambda w, n: {"name": f"m{n}", "text": "Hi"},
    ("PATCH", "/api/admin/canned-responses/{response_id}"): lambda w, n: {"text": f"M {n}"},
    ("POST", "/api/admin/destination/test"): lambda w, n: {
        "settings": closed_platform(w.closed_port)
    },
}

# -- the world: both companies and the objects the routes name -------------------------


@dataclass
class Objects:
    """One company's objects whose ids the routes take."""

    user: str = ""  # an agent nobody logs in as: password resets and edits are harmless
    queue: str = ""
    service: str = ""
    flow: str = ""
    chat: str = ""  # ended, with recordings
    delivery: int = 0  # a file of ``recording``
    recording: str = ""
    waiting_chat: str = ""  # open, in its flow: no agent is in it
    agent: str = ""  # an agent who takes chats
    tokens: list[str] = field(default_factory=list)  # API token ids of ``user``, to revoke
    responses: list[str] = field(default_factory=list)  # the company's canned, to remove
    own_response: str = ""  # ``user``'s own canned response


@dataclass
class World:
    server: ServerProcess
    schema: dict[str, Any]
    closed_port: int
    a: Objects
    b: Objects
    tokens: dict[Caller, str] = field(default_factory=dict)
    clients: dict[Caller, httpx.Client] = field(default_factory=dict)

    def token(self, caller: Caller, *, fresh: bool = False) -> str:
        assert caller.login is not None
        if fresh or caller not in self.tokens:
            token = self.server.token(caller.login)
            if fresh:
                return token
            self.tokens[caller] = token
        return self.tokens[caller]

    def forget(self, caller: Caller) -> None:
        """Drop the caller's kept session (it was ended): the next call makes a new one."""
        self.tokens.pop(caller, None)
        client = self.clients.pop(caller, None)
        if client is not None:
            client.close()

    def http(self, caller: Caller) -> httpx.Client:
        """A client of the API as ``caller``, kept open until the module's end."""
        if caller not in self.clients:
            headers = {"Authorization": f"Bearer {self.token(caller)}"}
            self.clients[caller] = httpx.Client(
                base_url=self.server.url, headers=headers, timeout=20
            )
        return self.clients[caller]

    def close(self) -> None:
        for client in self.clients.values():
            client.close()

    def path_ids(self) -> dict[str, str]:
        return {
            "user_id": self.a.user,
            "queue_id": self.a.queue,
            "service_id": self.a.service,
            "flow_id": self.a.flow,
            "chat_id": self.a.chat,
            "delivery_id": str(self.a.delivery),
            "recording_id": self.a.recording,
            "company_id": "demo",
            "attachment_id": "A-matrix",  # none: every caller who may look finds nothing
        }

    def never_shown_to(self, caller: Caller) -> list[str]:
        """What a caller must not read in an answer about its own company (R18)."""
        others_tokens = self.a.tokens[:1]  # lists show the caller's own tokens only
        others = [*others_tokens, PERSONAL_NOTE]  # another login's own canned response
        if caller.company == "B":
            a = [self.a.chat, self.a.waiting_chat, self.a.user, *others]
            return ["demo-", "Demo Insurance", *a]
        if caller.role == "agent":
            return [self.a.waiting_chat, *others]  # agents see the chats they are in
        return others


def ok(response: httpx.Response) -> Any:
    assert response.is_success, f"{response.request.url}: {response.status_code} {response.text}"
    return response.json()


async def taken_by(server: ServerProcess, login: str, service: str) -> tuple[Client, Client, str]:
    """A customer through the support flow, taken by ``login`` (who alone is available)."""
    customer, chat_id, _ = await Client.customer(server, service)
    await customer.state(chat_id, lambda c: c["choices"] is not None)
    await customer.ok({"type": "message", "text": "Billing"})
    await customer.state(chat_id, lambda c: c["status"] == "queued")
    agent = await Client.staff(server, login)
    await agent.ok({"type": "presence", "available": True})
    await agent.state(chat_id, lambda c: c["status"] == "active")
    return customer, agent, chat_id


async def ended_chat(server: ServerProcess, login: str, service: str) -> str:
    customer, agent, chat_id = await taken_by(server, login, service)
    await agent.ok({"type": "message", "chat_id": chat_id, "text": "Hello, how can I help?"})
    await customer.ok({"type": "end"})
    await agent.state(chat_id, lambda c: c["status"] == "ended")
    await customer.close()
    await agent.close()
    return chat_id


def build_world(world: World) -> None:
    """Company B through the operator's API, and in A the objects the routes name."""
    server = world.server
    olga = world.http(OPERATOR)
    ok(
        olga.post(
            "/api/admin/companies",
            json={
                "company_id": "globex",
                "name": "Globex",
                "products": ["call_recording", "webchat"],
            },
        )
    )
    for caller in B_CALLERS:
        login = {"login": caller.login, "name": caller.label, "role": caller.role}
        created = ok(olga.post("/api/admin/users?company_id=globex", json=login | PASSWORD_OF))
        server.extra_logins[str(caller.login)] = PASSWORD
        if caller is B_AGENT:
            world.b.agent = created["user"]["user_id"]

    for objects, admin in ((world.a, A_ADMIN), (world.b, B_ADMIN)):
        http = world.http(admin)
        target = {"login": f"{admin.login}.target", "name": "Target", "role": "agent"}
        created = ok(http.post("/api/admin/users", json=target | PASSWORD_OF))
        objects.user = created["user"]["user_id"]
        server.extra_logins[target["login"]] = PASSWORD
        with httpx.Client(base_url=server.url, timeout=20) as owner:
            owner.headers["Authorization"] = f"Bearer {server.token(target['login'])}"
            for n in range(len(HTTP_CALLERS) + 1):
                made = ok(owner.post("/api/tokens", json={"name": f"target {n}"}))
                objects.tokens.append(made["api_token"]["token_id"])
                canned = {"name": f"matrix-{n}", "text": f"Matrix {n}"}
                made = ok(http.post("/api/admin/canned-responses", json=canned))
                objects.responses.append(made["response_id"])
            own = {"name": "note", "text": PERSONAL_NOTE}
            objects.own_response = ok(owner.post("/api/me/canned-responses", json=own))[
                "response_id"
            ]
        if admin is B_ADMIN:
            ok(http.post("/api/admin/queues", json={"name": "General"}))
        objects.queue = ok(http.post("/api/admin/queues", json={"name": "Matrix"}))["queue_id"]
        objects.flow = ok(http.post("/api/admin/flows", json={"source": FLOW}))["flow_id"]
        service = {"name": "Matrix", "flow_id": objects.flow}
        objects.service = ok(http.post("/api/admin/services", json=service))["service_id"]
        ok(http.put("/api/admin/destination", json=closed_platform(world.closed_port)))

    async def chats() -> None:
        world.a.chat = await ended_chat(server, "alice", "demo-support")
        world.b.chat = await ended_chat(server, str(B_AGENT.login), world.b.service)

    run(chats)
    world.a.waiting_chat = ok(
        httpx.post(f"{server.url}/api/chats", json={"service_id": "demo-support"})
    )["chat_id"]
    for objects, overseer in ((world.a, A_ADMIN), (world.b, B_ADMIN)):
        deliveries = ok(world.http(overseer).get("/api/admin/deliveries"))["items"]
        delivery = next(d for d in deliveries if d["chat_id"] == objects.chat)
        objects.recording = delivery["recording_id"]
        objects.delivery = delivery["files"][0]["delivery_id"]
    world.schema = ok(httpx.get(f"{server.url}/openapi.json"))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("matrix")
    # Logins of many callers from one address: the rate limit has tests of its own.  Test
    # connection to the closed platform answers only when its time is up (issue 16.3).
    limit = {"CHATREC_LOGIN_ATTEMPTS_PER_MINUTE": "10000", "CHATREC_CONNECTION_TEST_SECONDS": "1"}
    server = ServerProcess(root / "data", f"sqlite:///{root / 'chatrec.db'}", env=limit)
    server.start()
    world = World(server, {}, free_port(), Objects(agent="demo-alice"), Objects())
    try:
        build_world(world)
        yield world
    finally:
        world.close()
        server.stop()


# -- the route table ---------------------------------------------------------------------


def served_routes(data_dir: Path) -> set[RouteKey]:
    """Every route of the application, as ``app.routes`` holds them (not only the schema)."""
    container = build(Config(data_dir=data_dir))
    try:
        return set(walk(create_app(container).routes, ""))
    finally:
        container.store.close()


def walk(routes: Iterable[BaseRoute], prefix: str) -> Iterator[RouteKey]:
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's include_router
        if included is not None:
            context = route.include_context  # type: ignore[attr-defined]
            yield from walk(included.routes, prefix + context.prefix)
        elif isinstance(route, Route):
            yield from ((m, prefix + route.path) for m in route.methods or () if m != "HEAD")
        elif isinstance(route, WebSocketRoute):
            yield "WS", prefix + route.path
        elif isinstance(route, Mount):
            yield "MOUNT", prefix + route.path
        else:
            yield "?", repr(route)


def schema_routes(schema: Mapping[str, Any]) -> set[RouteKey]:
    return {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in {"get", "put", "post", "patch", "delete"}
    }


def frame_types(union: Any) -> set[str]:
    """The ``type`` values of a discriminated union of frame models."""
    models = typing.get_args(typing.get_args(union)[0])
    return {
        value
        for model in models
        for value in typing.get_args(model.model_fields["type"].annotation)
    }


STAFF_TYPES = frame_types(protocol.StaffFrame)
CUSTOMER_TYPES = frame_types(protocol.CustomerFrame)


# -- the HTTP matrix ---------------------------------------------------------------------


def outcome(response: httpx.Response) -> Outcome:
    if response.is_redirect:
        return "→" + urlsplit(response.headers["location"]).path
    if response.is_success:
        return OK
    return str(response.status_code)


def query_names(world: World, route: RouteKey) -> set[str]:
    method, path = route
    operation = world.schema["paths"].get(path, {}).get(method.lower(), {})
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}


def request_for(
    world: World, route: RouteKey, caller: Caller, n: int, *, malformed: bytes | None = None
) -> httpx.Request:
    """The request of ``route`` as ``caller``; ``malformed``: that body (or, for a route
    without one, ``limit=0``) in place of the good one."""
    method, template = route
    ids = world.path_ids()
    if "{token_id}" in template:
        ids["token_id"] = world.a.tokens.pop()  # each revocation its own token
    if template.startswith("/api/me/canned-responses/"):
        ids["response_id"] = world.a.own_response
    elif "{response_id}" in template:  # each removal its own response
        ids["response_id"] = world.a.responses.pop() if method == "DELETE" else world.a.responses[0]
    path = MOUNT_SAMPLES.get(template) or re.sub(
        r"\{(\w+)\}", lambda m: ids.get(m.group(1), f"<no sample id for {m.group(1)}>"), template
    )
    names_company = "company_id" in query_names(world, route) or template.startswith("/console")
    params = {"company_id": "demo"} if names_company else {}
    if malformed is not None and "limit" in query_names(world, route):
        params["limit"] = "0"
    headers: dict[str, str] = {}
    if caller.login is not None:
        token = world.token(caller, fresh=route in FRESH_SESSION)
        if template.startswith("/api/"):
            headers["Authorization"] = f"Bearer {token}"
        else:
            headers["Cookie"] = f"chatrec_session={token}"
    body = BODIES.get(route)
    method = "GET" if method == "MOUNT" else method
    content = None if body is None else json.dumps(body(world, n)).encode()
    if content is not None and malformed is not None:
        content = malformed
    if content is not None:
        headers["Content-Type"] = "application/json"
    return httpx.Request(
        method, world.server.url + path, params=params, headers=headers, content=content
    )


def test_R18_every_route_and_frame_has_a_rule(world: World, tmp_path: Path) -> None:
    """A route, body or frame type added without saying who may use it fails here."""
    served = served_routes(tmp_path / "routes")
    documented = schema_routes(world.schema)
    ruled = set(RULES) | WEBSOCKET_ROUTES
    problems = [f"no rule for {m} {p}" for m, p in sorted((served | documented) - ruled)]
    problems += [f"a rule for {m} {p}, which is not served" for m, p in sorted(ruled - served)]
    for path, operations in world.schema["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation and (method.upper(), path) not in BODIES:
                problems.append(f"no sample body for {method.upper()} {path}")
    problems += [f"no rule for staff frame {t!r}" for t in sorted(STAFF_TYPES - STAFF_RULED)]
    problems += [
        f"staff frame {frame} does not say what each staff caller gets"
        for frame, expected in STAFF_SCRIPT
        if frame != TAKE_BACK and set(expected) != set(WS_STAFF)
    ]
    problems += [
        f"no rule for customer frame {t!r}" for t in sorted(CUSTOMER_TYPES - set(CUSTOMER_RULES))
    ]
    assert not problems, "\n".join(problems)


def test_R18_the_demo_and_the_server_hash_passwords_at_the_configured_cost(
    world: World,
) -> None:
    """The demo's seed and the logins made over the API, at the test run's cost (the
    settings ``CHATREC_PASSWORD_*`` the server was started with), not argon2's default."""
    engine = create_engine(world.server.database_url)
    try:
        with engine.connect() as connection:
            hashes = connection.execute(text("SELECT login, password_hash FROM users")).all()
    finally:
        engine.dispose()
    assert {"alice", "ada", "olga", str(B_ADMIN.login)} <= {login for login, _ in hashes}
    assert {stored.split("$")[3] for _, stored in hashes} == {TEST_COST_PARAMETERS}


def test_R18_every_route_as_every_caller(world: World) -> None:
    """One request per route and caller; every answer is the rule's, and nothing leaks."""
    counter = itertools.count(1)
    mismatches: list[str] = []
    with httpx.Client(timeout=20) as http:
        for route in sorted(RULES):
            rule = RULES[route]
            for caller in HTTP_CALLERS:
                request = request_for(world, route, caller, next(counter))
                response = http.send(request)
                if route in ENDS_EVERY_SESSION:
                    world.forget(caller)
                got, expected = outcome(response), rule.expect(caller)
                where = f"{request.method} {request.url.raw_path.decode()} as {caller.label}"
                if got != expected:
                    mismatches.append(
                        f"{where}: expected {expected}, got {got} {response.text[:200]!r}"
                    )
                elif got == OK and not rule.names_a and not rule.public:
                    leaked = [m for m in world.never_shown_to(caller) if m in response.text]
                    if leaked:
                        mismatches.append(f"{where}: the answer shows {leaked}")
    assert not mismatches, f"{len(mismatches)} mismatches:\n" + "\n".join(mismatches)


MALFORMED = (b'{"login": "not json', b'{"unexpected": [1, 2]}', b"[]")
"""Bodies no route accepts: broken JSON, an unknown field, the wrong type."""


def test_R19_who_may_call_is_checked_before_what_was_sent(world: World) -> None:
    """A caller without a login, or without the role, gets the same 401 or 403 for a
    malformed request as for a good one: never a 422 that a stranger could probe."""
    counter = itertools.count(10_000)
    mismatches: list[str] = []
    with httpx.Client(timeout=20) as http:
        for route in sorted(RULES):
            rule = RULES[route]
            takes = route in BODIES or "limit" in query_names(world, route)
            if not route[1].startswith("/api/") or not takes:
                continue
            for caller, malformed in itertools.product(HTTP_CALLERS, MALFORMED):
                expected = rule.expect(caller)
                if expected not in {"401", "403"}:
                    continue
                request = request_for(world, route, caller, next(counter), malformed=malformed)
                response = http.send(request)
                if outcome(response) != expected:
                    mismatches.append(
                        f"{request.method} {request.url.raw_path.decode()} as {caller.label} "
                        f"with {malformed!r}: expected {expected}, got {response.status_code} "
                        f"{response.text[:200]!r}"
                    )
    assert not mismatches, f"{len(mismatches)} mismatches:\n" + "\n".join(mismatches)


def test_R18_ids_of_another_company_in_a_body_are_unknown(world: World) -> None:
    """Ids in a request body are checked like ids in the path: B cannot reach A through them."""
    b_admin = world.http(B_ADMIN)
    problems: list[str] = []

    def expect(what: str, response: httpx.Response, status: int) -> None:
        if response.status_code != status:
            problems.append(
                f"{what}: expected {status}, got {response.status_code} {response.text}"
            )

    expect(
        "a B service created on A's flow",
        b_admin.post("/api/admin/services", json={"name": "Stolen", "flow_id": world.a.flow}),
        404,
    )
    expect(
        "a B service moved to A's flow",
        b_admin.patch(f"/api/admin/services/{world.b.service}", json={"flow_id": world.a.flow}),
        404,
    )
    service = ok(b_admin.get("/api/admin/services"))
    flows = {s["service_id"]: s["flow_id"] for s in service}
    if world.a.flow in flows.values():
        problems.append(f"a B service runs A's flow: {flows}")
    bulk = {"user_ids": [world.b.user, world.a.user], "changes": {"capacity": 5}}
    expect("a bulk edit naming an A user", b_admin.post("/api/admin/users/bulk", json=bulk), 404)
    if ok(b_admin.get(f"/api/admin/users/{world.b.user}"))["capacity"] == 5:
        problems.append("a refused bulk edit changed B's own user (all or none)")
    audit = b_admin.get("/api/admin/audit-entries", params={"chat_id": world.a.chat})
    expect("B's audit trail filtered on A's chat", audit, 200)
    if audit.is_success and audit.json()["items"]:
        problems.append(f"B's audit trail shows A's chat: {audit.text[:200]}")
    retry = {"recording_ids": [world.b.recording, world.a.recording]}
    expect(
        "a retry naming A's recording",
        b_admin.post("/api/admin/deliveries/retry", json=retry),
        404,
    )
    assert not problems, "\n".join(problems)


def test_R18_nobody_reaches_or_becomes_the_operator(world: World) -> None:
    """The operator's login belongs to no company: no administrator reads, resets or edits
    it, and the API gives nobody the operator role."""
    ada, olga = world.http(A_ADMIN), world.http(OPERATOR)
    operator = "demo-olga"
    agent = {"login": "matrix.operator", "name": "Not an operator", "role": "agent"}
    checks = [
        ("read the operator", ada.get(f"/api/admin/users/{operator}"), 404),
        ("edit the operator", ada.patch(f"/api/admin/users/{operator}", json={"name": "X"}), 404),
        (
            "reset the operator's password",
            ada.post(f"/api/admin/users/{operator}/password", json={}),
            404,
        ),
        (
            "bulk-edit the operator",
            ada.post("/api/admin/users/bulk", json={"user_ids": [operator], "changes": {}}),
            404,
        ),
        (
            "create an operator",
            ada.post("/api/admin/users", json=agent | {"role": "operator"}),
            422,
        ),
        (
            "promote a login to operator",
            ada.patch(f"/api/admin/users/{world.a.user}", json={"role": "operator"}),
            422,
        ),
        (
            "the operator adds a login to the system company",
            olga.post("/api/admin/users", params={"company_id": "system"}, json=agent),
            404,
        ),
        (
            "the operator lists the system company's logins",
            olga.get("/api/admin/users", params={"company_id": "system"}),
            404,
        ),
    ]
    problems = [
        f"{what}: expected {status}, got {response.status_code} {response.text[:200]}"
        for what, response, status in checks
        if response.status_code != status
    ]
    me = olga.get("/api/me")
    if me.status_code != 200:
        problems.append(f"the operator's session was ended: {me.status_code}")
    assert not problems, "\n".join(problems)


def test_R18_every_login_manages_its_own_api_tokens(world: World) -> None:
    """A token acts as the login that made it, is listed to that login alone, and stops
    working the moment it is revoked."""
    problems: list[str] = []
    for caller in STAFF_CALLERS:
        http = world.http(caller)
        made = http.post("/api/tokens", json={"name": "own"})
        if made.status_code != 201:
            problems.append(f"{caller.label} makes a token: {made.status_code} {made.text}")
            continue
        token, token_id = made.json()["token"], made.json()["api_token"]["token_id"]
        with httpx.Client(base_url=world.server.url, timeout=20) as bot:
            bot.headers["Authorization"] = f"Bearer {token}"
            me = bot.get("/api/me")
            if me.status_code != 200 or me.json()["login"] != caller.login:
                problems.append(f"{caller.label}'s token acts as {me.text}")
            listed = {t["token_id"] for t in ok(http.get("/api/tokens"))}
            if token_id not in listed or listed & set(world.a.tokens):
                problems.append(f"{caller.label}'s token list: {sorted(listed)}")
            revoked = http.delete(f"/api/tokens/{token_id}")
            if revoked.status_code != 200:
                problems.append(f"{caller.label} revokes its token: {revoked.status_code}")
            after = bot.get("/api/me")
            if after.status_code != 401:
                problems.append(f"{caller.label}'s revoked token still works: {after.status_code}")
    assert not problems, "\n".join(problems)


# -- the staff WebSocket ----------------------------------------------------------------

WS_STAFF = (A_AGENT, A_OTHER_AGENT, A_SUPERVISOR, A_ADMIN, B_ADMIN, B_SUPERVISOR, B_AGENT)
"""Who says hello successfully on /ws/staff: every company login."""

HELLO_REFUSED = {ANONYMOUS: ("unauthenticated", 4401), OPERATOR: ("forbidden", 4400)}
"""Who is refused at hello, with the error code and the close code."""


def on_chat(named: Mapping[Caller, str]) -> dict[Caller, str]:
    """Outcomes of an action on A's chat: whoever is not named may not know of the chat.

    Carol (never in it), A's administrator (not an overseer of live chats) and all of
    company B get ``not_found``, the same answer as for a chat that does not exist.
    """
    refused = {c: "not_found" for c in WS_STAFF if c not in named}
    return refused | dict(named)


NOT_AN_AGENT = {A_SUPERVISOR: "forbidden", A_ADMIN: "forbidden"}
NOT_AN_AGENT |= {B_ADMIN: "forbidden", B_SUPERVISOR: "forbidden"}
TAKE_BACK = "alice takes the chat back from the queue"

# In the order sent, on one chat of company A assigned to alice (sam not in it yet).
# Within a step the refusals go first, so that an allowed action meets the state it
# is written for; the expected ``code`` of an error frame is exact, "ack" is success.
STAFF_SCRIPT: list[tuple[Frame | str, dict[Caller, str]]] = [
    ({"type": "ping"}, dict.fromkeys(WS_STAFF, "ack")),
    (
        {"type": "presence", "available": False},
        {A_AGENT: "ack", A_OTHER_AGENT: "ack", B_AGENT: "ack"} | NOT_AN_AGENT,
    ),
    ({"type": "active"}, {A_AGENT: "ack", A_OTHER_AGENT: "ack", B_AGENT: "ack"} | NOT_AN_AGENT),
    ({"type": "sync"}, on_chat({A_AGENT: "ack", A_SUPERVISOR: "ack"})),
    ({"type": "message", "text": "Hi"}, on_chat({A_AGENT: "ack", A_SUPERVISOR: "forbidden"})),
    ({"type": "note", "text": "Hi"}, on_chat({A_AGENT: "ack", A_SUPERVISOR: "forbidden"})),
    ({"type": "typing", "active": True}, on_chat({A_AGENT: "ack", A_SUPERVISOR: "forbidden"})),
    # The demo company has no wrap-up codes: whoever may choose one is told the list is empty.
    (
        {"type": "wrap_up", "code": "Claim"},
        on_chat({A_AGENT: "invalid", A_SUPERVISOR: "forbidden"}),
    ),
    ({"type": "join"}, on_chat({A_AGENT: "forbidden", A_SUPERVISOR: "ack"})),
    ({"type": "message", "text": "Hi"}, on_chat({A_AGENT: "ack", A_SUPERVISOR: "ack"})),
    ({"type": "pause"}, on_chat({A_AGENT: "ack", A_SUPERVISOR: "conflict"})),
    ({"type": "resume"}, on_chat({A_SUPERVISOR: "ack", A_AGENT: "conflict"})),
    ({"type": "delete_recording"}, on_chat({A_AGENT: "ack", A_SUPERVISOR: "ack"})),
    ({"type": "flag_abusive"}, on_chat({A_SUPERVISOR: "ack", A_AGENT: "conflict"})),
    # Transfers to company B's agent or queue: no such target in this company.
    (
        {"type": "transfer", "to_agent": "<B agent>"},
        on_chat({A_AGENT: "not_found", A_SUPERVISOR: "not_found"}),
    ),
    (
        {"type": "transfer", "to_queue": "<B queue>"},
        on_chat({A_AGENT: "not_found", A_SUPERVISOR: "not_found"}),
    ),
    ({"type": "leave"}, on_chat({A_SUPERVISOR: "ack", A_AGENT: "ack"})),
    (TAKE_BACK, {}),
    (
        {"type": "transfer", "to_queue": "demo-general"},
        on_chat({A_SUPERVISOR: "forbidden", A_AGENT: "ack"}),
    ),
    # Alice transferred it away: she still knows of the chat, but is no longer in it.
    ({"type": "message", "text": "Hi"}, on_chat({A_SUPERVISOR: "forbidden", A_AGENT: "forbidden"})),
    ({"type": "note", "text": "Hi"}, on_chat({A_SUPERVISOR: "forbidden", A_AGENT: "forbidden"})),
    (TAKE_BACK, {}),
    ({"type": "end"}, on_chat({A_SUPERVISOR: "forbidden", A_AGENT: "ack"})),
    # Ended: the chat is no longer open for anyone.
    ({"type": "message", "text": "Hi"}, on_chat({})),
]
STAFF_RULED = {
    "hello",
    *(str(frame["type"]) for frame, _ in STAFF_SCRIPT if isinstance(frame, dict)),
}


def test_R18_staff_websocket_actions_as_every_caller(world: World) -> None:
    """Every staff frame as every staff login, in ``STAFF_SCRIPT``'s order; the operator
    and anonymous callers are refused at hello."""
    server = world.server
    mismatches: list[str] = []
    b_targets = {"<B agent>": world.b.agent, "<B queue>": world.b.queue}

    async def scenario() -> None:
        url = f"{server.ws_url}/ws/staff"
        for caller, (code, close) in HELLO_REFUSED.items():
            token = world.token(caller) if caller.login else None
            client = await Client.open(url, {"token": token} if token else {})
            await client.ws.wait_closed()
            refusal = (client.frames[0].get("code"), client.ws.close_code)
            if refusal != (code, close):
                mismatches.append(f"hello as {caller.label}: expected {(code, close)}, {refusal=}")
        customer, alice, chat_id = await taken_by(server, "alice", "demo-support")
        clients = {A_AGENT: alice}
        for caller in WS_STAFF[1:]:
            clients[caller] = await Client.open(url, {"token": world.token(caller)})
        for caller, client in clients.items():
            if client.frames[0]["type"] != "welcome":
                mismatches.append(f"hello as {caller.label}: {client.frames[0]}")
        for frame, expected in STAFF_SCRIPT:
            if frame == TAKE_BACK:
                seen = len(alice.frames)
                await alice.ok({"type": "presence", "available": True})
                await alice.wait_for(
                    lambda f: f["type"] == "chat" and "demo-alice" in user_ids(f["chat"]),
                    after=seen,
                )
                await alice.ok({"type": "presence", "available": False})
                continue
            assert isinstance(frame, dict)
            sent = {k: b_targets.get(v, v) for k, v in frame.items()}
            if sent["type"] not in {"ping", "presence", "active"}:
                sent["chat_id"] = chat_id
            refused_first = sorted(expected, key=lambda c: expected[c] in {"ack", "conflict"})
            for caller in refused_first:
                answer = await answer_to(clients[caller], sent)
                got = "ack" if answer["type"] == "ack" else answer.get("code")
                if got != expected[caller]:
                    mismatches.append(
                        f"{frame} as {caller.label}: expected {expected[caller]}, got {answer}"
                    )
        await customer.close()

    run(scenario)
    assert not mismatches, f"{len(mismatches)} mismatches:\n" + "\n".join(mismatches)


_typing_refs = itertools.count(1)


async def answer_to(client: Client, frame: Frame) -> Frame:
    """The frame's ``ack`` or ``error``.  A typing indicator is never acknowledged (R23):
    it was accepted unless its error comes before the answer to a ping sent after it, as
    a connection answers its frames in order."""
    if frame["type"] != "typing":
        return await client.send(frame)
    ref, seen = f"typing-{next(_typing_refs)}", len(client.frames)
    await client.ws.send(json.dumps({**frame, "ref": ref}))
    await client.ok({"type": "ping"})
    refused = [f for f in client.frames[seen:] if f["type"] == "error" and f.get("ref") == ref]
    return refused[0] if refused else {"type": "ack"}


def user_ids(chat: Frame) -> list[str]:
    return [p["user_id"] for p in chat.get("participants", [])]


# -- the customer WebSocket ---------------------------------------------------------------

# The holder of a chat's token acts on that chat alone: no frame names a chat.
CUSTOMER_RULES = {
    "hello": "welcome",
    "ping": "ack",
    "message": "ack",
    "typing": "ack",
    "request_deletion": "ack",
    "end": "ack",
}


def test_R18_a_customer_acts_only_on_their_own_chat(world: World) -> None:
    """The chat token is the customer's only key, to one chat; no other key opens it."""
    server = world.server
    mismatches: list[str] = []

    def check(what: str, got: object, expected: object) -> None:
        if got != expected:
            mismatches.append(f"{what}: expected {expected}, got {got}")

    async def refused(url: str, hello: Frame) -> tuple[object, object]:
        client = await Client.open(url, hello)
        await client.ws.wait_closed()
        return client.frames[0].get("code"), client.ws.close_code

    async def scenario() -> None:
        customer_url, staff_url = f"{server.ws_url}/ws/customer", f"{server.ws_url}/ws/staff"
        check("hello without a token", await refused(customer_url, {}), ("unauthenticated", 4401))
        wrong = {"token": "not-a-chat-token"}
        check("hello with a wrong token", await refused(customer_url, wrong), ("not_found", 4400))
        staff_token = {"token": world.token(A_AGENT)}
        check(
            "hello with a staff session",
            await refused(customer_url, staff_token),
            ("not_found", 4400),
        )

        other, other_id, _ = await Client.customer(server, "demo-support")
        customer, chat_id, token = await Client.customer(server, "demo-support")
        check("hello with the chat token", customer.frames[0]["type"], CUSTOMER_RULES["hello"])
        check(
            "a chat token on /ws/staff",
            await refused(staff_url, {"token": token}),
            ("unauthenticated", 4401),
        )
        naming = await customer.send({"type": "message", "text": "Hi", "chat_id": other_id})
        check("a customer frame naming another chat", naming.get("code"), "bad_frame")
        for frame in (
            {"type": "ping"},
            {"type": "message", "text": "Billing"},
            {"type": "typing", "active": True},
            {"type": "request_deletion"},
            {"type": "end"},
        ):
            answer = await answer_to(customer, frame)
            got = "ack" if answer["type"] == "ack" else answer.get("code")
            check(f"{frame} by the chat's customer", got, CUSTOMER_RULES[frame["type"]])
        after = await customer.send({"type": "message", "text": "Still there?"})
        check("a message after the end", after.get("code"), "conflict")
        seen = {f["chat_id"] for f in customer.frames if "chat_id" in f}
        seen |= {f["chat"]["chat_id"] for f in customer.frames if f["type"] == "chat"}
        check("the chats a customer's connection shows", seen, {chat_id})
        check(
            "the other customer's chat goes on", (await other.send({"type": "ping"}))["type"], "ack"
        )

    run(scenario)
    assert not mismatches, "\n".join(mismatches)


# -- R2: nothing starts a recording ----------------------------------------------------------

STARTS_A_RECORDING = re.compile(r"(start|begin|enable|trigger|create|new)\w*record", re.IGNORECASE)


def test_R2_no_frame_or_endpoint_starts_a_recording(world: World) -> None:
    """Recording starts by rule alone: no frame type or endpoint could start one."""
    problems = [
        f"frame type {t!r}"
        for t in sorted(STAFF_TYPES | CUSTOMER_TYPES)
        if STARTS_A_RECORDING.search(t) or ("record" in t and t != "delete_recording")
    ]
    for path, operations in world.schema["paths"].items():
        for method, operation in operations.items():
            name = f"{method.upper()} {path} ({operation.get('operationId', '')})"
            if STARTS_A_RECORDING.search(path + " " + operation.get("operationId", "")):
                problems.append(name)
            last = path.rstrip("/").rsplit("/", 1)[-1]
            if method != "get" and last in {"record", "recording", "recordings"}:
                problems.append(name)
    assert not problems, f"R2: these could start a recording: {problems}"
