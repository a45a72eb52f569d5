"""The package's one connection API over psycopg (PostgreSQL) and sqlite3.

Used by seeds, factories, the data kit, tenancy and the modules' own code. Callers write `?`
placeholders and call `upsert()`; the dialect differences stay here.
"""

from __future__ import annotations

import itertools
import re
import sqlite3
import string
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prisma_tasks.db.urls import hide_password, libpq_url, mask, sqlite_path
from prisma_tasks.errors import DatabaseUnreachable

_savepoints = itertools.count(1)


@dataclass(frozen=True)
class Table:
    """A table and the columns that identify a row for upserts (shared by seeds and factories)."""

    name: str
    key: tuple[str, ...] = ()


# How PostgreSQL says that the server is there, accepted the credentials, but has no such database.
_MISSING_DATABASE = re.compile(r'database "[^"]*" does not exist')


def connection_problem(url: str, root: Path | None = None) -> DatabaseUnreachable | None:
    """Why the database at `url` cannot be connected to, or None when a connection opens.

    Creates nothing; a database that does not exist is a problem here (see `open_existing`).
    """
    try:
        connection = Connection.open_existing(url, root)
    except DatabaseUnreachable as problem:
        return problem
    if connection is None:
        return DatabaseUnreachable(mask(url), "the database does not exist")
    connection.close()
    return None


class Connection:
    """Wraps a DB-API connection; `dialect` is 'postgres' or 'sqlite'."""

    def __init__(self, raw: Any, dialect: str) -> None:
        self.raw = raw
        self.dialect = dialect

    @classmethod
    def open(cls, url: str, root: Path | None = None) -> Connection:
        """Autocommit; group statements with `transaction()`. A SQLite file that does not exist
        yet is created; a database that cannot be connected to raises DatabaseUnreachable."""
        if url.startswith("file:"):
            return cls._open_sqlite(url, sqlite_path(url, root or Path.cwd()), "rwc")
        import psycopg

        try:
            conninfo, schema = libpq_url(url)
            raw = psycopg.connect(conninfo, autocommit=True, connect_timeout=10)
        except (ValueError, psycopg.Error) as exc:  # ValueError: UnreadableUrl, or not UTF-8
            reason = hide_password(str(exc).strip(), url)
            raise DatabaseUnreachable(hide_password(url, url), reason) from None
        if schema:
            raw.execute(
                psycopg.sql.SQL("SET search_path TO {}").format(psycopg.sql.Identifier(schema))
            )
        return cls(raw, "postgres")

    @classmethod
    def _open_sqlite(cls, url: str, path: Path, mode: str) -> Connection:
        if not path.parent.is_dir():
            state = "is not a folder" if path.parent.exists() else "does not exist"
            raise DatabaseUnreachable(mask(url), f"the folder {path.parent} {state}")
        try:
            raw = sqlite3.connect(f"{path.as_uri()}?mode={mode}", uri=True, isolation_level=None)
            raw.execute("PRAGMA foreign_keys = ON")
            raw.execute("PRAGMA schema_version")  # reads the header: "file is not a database"
        except sqlite3.Error as exc:
            raise DatabaseUnreachable(mask(url), f"{path}: {exc}") from None
        return cls(raw, "sqlite")

    @classmethod
    def open_existing(cls, url: str, root: Path | None = None) -> Connection | None:
        """Like `open`, but creates nothing: None when the database does not exist yet (a SQLite
        file not written yet in a folder that exists, a PostgreSQL database the server says it
        does not have, after accepting the credentials). Prisma's migrate commands create it."""
        if url.startswith("file:"):
            path = sqlite_path(url, root or Path.cwd())
            if path.parent.is_dir() and not path.exists():
                return None
            return cls._open_sqlite(url, path, "rw")
        try:
            return cls.open(url, root)
        except DatabaseUnreachable as exc:
            if _MISSING_DATABASE.search(exc.reason):
                return None
            raise

    def close(self) -> None:
        self.raw.close()

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.dialect == "postgres" else statement

    def execute(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        # Without parameters the text goes as it is: a literal '100%' or 'why?' must not be
        # read as a placeholder by psycopg.
        if params:
            cursor = self.raw.execute(self._sql(statement), tuple(params))
        else:
            cursor = self.raw.execute(statement)
        try:
            return list(cursor.fetchall()) if cursor.description else []
        finally:
            cursor.close()

    def execute_script(self, script: str) -> None:
        if self.dialect == "sqlite":
            # executescript() would COMMIT first; run statement by statement inside our transaction.
            for statement in split_statements(script):
                self.raw.execute(statement)
        else:
            self.raw.execute(script)

    def one(self, statement: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        rows = self.execute(statement, params)
        return rows[0] if rows else None

    def upsert(
        self, table: Table | str, values: Mapping[str, Any], key: Sequence[str] = ()
    ) -> dict[str, Any]:
        """Insert, or update the non-key columns of the row with the same key; returns the row."""
        if isinstance(table, Table):
            key = key or table.key
            name = table.name
        else:
            name = table
        if not key:
            raise ValueError(f"upsert into {name} needs key columns")
        columns = list(values)
        updates = [column for column in columns if column not in key]
        assignments = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in updates)
        statement = (
            f"INSERT INTO {quote(name)} ({', '.join(map(quote, columns))}) "
            f"VALUES ({', '.join('?' for _ in columns)}) "
            f"ON CONFLICT ({', '.join(map(quote, key))}) "
            + (
                f"DO UPDATE SET {assignments}"
                if updates
                else f"DO UPDATE SET {quote(key[0])} = excluded.{quote(key[0])}"
            )
            + " RETURNING *"
        )
        return self._row(statement, list(values.values()))

    def insert(self, table: str, values: Mapping[str, Any]) -> dict[str, Any]:
        columns = list(values)
        statement = (
            (
                f"INSERT INTO {quote(table)} ({', '.join(map(quote, columns))}) "
                f"VALUES ({', '.join('?' for _ in columns)}) RETURNING *"
            )
            if columns
            else f"INSERT INTO {quote(table)} DEFAULT VALUES RETURNING *"
        )
        return self._row(statement, list(values.values()))

    def _row(self, statement: str, params: list[Any]) -> dict[str, Any]:
        cursor = self.raw.execute(self._sql(statement), tuple(params))
        try:
            names = [d[0] for d in cursor.description]
            return dict(zip(names, cursor.fetchone(), strict=True))
        finally:
            cursor.close()

    def id_of(self, table: str, **where: Any) -> Any:
        clause = " AND ".join(f"{quote(column)} = ?" for column in where)
        row = self.one(f"SELECT id FROM {quote(table)} WHERE {clause}", list(where.values()))
        if row is None:
            raise LookupError(f"no {table} row where {where}")
        return row[0]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction; nested inside another, a savepoint (both backends)."""
        if self.dialect == "sqlite":
            if self.raw.in_transaction:
                with self._sqlite_savepoint():
                    yield
                return
            self.raw.execute("BEGIN")
            try:
                yield
            except BaseException:
                self.raw.execute("ROLLBACK")
                raise
            self.raw.execute("COMMIT")
        else:
            with self.raw.transaction():
                yield

    @contextmanager
    def _sqlite_savepoint(self) -> Iterator[None]:
        name = f"pt_savepoint_{next(_savepoints)}"
        self.raw.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self.raw.execute(f"ROLLBACK TO SAVEPOINT {name}")
            self.raw.execute(f"RELEASE SAVEPOINT {name}")
            raise
        self.raw.execute(f"RELEASE SAVEPOINT {name}")

    @contextmanager
    def rolled_back(self) -> Iterator[Connection]:
        """A transaction that is always rolled back: what a test writes inside is gone after.

        Transactions opened inside (`transaction()`, `unit_of_work`) become savepoints, so the
        code under test commits and rolls back as it would, into this one transaction.
        """
        if self.dialect == "sqlite":
            self.raw.execute("BEGIN")
            try:
                yield self
            finally:
                if self.raw.in_transaction:
                    self.raw.execute("ROLLBACK")
        else:
            with self.raw.transaction(force_rollback=True):
                yield self

    def tables(self) -> list[str]:
        if self.dialect == "sqlite":
            rows = self.execute(
                "SELECT name FROM sqlite_master "
                "WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        else:
            rows = self.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' "
                "ORDER BY table_name"
            )
        return [row[0] for row in rows if row[0] != "_prisma_migrations"]

    def columns(self, table: str) -> list[str]:
        """The columns of the table a statement naming `"table"` would reach, spelled as the
        database stores them ([] when there is none): SQLite finds the table and its columns
        ignoring the case of ASCII letters, PostgreSQL follows search_path to exact names."""
        if self.dialect == "sqlite":
            rows = self.execute("SELECT name FROM pragma_table_xinfo(?)", [table])
        else:
            rows = self.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(?) "
                "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                [quote(table)],
            )
        return [row[0] for row in rows]

    def identifier_key(self, name: str) -> str:
        """What the database compares when it matches a quoted identifier with a name: SQLite
        ignores the case of ASCII letters (only those), PostgreSQL compares exactly."""
        return name.translate(_ASCII_LOWER) if self.dialect == "sqlite" else name


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


# A semicolon ends a statement at a line end, also when a `-- comment` follows it.
_STATEMENT_END = re.compile(r";[^\S\n]*(?:--[^\n]*)?(?:\n|$)")


def split_statements(script: str) -> list[str]:
    """Split a seed SQL file on semicolons at line ends (seed files keep one statement per ;)."""
    return [
        part.strip()
        for part in _STATEMENT_END.split(script)
        if part.strip() and not _only_comments(part)
    ]


def _only_comments(part: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in part.splitlines())


# The name this class had when seeds were its only user; kept for code written against it.
SeedConnection = Connection
