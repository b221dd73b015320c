"""The ``chatrec`` command line (Typer): the commands in ``main``, ``deliveries``, ``worker``
and ``admin``; how each opens the database in ``database``; how help shows in ``help``.

The command line starts without the store (SQLAlchemy) and asyncssh: a command imports
what loads them when it runs.
"""

from chatrec.cli.main import app

__all__ = ["app"]
