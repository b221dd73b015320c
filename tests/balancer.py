"""An nginx of the test's own in front of several chatrec servers (R20).

Debian's ``nginx`` (installed by ``make test``, as sshd and redis-server are) run as a
child process, never the system's service: its configuration, pid file, logs and
temporary folders all live in the test's folder (``-p``), it listens on a free loopback
port, and it stays in the foreground (``daemon off``) so the test stops it by its pid.

Its configuration is what a deployment needs in front of chatrec nodes
(../shared/NODES.md): WebSocket upgrade (``proxy_http_version 1.1`` and the
``Upgrade``/``Connection`` headers), an idle read timeout above the ping interval, plain
round robin without sticky sessions (every node serves every chat), and passive health
(``max_fails``/``fail_timeout``): a node that refuses a connection is skipped, and the
request goes to the next one.  Each answer names the node that gave it in
``X-Chatrec-Upstream`` (``host:port``), so a test knows where a connection landed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from chatrec.demo.sshd import LOOPBACK
from tests.harness import ChildServer

NGINX = "/usr/sbin/nginx"
UPSTREAM_HEADER = "X-Chatrec-Upstream"
READ_TIMEOUT_SECONDS = 75
"""Longer than uvicorn's WebSocket ping interval (20 s), or idle sockets are cut."""
FAIL_TIMEOUT_SECONDS = 5
"""How long nginx skips a node after a connection to it failed."""


def nginx_conf(prefix: Path, port: int, upstreams: Sequence[int]) -> str:
    servers = "\n".join(
        f"        server {LOOPBACK}:{up} max_fails=1 fail_timeout={FAIL_TIMEOUT_SECONDS}s;"
        for up in upstreams
    )
    # Workers of a master started as root would run as nobody and could not write the
    # temporary folders inside the test's own (private) folder.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{user}daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 1024; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    upstream chatrec {{
{servers}
    }}
    server {{
        listen {LOOPBACK}:{port};
        location / {{
            proxy_pass http://chatrec;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_connect_timeout 2s;
            proxy_read_timeout {READ_TIMEOUT_SECONDS}s;
            proxy_send_timeout {READ_TIMEOUT_SECONDS}s;
            proxy_next_upstream error timeout;
            add_header {UPSTREAM_HEADER} $upstream_addr always;
        }}
    }}
}}
"""


def balancer(folder: Path, upstreams: Sequence[int]) -> ChildServer:
    """nginx in ``folder`` on a free port in front of ``upstreams``; not started yet.

    A missing nginx fails the test with the command that installs it; it never skips.
    """
    if shutil.which(NGINX) is None:
        pytest.fail(f"{NGINX} is missing: run `make nginx` (Debian's nginx)")
    folder.mkdir(parents=True, exist_ok=True)
    server = ChildServer(
        [
            NGINX,
            "-p",
            str(folder),
            "-c",
            str(folder / "nginx.conf"),
            "-e",
            str(folder / "error.log"),
        ],
        folder / "nginx.out",
        ready="listening",
        stop_signal=15,  # SIGTERM: fast shutdown
        stop_grace=5,
    )
    (folder / "nginx.conf").write_text(nginx_conf(folder, server.port, upstreams))
    return server
