"""``chatrec worker``: the delivery worker alone, without the chat service (R16)."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Annotated

import typer

from chatrec.cli.admin.options import DatabaseUrl, DataDir, RedisUrl
from chatrec.cli.database import command_config, require_schema
from chatrec.config import Config


def _work(config: Config, *, once: bool) -> None:
    from chatrec.bootstrap import build_bus, build_delivery, wake_on_commits

    log = logging.getLogger("chatrec.worker")
    require_schema(config)  # a worker never migrates (see `worker`): refuse an old schema
    delivery = build_delivery(config)
    worker = delivery.worker
    bus = build_bus(config)
    wake_on_commits(bus, worker)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        try:
            for warning in await delivery.warnings():
                log.warning("%s", warning)
            log.info("delivery worker %s started", worker.worker_id)
            if once:
                claimed = await worker.run_once()
                log.info("delivery worker %s claimed %d deliveries", worker.worker_id, claimed)
                return
            await bus.start()
            task = delivery.start()
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            await delivery.stop()
            log.info("delivery worker %s stopped", worker.worker_id)
        finally:
            await bus.stop()
            await worker.close()

    from chatrec.errors import SecretKeyError
    from chatrec.live.heap import freeze_start_up_heap

    freeze_start_up_heap()  # its uploads and their checks wait on no walk of it
    try:
        asyncio.run(run())
    except SecretKeyError as error:
        # Started with another key than the servers' (R18, R20): say what to set.
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=1) from None
    finally:
        delivery.store.close()


def worker(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    redis_url: RedisUrl = None,
    once: Annotated[
        bool, typer.Option("--once", help="Run one round of deliveries, then exit.")
    ] = False,
) -> None:
    """Run only the delivery worker until SIGTERM or SIGINT (run `migrate` first).

    Any number of workers and servers may share a database: each claims deliveries with
    a lease, and a killed worker's leases expire for another to take over.  It never
    changes the schema, so it starts fast and never races a migration.  With Redis it
    looks for deliveries as soon as a server commits some; without, every
    CHATREC_DELIVERY_POLL_SECONDS.
    """
    config = command_config(data_dir=data_dir, database_url=database_url, redis_url=redis_url)
    _work(config, once=once)
