"""The transaction a module's seeds run in, which no seed can end.

Each module's seeds run in one transaction, so a failing seed leaves nothing of its module. A
seed that sends COMMIT, END, ROLLBACK, ABORT, BEGIN or START TRANSACTION (in a .sql file,
through `db.execute`, or through the driver connection `db.raw`) would break that: the modules'
rows up to there would stay. So the database itself refuses them while seeds run, whichever way
they are sent, and `db.commit()`, `db.rollback()` and `db.close()` are refused too:

- SQLite asks an authorizer when it prepares a statement: the one installed while seeds run
  denies every transaction statement (also sqlite3's own commit() and rollback() and the COMMIT
  executescript() sends first); savepoints stay allowed.
- PostgreSQL has no such hook. The transaction holds a row of a temporary table whose foreign
  key is broken and checked only at commit, so a COMMIT or END a seed sends fails and the
  server rolls the whole transaction back; the row is deleted just before the real COMMIT. The
  session is read-only by default (the seeding transaction itself is READ WRITE), so nothing a
  seed writes after its own ROLLBACK is kept either. BEGIN, which PostgreSQL only warns about
  inside a transaction, is seen in that warning, ROLLBACK AND CHAIN in the changed
  transaction id.

Each refusal is a TransactionControl naming what the seed did; the runner names the seed file.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, NoReturn

from prisma_tasks.db.connection import Connection

GUARD_TABLE = "prisma_tasks_seed_guard"
_ENDS = "seeds run inside their module's transaction and cannot end or restart it"


class TransactionControl(Exception):
    """A seed tried to end, restart or close its module's transaction."""

    def __init__(self, message: str, rolled_back: bool = True) -> None:
        super().__init__(message)
        self.rolled_back = rolled_back  # False: rows written before it may have been committed

    @classmethod
    def ran(cls, statements: list[str], rolled_back: bool = True) -> TransactionControl:
        unique = list(dict.fromkeys(statements))
        return cls(f"it runs {' and '.join(unique)}, but {_ENDS}: remove it", rolled_back)


class SeedDatabase(Connection):
    """The `db` a seed gets: its module's connection, without commit(), rollback() or close()."""

    def __init__(self, connection: Connection, refused: list[str]) -> None:
        super().__init__(connection.raw, connection.dialect)
        self._refused = refused

    def _refuse(self, call: str) -> NoReturn:
        self._refused.append(call)  # also refused when the seed catches the exception
        raise TransactionControl.ran([call])

    def commit(self) -> NoReturn:
        self._refuse("commit()")

    def rollback(self) -> NoReturn:
        self._refuse("rollback()")

    def close(self) -> NoReturn:
        self._refuse("close()")


class SeedTransactions(ABC):
    """The seeding transactions of one connection: `module()` opens one, `run()` runs a seed."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.refused: list[str] = []
        self.database = SeedDatabase(connection, self.refused)

    @staticmethod
    def on(connection: Connection) -> SeedTransactions:
        if connection.dialect == "postgres":
            return _PostgresTransactions(connection)
        return _SqliteTransactions(connection)

    @abstractmethod
    def module(self) -> AbstractContextManager[SeedTransactions]:
        """One transaction: committed when the block ends, rolled back when anything escapes."""

    def run(self, seed: Callable[[SeedDatabase], object]) -> None:
        """Run one seed inside the open transaction; TransactionControl when it touched it."""
        self.refused.clear()
        error: Exception | None = None
        with self._watching():
            try:
                seed(self.database)
            except Exception as exc:
                error = exc
        refusal = self._refusal(error)
        if refusal is not None:
            raise refusal from error
        if error is not None:
            raise error

    def _refusal(self, error: Exception | None) -> TransactionControl | None:
        touched = self.refused + self._ended(error)
        return TransactionControl.ran(touched) if touched else None

    @abstractmethod
    def _watching(self) -> AbstractContextManager[None]:
        """Where the seed runs: what it does to the transaction is noted in `refused`."""

    @abstractmethod
    def _ended(self, error: Exception | None) -> list[str]:
        """How the seed ended the transaction ([] when it is still the one `module` opened)."""


class _SqliteTransactions(SeedTransactions):
    @contextmanager
    def module(self) -> Iterator[SeedTransactions]:
        raw = self.connection.raw
        raw.execute("BEGIN IMMEDIATE")  # seeds write: take the write lock up front
        try:
            yield self
        except BaseException:
            if raw.in_transaction:
                raw.execute("ROLLBACK")
            raise
        raw.execute("COMMIT")

    @contextmanager
    def _watching(self) -> Iterator[None]:
        self.connection.raw.set_authorizer(self._authorize)
        try:
            yield
        finally:
            self.connection.raw.set_authorizer(None)

    def _authorize(self, action: int, statement: str | None, *_: Any) -> int:
        if action == sqlite3.SQLITE_TRANSACTION:  # BEGIN, COMMIT (also END), ROLLBACK
            self.refused.append(statement or "a transaction statement")
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    def _ended(self, error: Exception | None) -> list[str]:
        return [] if self.connection.raw.in_transaction else ["COMMIT or ROLLBACK"]


class _PostgresTransactions(SeedTransactions):
    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        from psycopg import errors

        raw = connection.raw
        try:
            raw.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {GUARD_TABLE} (id int PRIMARY KEY, "
                f"missing int REFERENCES {GUARD_TABLE} (id) DEFERRABLE INITIALLY DEFERRED)"
            )
            self.commit_guard = True
        except errors.InsufficientPrivilege:  # no TEMPORARY privilege on the database
            self.commit_guard = False
        raw.execute("SET SESSION default_transaction_read_only = on")
        raw.read_only = False  # psycopg now begins its transactions READ WRITE
        self.transaction_id: int | None = None

    @contextmanager
    def module(self) -> Iterator[SeedTransactions]:
        raw = self.connection.raw
        with raw.transaction():
            self.transaction_id = self._transaction_id()
            if self.commit_guard:
                raw.execute(f"INSERT INTO pg_temp.{GUARD_TABLE} VALUES (1, 0)")
            yield self
            if self.commit_guard:
                raw.execute(f"DELETE FROM pg_temp.{GUARD_TABLE}")

    def _transaction_id(self) -> int:
        return self.connection.raw.execute("SELECT txid_current()").fetchone()[0]

    @contextmanager
    def _watching(self) -> Iterator[None]:
        raw = self.connection.raw
        raw.add_notice_handler(self._notice)
        try:
            yield
        finally:
            raw.remove_notice_handler(self._notice)

    def _notice(self, diagnostic: Any) -> None:
        if diagnostic.sqlstate == "25001":  # "there is already a transaction in progress"
            self.refused.append("BEGIN")

    def _ended(self, error: Exception | None) -> list[str]:
        from psycopg import pq

        status = self.connection.raw.info.transaction_status
        if status == pq.TransactionStatus.IDLE:
            # A COMMIT whose failure the seed caught looks like a ROLLBACK from here.
            return ["COMMIT"] if self._guard_failed(error) else ["COMMIT or ROLLBACK"]
        if status == pq.TransactionStatus.INTRANS and self._transaction_id() != self.transaction_id:
            return ["ROLLBACK AND CHAIN"]
        return []

    def _refusal(self, error: Exception | None) -> TransactionControl | None:
        from psycopg import pq

        status = self.connection.raw.info.transaction_status
        if status == pq.TransactionStatus.INERROR and self._guard_failed(error):
            return TransactionControl(
                "SET CONSTRAINTS ALL IMMEDIATE also checks the seeding transaction's guard "
                "(a constraint that fails until the seeds are done); name the constraints "
                'instead: SET CONSTRAINTS "Model_field_fkey" IMMEDIATE'
            )
        refusal = super()._refusal(error)
        if refusal is not None and status == pq.TransactionStatus.IDLE and not self.commit_guard:
            return TransactionControl(
                f"{refusal}; without the TEMPORARY privilege on this database a seed's COMMIT "
                "cannot be refused, so what it wrote before may remain (GRANT TEMPORARY ON "
                "DATABASE <name> TO <the seeding role>)",
                rolled_back=False,
            )
        return refusal

    @staticmethod
    def _guard_failed(error: Exception | None) -> bool:
        from psycopg import errors

        return (
            isinstance(error, errors.ForeignKeyViolation) and error.diag.table_name == GUARD_TABLE
        )
