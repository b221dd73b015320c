"""The example flows shipped with chatrec; the demo company runs them."""

from __future__ import annotations

from importlib.resources import files

NAMES = ("support", "consent_first")


def example_source(name: str) -> str:
    """The YAML text of a shipped example flow."""
    if name not in NAMES:
        raise KeyError(f"no example flow {name!r}; known: {', '.join(NAMES)}")
    return files(__name__).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
