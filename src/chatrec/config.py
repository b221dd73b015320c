"""Run-time settings, read once at start-up from the environment (``CHATREC_*``).

Nothing reads the environment at import time: :func:`load_config` is called by the
composition root (``bootstrap``), and command-line options override what it returns.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from chatrec.delivery.egress import EgressPolicy
    from chatrec.store.secrets import SecretBox

# An origin as browsers send it: scheme, host and port, nothing else (it goes into a
# Content-Security-Policy, where a space or a semicolon would start another rule).
ORIGIN = re.compile(r"https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?")


MIN_METRICS_TOKEN_CHARS = 24


class Config(BaseSettings):
    """Every knob of a running chatrec, with the defaults ``make run`` relies on."""

    # Refusals never echo a value: the key and the database URL's password are secrets.
    model_config = SettingsConfigDict(
        env_prefix="CHATREC_", extra="ignore", hide_input_in_errors=True
    )

    data_dir: Path = Field(
        default=Path("var"), description="SQLite file, secret key, demo platform"
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite in the data dir"
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis, as redis://host:port/db, for notices between several servers "
        "sharing one PostgreSQL database (R20); unset: one server, notices in process",
    )
    redis_prefix: str = Field(
        default="chatrec:",
        min_length=1,
        max_length=64,
        description="the start of every Redis channel name, so several chatrec "
        "installations can share one Redis",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8400, ge=0, le=65535)
    inactivity_timeout_seconds: float = Field(default=1800, gt=0)
    sweep_interval_seconds: float = Field(default=15, gt=0)
    node_heartbeat_seconds: float = Field(
        default=5, gt=0, description="how often a server tells the database it is alive (R20)"
    )
    node_lease_seconds: float = Field(
        default=20,
        gt=0,
        description="a server silent this long is taken for dead; at least twice the heartbeat",
    )
    presence_idle_timeout_seconds: float = Field(
        default=1800,
        ge=0,
        description="set an Available agent Away after so long without using the portal "
        "(the portal says so); 0: never",
    )
    max_message_chars: int = Field(default=4000, gt=0, description="longest chat message")
    max_frame_bytes: int = Field(default=16384, gt=0, description="largest WebSocket frame")
    frames_per_second: float = Field(default=20, gt=0, description="per-connection rate limit")
    frame_burst: int = Field(default=40, gt=0)
    session_hours: float = Field(
        default=12, gt=0, description="a session ends so long after sign-in, used or not"
    )
    session_idle_minutes: float = Field(
        default=30,
        ge=0,
        description="a session ends after so long without a request (an open portal "
        "counts as use); 0: never",
    )
    secure_cookies: bool | None = Field(
        default=None,
        description="mark the session cookies Secure (HTTPS only) and send HSTS; default: "
        "yes, unless the request was made to a loopback address (127.0.0.1, ::1, localhost)",
    )
    hsts_seconds: int = Field(
        default=31_536_000,
        ge=0,
        description="Strict-Transport-Security max-age sent where cookies are Secure; 0: none",
    )
    login_max_failures: int = Field(
        default=5,
        gt=0,
        description="wrong sign-ins in a row for one login from one address before that "
        "address must wait",
    )
    login_lockout_minutes: float = Field(
        default=1,
        gt=0,
        description="the first wait; it doubles with each further wrong sign-in",
    )
    login_lockout_max_minutes: float = Field(
        default=60, gt=0, description="the longest wait between wrong sign-ins"
    )
    login_attempts_per_minute: float = Field(
        default=10,
        gt=0,
        description="POST /api/login attempts per client address, in bursts of as many",
    )
    password_memory_kib: int = Field(
        default=65536,
        ge=7168,
        description="memory of one password hash (argon2id), in KiB; OWASP's minimum "
        "is 19456 with 2 passes",
    )
    password_time_cost: int = Field(
        default=3, ge=1, le=20, description="passes of one password hash over its memory"
    )
    password_parallelism: int = Field(
        default=4, ge=1, le=16, description="lanes (threads) of one password hash"
    )
    password_hash_concurrency: int = Field(
        default=4,
        ge=1,
        le=64,
        description="password hashes computed at once per process; the others wait",
    )
    api_token_max_days: int = Field(
        default=365,
        ge=1,
        le=3650,
        description="the longest an API token may live; longer requests are refused",
    )
    api_token_max_per_user: int = Field(
        default=20, gt=0, description="live (unexpired, unrevoked) API tokens per login"
    )
    chat_starts_per_minute: float = Field(
        default=60,
        gt=0,
        description="POST /api/chats per client address, in bursts of as many",
    )
    customer_uploads_per_minute: float = Field(
        default=20,
        gt=0,
        description="files customers send (POST /api/widget/attachments) per client "
        "address, in bursts of as many",
    )
    max_open_chats_per_company: int = Field(
        default=1000, gt=0, description="open chats a company may have at once, per node"
    )
    max_chat_events: int = Field(
        default=2000, gt=0, description="events one chat may hold; then messages are refused"
    )
    max_chat_bytes: int = Field(
        default=262_144,
        gt=0,
        description="bytes (UTF-8) of message text one chat may hold; then messages are refused",
    )
    chat_token_grace_seconds: float = Field(
        default=600,
        ge=0,
        description="how long a customer's chat token still opens the chat after it ended",
    )
    max_body_bytes: int = Field(
        default=65_536, gt=0, description="largest HTTP request body, but for flows"
    )
    max_flow_body_bytes: int = Field(
        default=1_048_576, gt=0, description="largest HTTP request body under /api/admin/flows"
    )
    max_connections: int = Field(
        default=10_000, gt=0, description="WebSocket connections one node holds at once"
    )
    max_connections_per_address: int = Field(
        default=200, gt=0, description="WebSocket connections from one client address at once"
    )
    delivery_in_server: bool = Field(
        default=True,
        description="deliver recordings from the server process; false when separate "
        "`chatrec worker` processes deliver (they then find new files by polling, or at "
        "once when given the servers' Redis)",
    )
    delivery_poll_seconds: float = Field(
        default=2, gt=0, description="how often the delivery worker looks for due files"
    )
    delivery_lease_seconds: float = Field(
        default=120, gt=0, description="how long a claimed delivery is a worker's alone"
    )
    widget_origins: list[str] = Field(
        default_factory=list,
        description="web sites allowed to embed the customer widget (its frame's "
        "frame-ancestors; CORS without credentials for the public endpoints)",
    )
    egress_allow: str | None = Field(
        default=None,
        description="networks recording platforms may be reached on although refused by "
        "default (private, loopback, link-local), comma-separated, each with an optional "
        ":port or :first-last: on-premises platforms",
    )
    egress_deny: str | None = Field(
        default=None,
        description="networks (optional ports) never connected to, over any allow",
    )
    connection_test_seconds: float = Field(
        default=10, gt=0, description="longest a Test connection from the console or API runs"
    )
    connection_tests_per_minute: float = Field(
        default=6, gt=0, description="Test connections a company may run a minute, in bursts"
    )
    connection_tests_at_once: int = Field(
        default=1, gt=0, description="Test connections of one company running at once"
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="key of the SFTP secrets at rest; several, comma-separated, to rotate "
        "(the first encrypts); default: the key file",
    )
    secret_key_file: Path | None = Field(
        default=None,
        description="key file used without CHATREC_SECRET_KEY, created (0600) on first "
        "start; default: secret.key in the data dir",
    )

    metrics_token: SecretStr | None = Field(
        default=None,
        description="the bearer token a Prometheus scrape of /metrics must send; unset: "
        "/metrics answers 404",
    )

    @field_validator("metrics_token")
    @classmethod
    def _refuse_short_metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_METRICS_TOKEN_CHARS:
            raise ValueError(
                f"CHATREC_METRICS_TOKEN must be at least {MIN_METRICS_TOKEN_CHARS} characters; "
                "make one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        return value

    @model_validator(mode="after")
    def _refuse_redis_without_a_shared_database(self) -> Config:
        if self.redis_url and self.effective_database_url.startswith("sqlite"):
            raise ValueError(
                "CHATREC_REDIS_URL (--redis-url) carries notices between several servers, "
                "which share a PostgreSQL database, but this one uses SQLite: give "
                "--database-url postgresql+psycopg://… as well, or leave Redis out for one "
                "server"
            )
        return self

    @field_validator("node_lease_seconds")
    @classmethod
    def _refuse_a_lease_shorter_than_two_beats(cls, value: float, info: ValidationInfo) -> float:
        beat = info.data.get("node_heartbeat_seconds")
        if beat is not None and value < 2 * beat:
            raise ValueError(
                f"must be at least twice CHATREC_NODE_HEARTBEAT_SECONDS ({beat}), or a live "
                "server whose beat is late would be taken for dead"
            )
        return value

    @field_validator("widget_origins")
    @classmethod
    def _refuse_what_is_no_origin(cls, value: list[str]) -> list[str]:
        for origin in value:
            if not ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"{origin!r} is not a web site's origin: write it as the browser's "
                    "address bar shows it, without a path, such as https://www.acme.example"
                )
        return value

    @field_validator("secret_key")
    @classmethod
    def _refuse_placeholder_key(cls, value: SecretStr | None) -> SecretStr | None:
        # Refused at start-up, before a secret is written with a key nobody can repeat.
        if value is not None:
            from chatrec.store.secrets import KEY_VARIABLE, parse_keys

            parse_keys(value.get_secret_value(), KEY_VARIABLE)
        return value

    @field_validator("egress_allow", "egress_deny")
    @classmethod
    def _refuse_bad_networks(cls, value: str | None, info: ValidationInfo) -> str | None:
        # Refused at start-up: a typo must not leave a network open or a platform shut.
        from chatrec.delivery.egress import parse_rules

        parse_rules(value or "", f"CHATREC_{(info.field_name or '').upper()}")
        return value

    @property
    def egress_policy(self) -> EgressPolicy:
        """Where recording platforms may be reached (``delivery/egress.py``)."""
        from chatrec.delivery.egress import EgressPolicy

        return EgressPolicy.of(self.egress_allow or "", self.egress_deny or "")

    def allow_egress(self, entry: str) -> Config:
        """These settings with ``entry`` allowed too (the demo's own platform)."""
        allow = ",".join(part for part in (self.egress_allow, entry) if part)
        return self.model_copy(update={"egress_allow": allow})

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'chatrec.db').resolve()}"

    @property
    def effective_secret_key_file(self) -> Path:
        return (self.secret_key_file or self.data_dir / "secret.key").resolve()

    def load_secret_box(self) -> SecretBox:
        """The key of the SFTP secrets: ``secret_key``, else the key file, created with a
        new key if missing.  Every process sharing a database must load the same key."""
        from chatrec.store.secrets import load_secret_box

        key = None if self.secret_key is None else self.secret_key.get_secret_value()
        return load_secret_box(key, self.effective_secret_key_file)


def load_config(**overrides: object) -> Config:
    """The environment's settings with explicit overrides (``None`` values ignored)."""
    given = {key: value for key, value in overrides.items() if value is not None}
    return Config(**given)  # type: ignore[arg-type]
