"""Create, clone and drop databases on a PostgreSQL server through an admin connection."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from prisma_tasks.databases.pg_local import ProvisionError
from prisma_tasks.db.urls import UnreadableUrl, hide_password, with_database

if TYPE_CHECKING:
    import psycopg


def _sql():
    from psycopg import sql

    return sql


class PostgresServer:
    """One server, reached with an admin URL whose user may create databases."""

    #: How CREATE DATABASE ... TEMPLATE copies (PostgreSQL 15+; older servers have one way).
    #: None: the server's default, WAL_LOG. bench/database_bench.py times both strategies beside
    #: the raw statement. On local clusters on disk (fsync off) neither wins clearly (WAL_LOG
    #: 119-327 ms, FILE_COPY 135-318 ms, 2026-12-04), so servers keep their default; a local
    #: cluster in RAM sets FILE_COPY (backends/cluster.py).
    clone_strategy: str | None = None

    def __init__(self, admin_url: str, connect_timeout: int = 10) -> None:
        self.admin_url = admin_url
        self.connect_timeout = connect_timeout
        self._server_version: int | None = None
        self._connection: psycopg.Connection | None = None
        self._lock = threading.RLock()

    @property
    def shown_url(self) -> str:
        """The admin URL for messages: no password, however the URL is written."""
        return self.hide(self.admin_url)

    def hide(self, text: str) -> str:
        return hide_password(text, self.admin_url)

    def url_for(self, database: str) -> str:
        try:
            return with_database(self.admin_url, database)
        except UnreadableUrl as exc:
            raise ProvisionError(
                f"cannot derive a database URL from the PostgreSQL admin URL {self.shown_url}: "
                f"{exc}"
            ) from None

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        """The shared admin connection (one per server object; a new one if it broke)."""
        import psycopg

        with self._lock:
            if self._connection is None or self._connection.closed:
                try:
                    self._connection = psycopg.connect(
                        self.admin_url, autocommit=True, connect_timeout=self.connect_timeout
                    )
                except (ValueError, psycopg.Error) as exc:
                    # ProgrammingError: a malformed URL; UnicodeDecodeError: %XX that is not UTF-8
                    hint = (
                        " (is the URL well-formed? percent-encode special characters such as "
                        "% @ : / ? # and spaces in the user name and password)"
                        if isinstance(exc, (ValueError, psycopg.ProgrammingError))
                        else ""
                    )
                    raise ProvisionError(
                        f"cannot connect to the PostgreSQL admin URL {self.shown_url}: "
                        f"{_first_line(self.hide(str(exc)))}{hint}"
                    ) from None
            yield self._connection

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def check_can_create(self) -> None:
        with self.connect() as connection:
            row = connection.execute(
                "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user"
            ).fetchone()
        if not row or not row[0]:
            raise ProvisionError(
                f"the user of {self.shown_url} may not create databases: "
                "grant it CREATEDB (ALTER ROLE name CREATEDB) or use another admin URL"
            )

    def create(self, name: str, template: str | None = None) -> str:
        url = self.url_for(name)  # before CREATE DATABASE: an unusable URL leaves nothing behind
        sql = _sql()
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            if self.clone_strategy and self._strategy_supported():
                statement += sql.SQL(" STRATEGY {}").format(sql.SQL(self.clone_strategy))
        import psycopg

        with self.connect() as connection:
            try:
                connection.execute(statement)
            except psycopg.errors.InsufficientPrivilege as exc:
                raise ProvisionError(
                    f"the user of {self.shown_url} may not create databases: "
                    f"{_first_line(self.hide(str(exc)))}"
                ) from None
        return url

    def _strategy_supported(self) -> bool:
        if self._server_version is None:
            with self.connect() as connection:
                self._server_version = connection.info.server_version
        return self._server_version >= 150000

    def drop(self, name: str) -> None:
        sql = _sql()
        with self.connect() as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def rename(self, old: str, new: str) -> bool:
        """Rename; False when `new` exists already (another run built it first)."""
        import psycopg

        sql = _sql()
        with self.connect() as connection:
            try:
                connection.execute(
                    sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(old), sql.Identifier(new)
                    )
                )
            except psycopg.errors.DuplicateDatabase:
                return False
        return True

    def exists(self, name: str) -> bool:
        with self.connect() as connection:
            return (
                connection.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
                ).fetchone()
                is not None
            )

    def names(self, prefix: str) -> list[str]:
        with self.connect() as connection:
            rows = connection.execute(
                "SELECT datname FROM pg_database WHERE starts_with(datname, %s) ORDER BY datname",
                (prefix,),
            ).fetchall()
        return [row[0] for row in rows]


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text
