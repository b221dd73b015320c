"""The database: the only package that imports SQLAlchemy.

Everything crosses its boundary as the plain records of :mod:`chatrec.store.records`.
"""

from chatrec.store.database import DEFAULT_URL, make_engine
from chatrec.store.migrations import migrate
from chatrec.store.store import Store
from chatrec.store.writer import GroupCommitter

__all__ = ["DEFAULT_URL", "GroupCommitter", "Store", "make_engine", "migrate"]
