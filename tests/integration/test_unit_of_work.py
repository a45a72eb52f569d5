"""The unit of work on real PostgreSQL and SQLite: a transaction commits or rolls back whole."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import psycopg
import pytest

from prisma_tasks.data.unit_of_work import (
    NotInTransaction,
    in_transaction,
    require_transaction,
    unit_of_work,
)
from prisma_tasks.db.connection import Connection

from .data_support import Children, connect, count

LEDGER = (
    'CREATE TABLE "Ledger" ("id" INTEGER PRIMARY KEY, "amount" INTEGER NOT NULL '
    'CHECK ("amount" <> 0))'
)
ROWS = 'SELECT count(*) FROM "Ledger"'


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.backend("postgres")), "sqlite"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with an empty Ledger table, on each backend."""
    if request.param == "postgres":
        database = request.getfixturevalue("fresh_database_url")
    else:
        database = f"file:{tmp_path / 'uow.db'}"
    with connect(database) as db:
        db.execute(LEDGER)
    return database


def add(db: Connection, row_id: int, amount: int = 1) -> None:
    db.execute('INSERT INTO "Ledger" ("id", "amount") VALUES (?, ?)', [row_id, amount])


class Boom(Exception):
    pass


def test_commits_as_a_whole_and_only_at_the_end(db: Connection, url: str) -> None:
    with connect(url) as observer:
        with unit_of_work(db):
            add(db, 1)
            add(db, 2)
            assert in_transaction(db)
            assert count(observer, ROWS) == 0, "another connection saw uncommitted rows"
        assert not in_transaction(db)
        assert count(observer, ROWS) == 2


def _raise_python_error(db: Connection) -> None:
    raise Boom("midway")


def _violate_check(db: Connection) -> None:
    add(db, 99, amount=0)


def _duplicate_key(db: Connection) -> None:
    add(db, 1)


def _interrupt(db: Connection) -> None:
    raise KeyboardInterrupt


INTEGRITY = (psycopg.errors.IntegrityError, sqlite3.IntegrityError)
FAILURES = {
    "python exception": (_raise_python_error, Boom),
    "check constraint": (_violate_check, INTEGRITY),
    "duplicate key": (_duplicate_key, INTEGRITY),
    "keyboard interrupt": (_interrupt, KeyboardInterrupt),
}


@pytest.mark.parametrize("failure", FAILURES)
def test_failure_midway_leaves_nothing(db: Connection, url: str, failure: str) -> None:
    fail, expected = FAILURES[failure]
    with pytest.raises(expected), unit_of_work(db):
        add(db, 1)
        add(db, 2)
        fail(db)
        add(db, 3)
    assert not in_transaction(db)
    with connect(url) as observer:
        assert count(observer, ROWS) == 0
    # The connection is usable afterwards.
    with unit_of_work(db):
        add(db, 7)
    assert count(db, ROWS) == 1


def test_nested_unit_is_a_savepoint(db: Connection) -> None:
    with unit_of_work(db):
        add(db, 1)
        with pytest.raises(Boom), unit_of_work(db):
            add(db, 2)
            raise Boom
        add(db, 3)
    assert [row[0] for row in db.execute('SELECT "id" FROM "Ledger" ORDER BY "id"')] == [1, 3]


def test_nested_unit_after_a_database_error_keeps_the_outer_usable(db: Connection) -> None:
    with unit_of_work(db):
        add(db, 1)
        with pytest.raises(INTEGRITY), unit_of_work(db):
            _violate_check(db)
        add(db, 2)
    assert count(db, ROWS) == 2


def test_outer_failure_undoes_a_finished_inner_unit(db: Connection) -> None:
    with pytest.raises(Boom), unit_of_work(db):
        with unit_of_work(db):
            add(db, 1)
        add(db, 2)
        raise Boom
    assert count(db, ROWS) == 0


def test_require_transaction(db: Connection) -> None:
    with pytest.raises(NotInTransaction, match="unit_of_work"):
        require_transaction(db, "publish")
    with unit_of_work(db):
        require_transaction(db, "publish")


def test_a_process_killed_midway_leaves_nothing(url: str, children: Children) -> None:
    child = children.start("uow", url)
    assert child.read_line(timeout=30).strip() == "MIDWAY"
    assert child.kill(), "the child finished instead of being killed midway"
    with connect(url) as observer:
        assert count(observer, ROWS) == 0
        with unit_of_work(observer):  # nothing still holds a lock
            add(observer, 1)
        assert count(observer, ROWS) == 1


def test_sqlite_writers_queue_instead_of_failing(tmp_path: Path) -> None:
    """Read-then-write units on four connections: none fails with "database is locked"
    (a deferred BEGIN would), and no increment is lost."""
    url = f"file:{tmp_path / 'counter.db'}"
    with connect(url) as db:
        db.execute('CREATE TABLE "Counter" ("id" INTEGER PRIMARY KEY, "value" INTEGER NOT NULL)')
        db.execute('INSERT INTO "Counter" VALUES (1, 0)')
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def work() -> None:
        try:
            with connect(url) as db:
                start.wait()
                for _ in range(50):
                    with unit_of_work(db):
                        (value,) = db.execute('SELECT "value" FROM "Counter" WHERE "id" = 1')[0]
                        threading.Event().wait(0.0005)  # let the others run in between
                        db.execute('UPDATE "Counter" SET "value" = ? WHERE "id" = 1', [value + 1])
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with connect(url) as db:
        assert db.execute('SELECT "value" FROM "Counter"')[0][0] == 200
