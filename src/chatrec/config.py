"""Run-time settings, read once at start-up from the environment (``CHATREC_*``).

Nothing reads the environment at import time: :func:`load_config` is called by the
composition root (``bootstrap``), and command-line options override what it returns.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Config(BaseSettings):
    """Every knob of a running chatrec, with the defaults ``make run`` relies on."""

    model_config = SettingsConfigDict(env_prefix="CHATREC_", extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="SQLite file, spool, demo platform")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite in the data dir"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8400, ge=0, le=65535)
    inactivity_timeout_seconds: float = Field(default=1800, gt=0)
    sweep_interval_seconds: float = Field(default=15, gt=0)
    max_message_chars: int = Field(default=4000, gt=0, description="longest chat message")
    max_frame_bytes: int = Field(default=16384, gt=0, description="largest WebSocket frame")
    frames_per_second: float = Field(default=20, gt=0, description="per-connection rate limit")
    frame_burst: int = Field(default=40, gt=0)
    session_hours: float = Field(default=12, gt=0)
    secure_cookies: bool = Field(default=False, description="set behind HTTPS")
    delivery_poll_seconds: float = Field(
        default=2, gt=0, description="how often the delivery worker looks for due files"
    )
    delivery_lease_seconds: float = Field(
        default=120, gt=0, description="how long a claimed delivery is a worker's alone"
    )
    widget_origins: list[str] = Field(
        default_factory=list,
        description="web sites allowed to embed the customer widget (CORS, no credentials)",
    )

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'chatrec.db').resolve()}"

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"


def load_config(**overrides: object) -> Config:
    """The environment's settings with explicit overrides (``None`` values ignored)."""
    given = {key: value for key, value in overrides.items() if value is not None}
    return Config(**given)  # type: ignore[arg-type]
