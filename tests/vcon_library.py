"""The vCon project's own Python library (``vcon`` 0.3.10 on PyPI), reading our files as
a QA platform built on it would.  It lives in a virtualenv of its own (``make vcon``): it
pins pytest below 9 as a runtime dependency.

What it says of each file: its validator's complaints, and what its reading API finds
(the parties, the text Dialog Objects, our metadata attachment and decision analysis).
Its validator knows only audio media types for a Dialog Object, so it refuses every
text dialog whatever the file says ("invalid mimetype: text/plain"): a limit of the
library, not of the file.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

VARIABLE = "CHATREC_VCON_PYTHON"
DEFAULT = Path(__file__).resolve().parents[1] / ".venv-vcon" / "bin" / "python"

_READ = """
import json, sys
from vcon import Vcon
from vcon.dialog import Dialog

def read(path):
    valid, errors = Vcon.validate_file(path)
    found = {"valid": valid, "errors": errors}
    try:
        vcon = Vcon.build_from_json(open(path).read())
        found["parties"] = [party.name for party in vcon.parties]
        found["text_dialogs"] = sum(Dialog(**d).is_text() for d in vcon.dialog)
        found["attachment"] = vcon.find_attachment_by_type("chatrec-recording-metadata") is not None
        found["analysis"] = vcon.find_analysis_by_type("report") is not None
    except Exception as error:
        found["unreadable"] = f"{type(error).__name__}: {error}"
    return found

print(json.dumps({path: read(path) for path in sys.argv[1:]}))
"""


def read_with_vcon_library(paths: Sequence[Path]) -> dict[str, dict[str, Any]]:
    """What the library makes of each file, by path."""
    python = Path(os.environ.get(VARIABLE) or DEFAULT)
    if not python.exists():
        raise AssertionError(
            f"the vcon library's virtualenv is missing: run `make vcon` ({python})"
        )
    done = subprocess.run(
        [str(python), "-c", _READ, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found: dict[str, dict[str, Any]] = json.loads(done.stdout)
    return found
