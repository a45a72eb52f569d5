"""A unit of work: one block, one database transaction, committed or rolled back as a whole.

    with unit_of_work(db):
        db.execute('UPDATE "Product" SET "stock" = "stock" - ? WHERE "id" = ?', [2, product])
        publish(db, "catalog.stock_reserved", f"product:{product}", {"quantity": 2})

The block commits when it ends and rolls back when anything escapes it, also a
KeyboardInterrupt or SystemExit; a process that dies inside it leaves nothing either, because
the database rolls back a transaction whose connection went away.

Nesting: a unit of work opened inside another becomes a savepoint. Its failure undoes its own
part only (the outer block may catch the error and carry on); its success is final only when
the outermost block commits. Module functions therefore open their own unit of work and work
the same alone or inside a saga step.

Backends:
- PostgreSQL: psycopg's `Connection.transaction()` (savepoints when nested), default isolation
  (READ COMMITTED). Guard read-modify-write with a conditional UPDATE or `FOR UPDATE`.
- SQLite: `BEGIN IMMEDIATE`, not sqlite3's deferred BEGIN. A deferred transaction that reads
  and then writes can fail with "database is locked" at its first write when another
  connection wrote in between, and the busy timeout cannot help there; taking the write lock
  up front makes writers queue (up to the connection's busy timeout) instead of failing.
  The connection must be in autocommit mode (`isolation_level=None`, as `Connection.open`
  does), so that only this module begins and ends transactions.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager

from prisma_tasks.db.connection import Connection

_savepoint_numbers = itertools.count(1)


class NotInTransaction(RuntimeError):
    """Raised by code that must run inside the caller's unit of work but was called outside."""


def in_transaction(db: Connection) -> bool:
    """True while `db` has an open transaction (a unit of work or any other)."""
    if db.dialect == "sqlite":
        return bool(db.raw.in_transaction)
    from psycopg import pq

    return db.raw.info.transaction_status != pq.TransactionStatus.IDLE


def require_transaction(db: Connection, what: str) -> None:
    """Raise NotInTransaction unless `db` is inside a transaction; `what` names the caller."""
    if not in_transaction(db):
        raise NotInTransaction(
            f"{what} must run inside the caller's transaction: wrap it and the state change "
            "it belongs to in `with unit_of_work(db):`"
        )


@contextmanager
def unit_of_work(db: Connection) -> Iterator[Connection]:
    """Run the block in one transaction (a savepoint when nested); yields `db`."""
    if db.dialect == "postgres":
        with db.raw.transaction():
            yield db
        return
    if db.dialect != "sqlite":
        raise ValueError(f"unit_of_work: unsupported dialect {db.dialect!r}")
    raw = db.raw
    if raw.isolation_level is not None:
        raise ValueError(
            "unit_of_work needs an SQLite connection in autocommit mode (isolation_level=None)"
        )
    if raw.in_transaction:
        with _savepoint(db):
            yield db
        return
    raw.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if raw.in_transaction:
            raw.execute("ROLLBACK")
        raise
    try:
        raw.execute("COMMIT")
    except BaseException:
        if raw.in_transaction:
            raw.execute("ROLLBACK")
        raise


@contextmanager
def _savepoint(db: Connection) -> Iterator[None]:
    name = f"uow_{next(_savepoint_numbers)}"
    db.raw.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        if db.raw.in_transaction:
            db.raw.execute(f"ROLLBACK TO SAVEPOINT {name}")
            db.raw.execute(f"RELEASE SAVEPOINT {name}")
        raise
    db.raw.execute(f"RELEASE SAVEPOINT {name}")
