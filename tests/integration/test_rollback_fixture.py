"""`rollback_db` / `rollback_factories`: a test's writes live in one transaction that is rolled
back afterwards; transactions the code under test opens inside become savepoints."""

from __future__ import annotations

import pytest

from prisma_tasks.data.unit_of_work import unit_of_work

pytestmark = pytest.mark.integration
PROBE = 'CREATE TABLE IF NOT EXISTS "RollbackProbe" ("name" TEXT PRIMARY KEY)'


def names(db) -> list[str]:
    return [row[0] for row in db.execute('SELECT "name" FROM "RollbackProbe" ORDER BY "name"')]


def insert(db, name: str) -> None:
    db.execute('INSERT INTO "RollbackProbe" ("name") VALUES (?)', (name,))


def test_everything_is_rolled_back_and_inner_transactions_are_savepoints(
    prisma_tasks_rollback_connection,
) -> None:
    connection = prisma_tasks_rollback_connection
    connection.execute(PROBE)  # committed: the table outlives the test's transaction
    with connection.rolled_back() as db:
        insert(db, "outer")
        with pytest.raises(RuntimeError), unit_of_work(db):
            insert(db, "failed unit")
            raise RuntimeError("the code under test rolls back its own unit")
        with db.transaction():
            insert(db, "committed unit")
        with pytest.raises(RuntimeError), db.transaction():
            insert(db, "failed transaction")
            raise RuntimeError
        assert names(db) == ["committed unit", "outer"]
    assert names(connection) == []  # nothing the test wrote is left


def test_a_database_error_inside_is_undone_with_the_rest(prisma_tasks_rollback_connection) -> None:
    connection = prisma_tasks_rollback_connection
    connection.execute(PROBE)
    with connection.rolled_back() as db:
        insert(db, "kept for now")
        with pytest.raises(Exception, match=r"(?i)unique|duplicate"), unit_of_work(db):
            insert(db, "kept for now")  # violates the primary key inside a savepoint
        assert names(db) == ["kept for now"]  # the outer transaction is still usable
    assert names(connection) == []


def test_rollback_db_fixture_is_inside_a_transaction(rollback_db) -> None:
    from prisma_tasks.data.unit_of_work import in_transaction

    assert in_transaction(rollback_db)


@pytest.mark.backend("postgres")
def test_rollback_factories_write_through_the_rolled_back_connection(
    rollback_factories, prisma_tasks_rollback_connection
) -> None:
    import psycopg

    users = 'SELECT count(*) FROM "User"'
    before = rollback_factories.db.one(users)[0]
    line = rollback_factories.OrderLine(quantity=3)  # creates its order, customer and product
    assert rollback_factories.db.one(users)[0] == before + 1
    found = rollback_factories.db.one(
        'SELECT quantity FROM "OrderLine" WHERE id = ?', (line["id"],)
    )
    assert found == (3,)
    # not committed: another connection to the same database does not see the rows
    info = prisma_tasks_rollback_connection.raw.info
    with psycopg.connect(
        host=info.host, port=info.port, dbname=info.dbname, user=info.user, password=info.password
    ) as other:
        assert other.execute(users).fetchone()[0] == before
