"""``chatrec check``: every chat's journal against its hash chain (R21).

Run by the contact centre's operators, on the database: a journal changed after it was
committed (an event edited, removed or inserted) is named here, chat and event, and the
command exits 1.  A purged chat (R17) still verifies: its digests stand in for the text.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from chatrec.cli.admin.options import AsJson, DatabaseUrl, DataDir
from chatrec.cli.database import command_config, store_of

if TYPE_CHECKING:
    from chatrec.store.store import Store

BROKEN = 1


def check(
    chats: Annotated[
        list[str] | None,
        typer.Option(
            "--chat",
            metavar="CHAT_ID",
            help="A chat to check; repeat the option for several. Left out: every chat.",
        ),
    ] = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Check each chat's journal against its hash chain, and name what differs (R21)."""
    from chatrec.domain.chain import check_chain
    from chatrec.errors import NotFoundError

    config = command_config(data_dir=data_dir, database_url=database_url)
    store = store_of(config)
    results = []
    try:
        for chat_id in chats or _every_chat(store):
            try:
                found = check_chain(chat_id, store.journal_chain(chat_id))
            except NotFoundError as error:
                typer.echo(f"error: {error}", err=True)
                raise typer.Exit(2) from None
            results.append((chat_id, found))
    finally:
        store.close()
    broken = [(chat_id, found) for chat_id, found in results if not found.verifies]
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "chat_id": chat_id,
                        "verifies": found.verifies,
                        "events": found.events,
                        "head": found.head.hex(),
                        "unchained_events": found.unchained,
                        "problems": list(found.problems),
                    }
                    for chat_id, found in results
                ],
                indent=2,
            )
        )
    else:
        for chat_id, found in broken:
            for problem in found.problems:
                typer.echo(f"chat {chat_id}: {problem}")
        unchained = sum(found.unchained for _, found in results)
        older = (
            f"; {unchained} events were committed before chains existed and are chained "
            "from their content"
            if unchained
            else ""
        )
        verdict = f"{len(broken)} do not verify" if broken else "every chain verifies"
        typer.echo(f"{len(results)} chats checked: {verdict}{older}")
    if broken:
        raise typer.Exit(BROKEN)


def _every_chat(store: Store) -> list[str]:
    found: list[str] = []
    while page := store.chat_ids(after=found[-1] if found else ""):
        found += page
    return found
