"""The administration console: server-rendered pages over the administration API (issue 5).

Each page is a shell (headings, forms, empty tables) and a small script from ``static/``
that reads and changes everything through ``/api/admin`` with the session cookie, like
any other client; these routes only decide who may open a page.  The rules page, and
the chat page's rule names, come from the domain's table of rules (``domain/rules.py``),
the same for every company.  Administrators act on their own company; operators pick
one on the companies page, and every console link and API call then carries its
``?company_id=``.  Agents and supervisors get a page that sends them to the portal;
nobody logged in, the login page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from chatrec.domain.roles import LoginRole
from chatrec.domain.rules import RULES
from chatrec.services.admin.companies import COMPANY_ID_FORM
from chatrec.store.records import UserRecord
from chatrec.web.pages import page_user, render

CONSOLE_ROLES = frozenset({LoginRole.ADMINISTRATOR, LoginRole.OPERATOR})


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    path: str
    title: str
    summary: str


SECTIONS = (
    Section("home", "/console", "Overview", "Whether the company records, and what needs you."),
    Section(
        "users",
        "/console/users",
        "Users",
        "Roles, Permit Recordings, record chats and record percentage, one or many at once.",
    ),
    Section(
        "queues",
        "/console/queues-services",
        "Queues and services",
        "Where chats wait, and the entry points customers chat from.",
    ),
    Section(
        "canned",
        "/console/canned-responses",
        "Canned responses",
        "Answers every agent inserts by typing / in the composer, with placeholders.",
    ),
    Section("flows", "/console/flows", "Chat flows", "Edit, check and preview flows; versions."),
    Section(
        "recording",
        "/console/recording",
        "Recording settings",
        "Filename template, file formats and how long message text is kept.",
    ),
    Section(
        "destination",
        "/console/destination",
        "Recording platform",
        "The SFTP server recordings go to, and Test connection.",
    ),
    Section(
        "deliveries",
        "/console/deliveries",
        "Deliveries",
        "Recording files on their way to the platform; retry the stuck ones.",
    ),
    Section(
        "chats", "/console/chats", "Chats", "Why each recording was made or not, and journals."
    ),
    Section("audit", "/console/audit", "Audit trail", "Who changed what, when; export it."),
)
COMPANIES = Section(
    "companies", "/console/companies", "Companies", "Create companies and provision products."
)
RULES_PAGE = Section(
    "rules", "/console/rules", "Rules", "Each recording rule in plain words, and where it acts."
)
RULE_NAMES = {rule.rule_id: rule.name for rule in RULES}


def sections_for(user: UserRecord, company_id: str) -> list[Section]:
    """The console's navigation for this user; an operator without a company has one entry."""
    if user.role != LoginRole.OPERATOR:
        return [*SECTIONS, RULES_PAGE]
    if not company_id:
        return [COMPANIES, RULES_PAGE]
    return [COMPANIES, *SECTIONS, RULES_PAGE]


def _company_id(request: Request, user: UserRecord) -> str:
    """The company an operator picked, if well-formed; administrators always act on theirs."""
    if user.role != LoginRole.OPERATOR:
        return ""
    chosen = request.query_params.get("company_id", "")
    return chosen if COMPANY_ID_FORM.fullmatch(chosen) else ""


def _link(path: str, company_id: str) -> str:
    return f"{path}?company_id={company_id}" if company_id else path


@dataclass(frozen=True, slots=True)
class RefusalPage:
    """The page the console shows a login it turns away (not an API refusal)."""

    heading: str
    text: str
    back_label: str


AGENTS_GO_TO_PORTAL = RefusalPage(
    "The console is for administrators",
    "The administration console is for your company's administrators and for system "
    "operators; ask an administrator if a setting needs changing.",
    "Go to the agent and supervisor portal",
)
ONLY_OPERATORS = RefusalPage(
    "Companies are for system operators",
    "System operators create companies and provision their products.",
    "Back to your company's console",
)


def _forbidden(
    request: Request, user: UserRecord, refusal: RefusalPage, back: str = "/portal"
) -> Response:
    context = {
        "user": user,
        "heading": refusal.heading,
        "text": refusal.text,
        "back": back,
        "back_label": refusal.back_label,
    }
    return render(request, "console/forbidden.html", context, status=403)


Page = Callable[[Request], Awaitable[Response]]


def console_page(
    section: Section,
    template: str,
    *,
    needs_company: bool = True,
    record: str | None = None,
    data: dict[str, Any] | None = None,
) -> Page:
    """A route that renders ``template`` for whoever may see ``section``.

    ``record`` names a path parameter (a flow or chat id) handed on to the page's script;
    ``data`` is what the template shows that is the same for everyone (the rules).
    """

    async def page(request: Request) -> Response:
        user = await page_user(request)
        if isinstance(user, Response):
            return user
        if user.role not in CONSOLE_ROLES:
            return _forbidden(request, user, AGENTS_GO_TO_PORTAL)
        operator = user.role == LoginRole.OPERATOR
        company_id = _company_id(request, user)
        if needs_company and operator and not company_id:
            return RedirectResponse(COMPANIES.path, status_code=303)
        nav = sections_for(user, company_id)
        if section not in nav:
            return _forbidden(request, user, ONLY_OPERATORS, back=_link("/console", company_id))
        context: dict[str, Any] = {
            "user": user,
            "section": section,
            "sections": nav,
            "sections_on_home": [s for s in nav if s.name != "home"],
            "company_id": company_id,
            "operator": operator,
            # Escaped into an attribute; an unknown id is the API's 404, shown by the script.
            "record_id": request.path_params[record] if record else "",
            "link": lambda path: _link(path, company_id),
            **(data or {}),
        }
        return render(request, template, context)

    return page


def install_console(app: FastAPI) -> None:
    by_name = {s.name: s for s in SECTIONS}
    routes: list[tuple[str, Page]] = [
        (s.path, console_page(s, f"console/{s.name}.html")) for s in SECTIONS
    ]
    routes += [
        (COMPANIES.path, console_page(COMPANIES, "console/companies.html", needs_company=False)),
        (
            RULES_PAGE.path,
            console_page(
                RULES_PAGE, "console/rules.html", needs_company=False, data={"rules": RULES}
            ),
        ),
        ("/console/flows/new", console_page(by_name["flows"], "console/flow.html")),
        (
            "/console/flows/{flow_id}",
            console_page(by_name["flows"], "console/flow.html", record="flow_id"),
        ),
        (
            "/console/chats/{chat_id}",
            console_page(
                by_name["chats"],
                "console/chat.html",
                record="chat_id",
                data={"rule_names": RULE_NAMES},
            ),
        ),
    ]
    for path, page in routes:
        app.add_api_route(path, page, methods=["GET"], include_in_schema=False)
