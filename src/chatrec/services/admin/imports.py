"""Setting up a company from one document: queues, flows, services and logins (R3, R19).

The whole document is checked before anything is kept.  A queue entry that names a
recording setting is refused quoting R3; every other problem (a flow with its lines, a
name or login already taken, a bad field) is listed, and nothing of the document is
applied.  The document, YAML or JSON::

    queues: [{name: General}]
    flows: [support.yaml, {file: sales.yaml}, {source: "name: ...\\nsteps: ..."}]
    services: [{name: Support, flow: Support}]   # a flow of the document, or a stored one
    users: [{login: carol, name: Carol, role: agent, record_percentage: 50}]

Its JSON Schema ships beside this module (``imports.schema.json``); a complete example is
in docs/administration.md, "Import file format".  Both are tested against this importer.

What is not promised: applying takes one transaction per thing created (each use case
commits with its own audit line), so a database failure, or another administrator
taking a name between the check and the apply, can stop an import part-way; the error
then lists what was already created.

Its length is the document's: checking every section before applying any is one plan,
kept with the code that applies it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import yaml

from chatrec.domain.roles import LoginRole
from chatrec.errors import (
    ActionError,
    ChatrecError,
    ConflictError,
    FlowError,
    NotFoundError,
    RecordingOnQueueError,
)
from chatrec.flows.loader import LimitedLoader, load_limited
from chatrec.services.access import Principal, company_for
from chatrec.services.admin.audit import audit_line
from chatrec.services.admin.catalog import CatalogAdmin, _label, refuse_recording_on_queue
from chatrec.services.admin.ports import ImportStore
from chatrec.services.admin.users import (
    UserAdmin,
    UserChanges,
    _checked,
    check_login,
    check_password,
)
from chatrec.store.records import FlowVersionRecord, QueueRecord, ServiceRecord, UserRecord

SECTIONS = ("queues", "flows", "services", "users")
MAX_ENTRIES = 1000
USER_FLAGS = ("permit_recordings", "record_chats", "disabled")
USER_NUMBERS = ("record_percentage", "capacity")
USER_KEYS = frozenset({"login", "name", "role", "password", *USER_FLAGS, *USER_NUMBERS})

ReadFile = Callable[[str], str]
"""Reads a flow file named in the document (relative to it); ``OSError`` if it cannot."""


@dataclass(frozen=True, slots=True)
class PlannedFlow:
    where: str
    name: str
    source: str


@dataclass(frozen=True, slots=True)
class PlannedService:
    name: str
    flow_id: str | None = None
    """A stored flow of the company."""
    planned_flow: str | None = None
    """The name of a flow of the document, created first."""


@dataclass(frozen=True, slots=True)
class PlannedUser:
    login: str
    name: str
    role: str
    password: str | None
    changes: UserChanges


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """A checked document: applying it meets none of the problems looked for."""

    company_id: str
    label: str
    queues: tuple[str, ...]
    flows: tuple[PlannedFlow, ...]
    services: tuple[PlannedService, ...]
    users: tuple[PlannedUser, ...]


@dataclass(slots=True)
class ImportResult:
    queues: list[QueueRecord] = field(default_factory=list)
    flows: list[FlowVersionRecord] = field(default_factory=list)
    services: list[ServiceRecord] = field(default_factory=list)
    users: list[UserRecord] = field(default_factory=list)
    passwords: dict[str, str] = field(default_factory=dict)
    """Generated first passwords by login, to show once; given ones are not repeated."""

    def summary(self) -> str:
        counts = {
            "queues": len(self.queues),
            "flows": len(self.flows),
            "services": len(self.services),
            "users": len(self.users),
        }
        return ", ".join(f"{count} {what}" for what, count in counts.items())


class _ImportLoader(LimitedLoader):
    """The flow loader's limits (no aliases or tags, not too deep), with YAML's own
    numbers and booleans, which a login's fields are."""

    document = "import"


def _parse(text: str, label: str) -> dict[str, Any]:
    try:
        document = load_limited(text, _ImportLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = "" if mark is None else f" (line {mark.line + 1}, column {mark.column + 1})"
        problem = " ".join(part for part in (error.context, error.problem) if part)
        raise ActionError(f"{label} cannot be read: {problem}{where}") from None
    except yaml.YAMLError as error:
        raise ActionError(f"{label} is not YAML or JSON: {error}") from None
    if not isinstance(document, dict):
        raise ActionError(f"{label} must be a mapping with any of {list(SECTIONS)}")
    return document


def _entries(document: Mapping[str, Any], section: str, problems: list[str]) -> list[Any]:
    value = document.get(section)
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(f"{section}: must be a list, not {type(value).__name__}")
        return []
    if len(value) > MAX_ENTRIES:
        problems.append(f"{section}: at most {MAX_ENTRIES} entries, not {len(value)}")
        return []
    return value


def _unknown_keys(where: str, entry: Mapping[Any, Any], known: frozenset[str]) -> str | None:
    unknown = [key for key in entry if key not in known]
    if unknown:
        return f"{where}: unknown keys {unknown}; an entry takes {sorted(known)}"
    return None


def _keys(value: object) -> Iterator[object]:
    """Every mapping key in ``value``, however deep: a recording setting may be nested."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield key
            yield from _keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _keys(inner)


def _refuse_recording_on_queues(entries: list[Any], label: str) -> None:
    """R3 first, and whole: one recording key in any queue entry refuses the document."""
    for index, entry in enumerate(entries):
        try:
            refuse_recording_on_queue(_keys(entry))
        except RecordingOnQueueError as error:
            raise RecordingOnQueueError(f"{label}, queues[{index}]: {error}") from None


class ImportAdmin:
    def __init__(self, store: ImportStore, clock: Callable[[], datetime]) -> None:
        self.store = store
        self._clock = clock
        self._catalog = CatalogAdmin(store, clock)
        self._users = UserAdmin(store, clock)

    def run(
        self,
        principal: Principal,
        text: str,
        *,
        company_id: str | None = None,
        label: str = "import",
        read_file: ReadFile | None = None,
    ) -> ImportResult:
        """Check the whole document, then apply it (see the module's promise)."""
        plan = self.check(principal, text, company_id=company_id, label=label, read_file=read_file)
        return self.apply(principal, plan)

    def check(
        self,
        principal: Principal,
        text: str,
        *,
        company_id: str | None = None,
        label: str = "import",
        read_file: ReadFile | None = None,
    ) -> ImportPlan:
        """Every problem of the document in one :class:`ActionError`; R3 on its own."""
        company = company_for(principal, company_id, LoginRole.ADMINISTRATOR)
        if self.store.get_company(company) is None:
            raise NotFoundError(f"no company {company!r}")
        document = _parse(text, label)
        problems = [
            f"unknown section {key!r}; an import has {list(SECTIONS)}"
            for key in document
            if key not in SECTIONS
        ]
        entries = {section: _entries(document, section, problems) for section in SECTIONS}
        _refuse_recording_on_queues(entries["queues"], label)
        if not any(entries.values()) and not problems:
            problems.append(f"nothing to import: give any of {list(SECTIONS)}")
        queues = self._check_queues(company, entries["queues"], problems)
        flows = self._check_flows(principal, company, entries["flows"], queues, read_file, problems)
        services = self._check_services(company, entries["services"], flows, problems)
        users = self._check_users(company, entries["users"], problems)
        if problems:
            listed = "\n".join(f"  {problem}" for problem in problems)
            raise ActionError(f"{label}: the import is refused; nothing was applied:\n{listed}")
        return ImportPlan(company, label, queues, flows, services, users)

    def apply(self, principal: Principal, plan: ImportPlan) -> ImportResult:
        company = plan.company_id
        done = ImportResult()
        try:
            for name in plan.queues:
                done.queues.append(self._catalog.create_queue(principal, name, company_id=company))
            flow_ids: dict[str, str] = {}
            for flow in plan.flows:
                saved = self._catalog.save_flow(principal, flow.source, company_id=company)
                flow_ids[flow.name] = saved.flow_id
                done.flows.append(saved)
            for service in plan.services:
                flow_id = (
                    service.flow_id
                    if service.planned_flow is None
                    else flow_ids[service.planned_flow]
                )
                done.services.append(
                    self._catalog.create_service(
                        principal, service.name, flow_id, company_id=company
                    )
                )
            for user in plan.users:
                created, password = self._users.create(
                    principal,
                    user.login,
                    user.name,
                    user.role,
                    company_id=company,
                    password=user.password,
                    changes=user.changes,
                )
                done.users.append(created)
                if user.password is None:
                    done.passwords[created.login] = password
        except ChatrecError as error:
            raise ConflictError(
                f"{plan.label}: the import stopped part-way ({error}); already created: "
                f"{done.summary()}"
            ) from error
        line = audit_line(
            principal,
            company,
            "setup.imported",
            self._clock(),
            target=plan.label,
            after={
                "queues": [queue.name for queue in done.queues],
                "flows": [flow.flow_id for flow in done.flows],
                "services": [service.service_id for service in done.services],
                "users": [user.user_id for user in done.users],
            },
        )
        self.store.add_audit([line])
        return done

    # -- checks: each adds its problems, and returns what it could plan ------------------

    def _check_queues(
        self, company: str, entries: list[Any], problems: list[str]
    ) -> tuple[str, ...]:
        taken = {queue.name for queue in self.store.list_queues(company)}
        names: list[str] = []
        for index, entry in enumerate(entries):
            where = f"queues[{index}]"
            raw = entry.get("name") if isinstance(entry, Mapping) else entry
            if isinstance(entry, Mapping) and (unknown := _unknown_keys(where, entry, _NAME)):
                problems.append(unknown)
            elif not isinstance(raw, str):
                problems.append(f"{where}: a queue is {{name: ...}} or a name")
            else:
                name = _named(where, raw, "queue", problems)
                if name is None:
                    continue
                if name in taken or name in names:
                    problems.append(f"{where}: the company already has a queue named {name!r}")
                names.append(name)
        return tuple(names)

    def _check_flows(
        self,
        principal: Principal,
        company: str,
        entries: list[Any],
        queues: tuple[str, ...],
        read_file: ReadFile | None,
        problems: list[str],
    ) -> tuple[PlannedFlow, ...]:
        flows: list[PlannedFlow] = []
        for index, entry in enumerate(entries):
            where = f"flows[{index}]"
            source = _flow_source(where, entry, read_file, problems)
            if source is None:
                continue
            try:
                flow = self._catalog.check_flow(principal, source, company, planned_queues=queues)
            except FlowError as error:
                problems.extend(f"{where}: {problem}" for problem in error.problems)
                continue
            except ActionError as error:
                problems.append(f"{where}: {error}")
                continue
            if any(planned.name == flow.name for planned in flows):
                problems.append(f"{where}: another flow of the import is named {flow.name!r}")
            flows.append(PlannedFlow(where, flow.name, source))
        return tuple(flows)

    def _check_services(
        self,
        company: str,
        entries: list[Any],
        flows: tuple[PlannedFlow, ...],
        problems: list[str],
    ) -> tuple[PlannedService, ...]:
        taken = {service.name for service in self.store.list_services(company)}
        stored = self.store.list_flows(company)
        services: list[PlannedService] = []
        for index, entry in enumerate(entries):
            where = f"services[{index}]"
            if not isinstance(entry, Mapping):
                problems.append(f"{where}: a service is {{name: ..., flow: ...}}")
                continue
            if unknown := _unknown_keys(where, entry, _SERVICE):
                problems.append(unknown)
                continue
            raw, flow = entry.get("name"), entry.get("flow")
            if not isinstance(raw, str):
                problems.append(f"{where}: a service needs a name")
                continue
            name = _named(where, raw, "service", problems)
            if name is None:
                continue
            if name in taken or any(planned.name == name for planned in services):
                problems.append(f"{where}: the company already has a service named {name!r}")
            if flow is None:
                services.append(PlannedService(name))
            elif not isinstance(flow, str):
                problems.append(f"{where}: flow must be a flow's name or id")
            elif any(planned.name == flow for planned in flows):
                services.append(PlannedService(name, planned_flow=flow))
            elif found := [f for f in stored if flow in (f.flow_id, f.name)]:
                if len(found) > 1:
                    problems.append(f"{where}: several flows are named {flow!r}; give its id")
                services.append(PlannedService(name, flow_id=found[0].flow_id))
            else:
                problems.append(f"{where}: no flow {flow!r} in the import or the company")
        return tuple(services)

    def _check_users(
        self, company: str, entries: list[Any], problems: list[str]
    ) -> tuple[PlannedUser, ...]:
        users: list[PlannedUser] = []
        logins: set[str] = set()
        for index, entry in enumerate(entries):
            where = f"users[{index}]"
            if not isinstance(entry, Mapping):
                problems.append(f"{where}: a user is {{login: ..., name: ..., role: ...}}")
                continue
            if unknown := _unknown_keys(where, entry, USER_KEYS):
                problems.append(unknown)
                continue
            found = _user_fields(where, entry, problems)
            if found is None:
                continue
            try:
                user = PlannedUser(
                    login=check_login(found["login"]),
                    name=found["name"],
                    role=found["role"],
                    password=None
                    if found["password"] is None
                    else check_password(found["password"]),
                    changes=UserChanges(
                        **{key: found[key] for key in (*USER_FLAGS, *USER_NUMBERS)}
                    ),
                )
                # What ``UserAdmin.create`` checks, name and role included.
                _checked(replace(user.changes, name=user.name, role=user.role))
            except ActionError as error:
                problems.append(f"{where}: {error}")
                continue
            key = user.login.casefold()
            if key in logins or self.store.find_users_by_login(user.login, company):
                problems.append(f"{where}: the login {user.login!r} is taken")
            logins.add(key)
            users.append(user)
        return tuple(users)


_NAME = frozenset({"name"})
_SERVICE = frozenset({"name", "flow"})
_FLOW = frozenset({"file", "source"})


def _named(where: str, raw: str, what: str, problems: list[str]) -> str | None:
    try:
        return _label(raw, what)
    except ActionError as error:
        problems.append(f"{where}: {error}")
        return None


def _flow_source(
    where: str, entry: Any, read_file: ReadFile | None, problems: list[str]
) -> str | None:
    """The flow's text: inline, or read from the file the entry names."""
    if isinstance(entry, Mapping):
        if set(entry) not in ({"file"}, {"source"}):
            problems.append(f"{where}: a flow is a file name, {{file: ...}} or {{source: ...}}")
            return None
        if "source" in entry:
            if not isinstance(entry["source"], str):
                problems.append(f"{where}: source must be the flow's YAML or JSON text")
                return None
            return entry["source"]
        entry = entry["file"]
    if not isinstance(entry, str) or not entry:
        problems.append(f"{where}: a flow is a file name, {{file: ...}} or {{source: ...}}")
        return None
    if read_file is None:
        problems.append(f"{where}: flow files cannot be read here; give {{source: ...}}")
        return None
    try:
        return read_file(entry)
    except (OSError, UnicodeDecodeError) as error:
        problems.append(f"{where}: cannot read {entry!r}: {error}")
        return None


def _user_fields(
    where: str, entry: Mapping[str, Any], problems: list[str]
) -> dict[str, Any] | None:
    """The entry's fields with their types checked; ``None`` (and problems) if any is wrong."""
    found: dict[str, Any] = {key: entry.get(key) for key in USER_KEYS}
    wrong = [
        f"{where}: {key} is required text"
        for key in ("login", "name", "role")
        if not isinstance(found[key], str)
    ]
    if found["password"] is not None and not isinstance(found["password"], str):
        wrong.append(f"{where}: password must be text")
    wrong += [
        f"{where}: {key} must be true or false"
        for key in USER_FLAGS
        if found[key] is not None and not isinstance(found[key], bool)
    ]
    wrong += [
        f"{where}: {key} must be a whole number"
        for key in USER_NUMBERS
        if found[key] is not None
        and (isinstance(found[key], bool) or not isinstance(found[key], int))
    ]
    problems.extend(wrong)
    return None if wrong else found
