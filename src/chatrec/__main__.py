"""``python -m chatrec``: the same command line as the ``chatrec`` script."""

from chatrec.cli import app

app(prog_name="chatrec")
