"""Proving what chatrec kept and delivered (R21).

``chatrec check`` is the contact centre's: every chat's journal against its hash chain,
on the database, naming an event edited, removed or inserted after it was committed (a
purged chat, R17, still verifies: its digests stand in for the text).

``chatrec verify PATH…`` is the QA side's: delivered recordings checked offline with
``pip install chatrec`` and the files alone, no database, no server; OK or what differs
for each recording.

Both exit 0 when everything verifies and 1 otherwise, for schedulers and scripts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from chatrec.cli.admin.options import AsJson, DatabaseUrl, DataDir
from chatrec.cli.database import command_config, store_of

if TYPE_CHECKING:
    from chatrec.store.store import Store

NOT_VERIFIED = 1
NOTHING_FOUND = 2


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
                raise typer.Exit(NOTHING_FOUND) from None
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
        raise typer.Exit(NOT_VERIFIED)


def _every_chat(store: Store) -> list[str]:
    found: list[str] = []
    while page := store.chat_ids(after=found[-1] if found else ""):
        found += page
    return found


def verify(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="PATH",
            help="A folder of delivered recordings, or one recording's file; several may be given.",
        ),
    ],
    keys: Annotated[
        list[Path] | None,
        typer.Option(
            "--keys",
            metavar="FOLDER",
            help="A folder of the company's public keys, as published; repeat the option "
            "for several. Left out: the keys folders in or above each PATH, where "
            "deliveries put them.",
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Check that delivered recordings are exactly what the server signed (R21)."""
    from chatrec.verification import verify_paths

    missing = [str(path) for path in [*paths, *(keys or [])] if not path.exists()]
    if missing:
        typer.echo(f"error: no such file or folder: {', '.join(missing)}", err=True)
        raise typer.Exit(NOTHING_FOUND)
    verdicts, found_keys = verify_paths(paths, keys or [])
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "verified": bool(verdicts) and all(v.verified for v in verdicts),
                    "recordings": [v.to_json() for v in verdicts],
                    "keys": sorted(found_keys.by_id),
                    "key_problems": found_keys.problems,
                },
                indent=2,
            )
        )
    else:
        for problem in found_keys.problems:
            typer.echo(f"warning: {problem}", err=True)
        for verdict in verdicts:
            if verdict.verified:
                typer.echo(
                    f"OK      {verdict.path}  (recording {verdict.recording_id} of chat "
                    f"{verdict.chat_id}, signed by {verdict.key_id} at {verdict.signed_at})"
                )
            else:
                typer.echo(f"FAILED  {verdict.path}")
                for problem in verdict.problems:
                    typer.echo(f"        {problem}")
        failed = sum(not v.verified for v in verdicts)
        typer.echo(
            f"{len(verdicts)} recordings: {len(verdicts) - failed} verify, {failed} do not"
            if verdicts
            else f"no recordings found under {', '.join(map(str, paths))}"
        )
    if not verdicts or not all(v.verified for v in verdicts):
        raise typer.Exit(NOT_VERIFIED)
