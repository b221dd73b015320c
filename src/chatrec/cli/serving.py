"""One chatrec server's process: the app served by uvicorn, for ``serve`` and ``demo``."""

from __future__ import annotations

from chatrec.config import Config


def run_server(config: Config) -> None:
    """Serve until stopped; uvicorn and the app are imported only by a command that serves."""
    import uvicorn

    from chatrec.bootstrap import build_app
    from chatrec.live.heap import freeze_start_up_heap

    server = uvicorn.Server(
        uvicorn.Config(
            build_app(config),
            host=config.host,
            port=config.port,
            ws_max_size=max(65536, config.max_frame_bytes * 2),
            # No permessage-deflate: a customer's text compressed in one stream with
            # what else the connection carries leaks by length (CRIME/BREACH), and for
            # frames this small compression costs more CPU than it saves bandwidth.
            ws_per_message_deflate=False,
            log_level="info",
        )
    )
    freeze_start_up_heap()
    # uvicorn's own run, not asyncio.run of serve: it takes uvloop (uvicorn[standard]).
    # In relay's load, 608 µs of CPU a message against 752 on asyncio's loop (issue 13).
    server.run()
