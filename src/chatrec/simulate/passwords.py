"""Where ``chatrec simulate`` finds its agents' passwords."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from chatrec.simulate.plan import SetupError

ENV_PREFIX = "CHATREC_SIMULATE_PASSWORD_"
DEMO_LOGINS = "demo-logins.json"


def _password_file(path: Path) -> dict[str, str]:
    """``demo-logins.json`` (a list of objects with login and password) or ``{login: pw}``."""
    try:
        data = json.loads(path.read_text())
        if isinstance(data, list):
            return {str(entry["login"]): str(entry["password"]) for entry in data}
        return {str(login): str(password) for login, password in data.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise SetupError(f"cannot read passwords from {path}: {error!r}") from None


def find_passwords(
    agents: Sequence[str],
    *,
    data_dir: Path,
    password_file: Path | None,
    environ: Mapping[str, str] = os.environ,
) -> dict[str, str]:
    """Each agent's password: ``--password-file``, else the environment, else the demo's file.

    The environment names one variable per login, ``CHATREC_SIMULATE_PASSWORD_<LOGIN>``
    (upper case, other characters as ``_``).
    """
    found: dict[str, str] = {}
    if password_file is not None:
        found = _password_file(password_file)
    else:
        for login in agents:
            name = ENV_PREFIX + re.sub(r"[^A-Z0-9]", "_", login.upper())
            if name in environ:
                found[login] = environ[name]
        demo = data_dir / DEMO_LOGINS
        if len(found) < len(agents) and demo.exists():
            found = {**_password_file(demo), **found}
    missing = [login for login in agents if login not in found]
    if missing:
        where = password_file or f"{ENV_PREFIX}<LOGIN> or {data_dir / DEMO_LOGINS}"
        raise SetupError(f"no password for {', '.join(missing)} (looked in {where})")
    return {login: found[login] for login in agents}
