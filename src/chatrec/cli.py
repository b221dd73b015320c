"""The ``chatrec`` command line (Typer)."""

from __future__ import annotations

from importlib.metadata import version as package_version

import typer

app = typer.Typer(
    help="chatrec: webchat for contact centres, recorded by rule and delivered over SFTP.",
    no_args_is_help=True,
)


@app.command()
def version() -> None:
    """Print the installed chatrec version."""
    typer.echo(package_version("chatrec"))


@app.callback()
def main() -> None:
    """Commands for running and inspecting chatrec."""
