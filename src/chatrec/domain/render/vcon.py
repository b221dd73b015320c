"""The IETF vCon container, for QA platforms that read it (R15).

Follows draft-ietf-vcon-vcon-core-04 (syntax ``"vcon": "0.4.0"``) with the contact
centre extension of draft-ietf-vcon-cc-extension-02 (``"extensions": ["CC"]``) for
the parties' ``role``; a company may ask for the names of the earlier container drafts
instead (:func:`container_form`, ``VconDraft.CONTAINER``).  We emit the structure
ourselves, from the recording document: the PyPI ``vcon`` package pins test tools as
runtime dependencies and takes its ids from the clock, and a recording must render to
the same bytes every time.

Mapping:

* ``parties``: every participant (``type`` person or bot, CC ``role``, the login id of
  staff as the static ``uuid`` the draft asks for, never a staff e-mail; the customer
  with the name and ``mailto`` given in the pre-chat form, R23), then the company
  as an ``organization`` party, which contributes the metadata attachment;
* ``dialog``: one ``text`` Dialog Object per message kept (R8), inline ``text/plain``
  with ``encoding: "none"``; the chat's joins and drops are the ``party_history`` of
  the first one, as vCon core has no chat-wide event list.  A chat with no message
  kept gets one placeholder text Dialog Object without content to carry that history;
* ``analysis``: a ``report`` by vendor ``chatrec`` holding the decision: the rule and
  the explanation sentences (R14);
* ``attachments``: the recording document without its messages (they are the dialog)
  and without the decision (it is the analysis): metadata, flags, and every other
  event in order, pause markers included.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

from chatrec.domain.render.document import Json, actor_key
from chatrec.domain.render.json_format import dump_json
from chatrec.domain.settings import VconDraft

MEDIA_TYPE = "application/vcon+json"
VCON_VERSION = "0.4.0"
# The syntax version of the container drafts (``VconDraft.CONTAINER``).
CONTAINER_VCON_VERSION = "0.0.1"
EXTENSIONS = ("CC",)
VENDOR = "chatrec"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PARTY_TYPE = {"customer": "person", "agent": "person", "supervisor": "person"}


def vcon_uuid(company_id: str, recording_id: str, created_at: datetime) -> str:
    """A version 8 UUID laid out like version 7, as the draft recommends, but reproducible.

    The first 48 bits are the chat's end in Unix milliseconds, so vCons sort by time;
    the 74 bits a version 7 UUID draws at random come from a SHA-1 of the company and
    recording ids, so the same recording always has the same UUID and two recordings
    never share one.
    """
    millis = (created_at - _EPOCH) // timedelta(milliseconds=1) & ((1 << 48) - 1)
    name = f"chatrec:{company_id}:{recording_id}".encode()
    digest = hashlib.sha1(name, usedforsecurity=False).digest()
    spread = int.from_bytes(digest[:10], "big") >> 6
    rand_a, rand_b = spread >> 62, spread & ((1 << 62) - 1)
    value = millis << 80 | 0x8 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return str(uuid.UUID(int=value))


def _party(actor: Json, customer: Json | None) -> Json:
    """A participant as a vCon party; the customer with the name and ``mailto`` they gave
    in the pre-chat form (R23), if they did."""
    given = customer if customer is not None and actor["role"] == "customer" else {}
    party: Json = {
        "name": given.get("name") or actor["name"],
        "type": _PARTY_TYPE.get(actor["role"], "bot"),
        "role": actor["role"],
        "validation": "login" if actor["user_id"] is not None else "none",
    }
    if actor["user_id"] is not None:
        party["uuid"] = actor["user_id"]
    if given.get("email"):
        party["mailto"] = given["email"]
    return party


def _party_history(document: Json, index: dict[tuple[str, str | None, str], int]) -> list[Json]:
    """Joins and drops: the customer from the start, staff as they join, leave or hand over."""
    customers = [
        n for n, actor in enumerate(document["participants"]) if actor["role"] == "customer"
    ]
    history = [{"party": n, "time": document["started_at"], "event": "join"} for n in customers[:1]]
    for entry in document["events"]:
        party = index.get(actor_key(entry["by"]))
        if party is None:
            continue
        if entry["type"] == "joined":
            history.append({"party": party, "time": entry["at"], "event": "join"})
        elif entry["type"] == "left" or (
            entry["type"] == "transferred" and entry["by"]["role"] == "agent"
        ):
            history.append({"party": party, "time": entry["at"], "event": "drop"})
    return history


def build_vcon(document: Json) -> Json:
    """The vCon object for one recording document."""
    participants = document["participants"]
    index = {actor_key(actor): number for number, actor in enumerate(participants)}
    organization = len(participants)
    dialog: list[Json] = [
        {
            "type": "text",
            "start": entry["at"],
            "parties": [index[actor_key(entry["by"])]],
            "mediatype": "text/plain",
            "encoding": "none",
            "body": entry["text"],
            "application": "chatrec",
            "interaction_id": document["chat_id"],
        }
        for entry in document["events"]
        if entry["type"] == "message"
    ]
    if not dialog:
        dialog.append({"type": "text", "start": document["started_at"]})
    dialog[0]["party_history"] = _party_history(document, index)
    company = document["company"]
    metadata = {key: value for key, value in document.items() if key not in {"decision", "events"}}
    metadata["events"] = [entry for entry in document["events"] if entry["type"] != "message"]
    return {
        "vcon": VCON_VERSION,
        "uuid": vcon_uuid(
            company["id"], document["recording_id"], datetime.fromisoformat(document["ended_at"])
        ),
        "created_at": document["ended_at"],
        "subject": f"{document['service']} chat {document['chat_id']}",
        "extensions": list(EXTENSIONS),
        "parties": [
            *(_party(actor, document.get("customer")) for actor in participants),
            {
                "name": company["name"],
                "type": "organization",
                "validation": "none",
                "uuid": company["id"],
            },
        ],
        "dialog": dialog,
        "analysis": [
            {
                "type": "report",
                "vendor": VENDOR,
                "product": "recording-decision",
                "schema": f"{document['schema']}#/properties/decision",
                "mediatype": "application/json",
                "encoding": "json",
                "body": document["decision"],
            }
        ],
        "attachments": [
            {
                "purpose": "chatrec-recording-metadata",
                "start": document["started_at"],
                "party": organization,
                "dialog": 0,
                "mediatype": "application/json",
                "encoding": "json",
                "body": metadata,
            }
        ],
    }


def container_form(vcon: Json) -> Json:
    """The same vCon in the names of the earlier container drafts, which the vCon
    project's Python library (``vcon`` 0.3 on PyPI) still reads: ``mimetype`` for
    ``mediatype``, an attachment's ``type`` for its ``purpose``, syntax ``0.0.1``, no
    ``extensions`` list (the CC ``role`` of a party was in those drafts already), an
    analysis naming the Dialog Objects it covers, and a placeholder Dialog Object with
    the parties, type and empty body those drafts require of every one."""
    older: Json = {**vcon, "vcon": CONTAINER_VCON_VERSION}
    del older["extensions"]
    older["dialog"] = [_container_dialog(dialog) for dialog in vcon["dialog"]]
    older["analysis"] = [
        {**_renamed(entry), "dialog": list(range(len(vcon["dialog"])))}
        for entry in vcon["analysis"]
    ]
    older["attachments"] = [
        {"type": entry["purpose"], **_renamed(entry, drop="purpose")}
        for entry in vcon["attachments"]
    ]
    return older


def _renamed(entry: Json, drop: str | None = None) -> Json:
    return {
        ("mimetype" if key == "mediatype" else key): value
        for key, value in entry.items()
        if key != drop
    }


def _container_dialog(dialog: Json) -> Json:
    if "body" in dialog:
        return _renamed(dialog)
    return {**dialog, "parties": [], "mimetype": "text/plain", "encoding": "none", "body": ""}


def render_vcon(document: Json, draft: VconDraft = VconDraft.CORE) -> bytes:
    """The recording as an unsigned vCon of ``draft`` in deterministic JSON bytes."""
    built = build_vcon(document)
    return dump_json(container_form(built) if draft is VconDraft.CONTAINER else built)
