"""How the command line shows its help: each parameter says what it takes, in words.

Typer prints a parameter's Python type beside it (``--json <bool>``,
``--product <list[str]>``, ``USER <str>``): a reader would type ``--json true`` or a
Python list.  Here a flag shows no value, an option its metavar (``--company
COMPANY_ID``), an argument only its name (``USER...``), and the help sentence says the
rest: the unit, the default, how to give several.  Typer's way to change how a command
is shown is its class (``cls=``); :class:`App` gives every command and group of chatrec
the classes below, so no command can forget them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption
from typer.models import CommandFunctionType

__all__ = ["App", "Command", "Group"]


class _Argument(TyperArgument):
    def display_type_rich(self, ctx: Any) -> str | None:
        return None  # its name (the metavar) already says what it is


class _Option(TyperOption):
    def display_type_rich(self, ctx: Any) -> str | None:
        return None if self.is_flag else super().display_type_rich(ctx)


def _in_words(params: Iterable[object]) -> None:
    """Show ``params`` as this module promises.

    Typer builds its parameter objects itself, with no hook for their class: they are
    given ours after the fact, which only changes how they are shown.
    """
    for param in params:
        if type(param) is TyperArgument:
            param.__class__ = _Argument
        elif type(param) is TyperOption:
            param.__class__ = _Option


class Command(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        _in_words(params)
        return params


class Group(TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)  # with --help and Typer's completion options
        _in_words(params)
        return params


class App(typer.Typer):
    """A Typer app whose commands and groups are :class:`Command` and :class:`Group`;
    without arguments it shows its help."""

    def __init__(self, *, help: str, **options: Any) -> None:
        super().__init__(cls=Group, help=help, no_args_is_help=True, **options)

    def command(
        self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **options: Any
    ) -> Callable[[CommandFunctionType], CommandFunctionType]:
        return super().command(name, cls=cls or Command, **options)
