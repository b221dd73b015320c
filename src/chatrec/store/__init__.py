"""The database: the only package that imports SQLAlchemy.

Everything crosses its boundary as the plain records of :mod:`chatrec.store.records`;
the store itself is :class:`chatrec.store.store.Store`.  Nothing is imported here, so
reading a record does not load SQLAlchemy or Alembic.
"""
