"""Run-time settings, read once at start-up from the environment (``CHATREC_*``).

Nothing reads the environment at import time: :func:`load_config` is called by the
composition root (``bootstrap``), and command-line options override what it returns.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from chatrec.store.secrets import SecretBox

# An origin as browsers send it: scheme, host and port, nothing else (it goes into a
# Content-Security-Policy, where a space or a semicolon would start another rule).
ORIGIN = re.compile(r"https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?")


class Config(BaseSettings):
    """Every knob of a running chatrec, with the defaults ``make run`` relies on."""

    # Refusals never echo a value: the key and the database URL's password are secrets.
    model_config = SettingsConfigDict(
        env_prefix="CHATREC_", extra="ignore", hide_input_in_errors=True
    )

    data_dir: Path = Field(default=Path("var"), description="SQLite file, spool, demo platform")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite in the data dir"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8400, ge=0, le=65535)
    inactivity_timeout_seconds: float = Field(default=1800, gt=0)
    sweep_interval_seconds: float = Field(default=15, gt=0)
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
    session_hours: float = Field(default=12, gt=0)
    secure_cookies: bool = Field(default=False, description="set behind HTTPS")
    login_max_failures: int = Field(
        default=5, gt=0, description="wrong passwords in a row that lock a login"
    )
    login_lockout_minutes: float = Field(
        default=15, gt=0, description="how long a locked login stays locked"
    )
    login_attempts_per_minute: float = Field(
        default=10,
        gt=0,
        description="POST /api/login attempts per client address, in bursts of as many",
    )
    chat_starts_per_minute: float = Field(
        default=60,
        gt=0,
        description="POST /api/chats per client address, in bursts of as many",
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
        "`chatrec worker` processes deliver (they then find new files by polling)",
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

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'chatrec.db').resolve()}"

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"

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
