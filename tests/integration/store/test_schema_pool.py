"""The suite's reused PostgreSQL schemas (``tests.postgres_schemas``): a test must meet a
schema as a fresh migration leaves it, whatever the test before it did there."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from chatrec.store.records import SYSTEM_COMPANY_ID
from tests.conftest import _postgres_server
from tests.postgres_schemas import SchemaPool

AUDIT_LINE = text(
    "INSERT INTO audit (company_id, at, actor, action, detail) "
    "VALUES (:company, now(), 'test', 'test.done', '{}') RETURNING id"
)


@pytest.fixture
def pool() -> Iterator[SchemaPool]:
    opened = SchemaPool(_postgres_server())
    try:
        yield opened
    finally:
        opened.close()


def test_a_schema_given_back_is_handed_out_again_as_freshly_migrated(pool: SchemaPool) -> None:
    schema = pool.take()
    engine = create_engine(pool.url(schema))
    try:
        with engine.begin() as connection:
            first_id = connection.scalar(AUDIT_LINE, {"company": SYSTEM_COMPANY_ID})
            connection.execute(text("UPDATE companies SET name = 'changed by a test'"))
            connection.scalar(AUDIT_LINE, {"company": SYSTEM_COMPANY_ID})
        engine.dispose()
        pool.give_back(schema)
        assert pool.take() == schema  # reused, not migrated again
        with engine.begin() as connection:
            assert connection.scalar(text("SELECT count(*) FROM audit")) == 0
            assert connection.scalar(AUDIT_LINE, {"company": SYSTEM_COMPANY_ID}) == first_id
            companies = connection.execute(text("SELECT company_id, name FROM companies")).all()
        fresh = create_engine(pool.url(pool.take()))  # migrated for this test
        with fresh.connect() as connection:
            assert (
                companies
                == connection.execute(text("SELECT company_id, name FROM companies")).all()
            )
        fresh.dispose()
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "change",
    [
        "ALTER TABLE companies ADD COLUMN left_behind integer",
        "DROP INDEX ix_chats_company_id_started_at",
        "UPDATE alembic_version SET version_num = '0002'",  # as a downgrade leaves it
        "DROP TABLE alembic_version",  # as a downgrade to nothing leaves it
    ],
)
def test_a_schema_whose_shape_a_test_changed_is_dropped(pool: SchemaPool, change: str) -> None:
    schema = pool.take()
    engine = create_engine(pool.url(schema))
    with engine.begin() as connection:
        connection.execute(text(change))
    engine.dispose()
    pool.give_back(schema)
    assert schema not in pool.free
    with pool.admin.connect() as connection:
        left = connection.execute(
            text("SELECT nspname FROM pg_namespace WHERE nspname = :schema"), {"schema": schema}
        ).all()
    assert left == []


def test_the_end_of_the_run_drops_every_schema_made_given_back_or_not(pool: SchemaPool) -> None:
    held, given_back = pool.take(), pool.take()
    pool.give_back(given_back)
    made = [*pool.made]
    assert {held, given_back, pool.template} <= set(made)
    pool.close()
    server = create_engine(pool.server)
    with server.connect() as connection:
        left = connection.scalars(
            text("SELECT nspname FROM pg_namespace WHERE nspname = ANY(:made)"), {"made": made}
        ).all()
    server.dispose()
    assert left == []
