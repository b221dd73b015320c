"""The exceptions chatrec raises on purpose, each carrying what a user needs to act.

    ChatrecError                 base of everything below
    ├── TemplateError            a filename template is refused (R6): problem + position
    └── JournalError             a journal breaks the shape the rules rely on

The web layer maps these to status codes and error frames in one place; nothing
decides what to do from an error's message text.
"""

from __future__ import annotations


class ChatrecError(Exception):
    """Base of chatrec's own errors."""


class TemplateError(ChatrecError, ValueError):
    """A filename template cannot be used; says what is wrong and where (R6)."""

    def __init__(self, template: str, problem: str, position: int) -> None:
        self.template = template
        self.problem = problem
        self.position = position
        super().__init__(f"{problem} at position {position} of template {template!r}")


class JournalError(ChatrecError, ValueError):
    """A journal is malformed: events out of order, missing start, events after end."""
