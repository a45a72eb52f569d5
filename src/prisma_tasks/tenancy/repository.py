"""Row-based tenancy: a repository whose every statement is scoped to the current tenant.

    users = TenantRepository(USER, connection)
    with tenant_context("acme"):
        users.insert(email="a@acme.test", name="A")   # tenantId = 'acme' is set for you
        users.find(role="ADMIN")                      # ... WHERE "tenantId" = 'acme' AND ...
    users.find()                                      # TenantContextMissing, no SQL sent

There is no unscoped method. The tenant is read and every argument is checked before the
statement is built, so a call without a tenant context, or one that names another tenant
(in a filter, an insert or an update), raises before anything reaches the database.
Works on PostgreSQL and SQLite through the suite's Connection.

A column is the one the database would take the name for: the repository reads the table's
columns once, when it is made, and matches every name as the database does. On SQLite,
`TENANTID` is the tenant column `tenantId` (and checked as such); on PostgreSQL it is another
column, or none. A name that is no column of the table is refused (SQLite would otherwise
read an unknown "name" as the string 'name').
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from prisma_tasks.db.connection import Connection, Table, quote
from prisma_tasks.tenancy.context import TenantId, current_tenant
from prisma_tasks.tenancy.errors import TenantMismatch

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Row = dict[str, Any]


def _identifier(name: str, what: str) -> str:
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"{what} {name!r} is not a plain identifier")
    return quote(name)


class TenantRepository:
    """find / get / count / insert / update / delete on one table, always for one tenant."""

    def __init__(
        self,
        table: Table | str,
        connection: Connection,
        *,
        tenant_field: str = "tenantId",
        key: str | None = "id",
    ) -> None:
        self.table = table.name if isinstance(table, Table) else table
        self.connection = connection
        self._table = _identifier(self.table, "table")
        columns = connection.columns(self.table)
        if not columns:
            raise ValueError(f"no table {self.table!r} in the database")
        self._columns = {connection.identifier_key(column): column for column in columns}
        self.tenant_field = self._column(tenant_field, "tenant field")
        self.key = self._column(key, "key column") if key else None
        self._tenant = quote(self.tenant_field)
        self._order = f" ORDER BY {quote(self.key)}" if self.key else ""
        self._mark = "%s" if connection.dialect == "postgres" else "?"

    # -- reads ---------------------------------------------------------------------------
    def find(self, where: Mapping[str, Any] | None = None, /, **criteria: Any) -> list[Row]:
        """The current tenant's rows that match every `column = value` (None: IS NULL)."""
        clause, params = self._where({**(where or {}), **criteria})
        return self._rows(f"SELECT * FROM {self._table} WHERE {clause}{self._order}", params)

    def get(self, key_value: Any) -> Row | None:
        """The current tenant's row with this key, or None (also when another tenant owns it)."""
        if self.key is None:
            raise ValueError(f"{self.table}: the repository has no key column; use find()")
        rows = self.find({self.key: key_value})
        return rows[0] if rows else None

    def count(self, where: Mapping[str, Any] | None = None, /, **criteria: Any) -> int:
        clause, params = self._where({**(where or {}), **criteria})
        rows = self._rows(f"SELECT count(*) AS n FROM {self._table} WHERE {clause}", params)
        return int(next(iter(rows[0].values())))

    # -- writes --------------------------------------------------------------------------
    def insert(self, values: Mapping[str, Any] | None = None, /, **columns: Any) -> Row:
        """Insert a row of the current tenant (the tenant field is set; another one refused)."""
        tenant = current_tenant()
        values = self._columns_of({**(values or {}), **columns}, "insert")
        self._refuse_other_tenant(values, tenant, "insert")
        values[self.tenant_field] = tenant
        names = [quote(column) for column in values]
        statement = (
            f"INSERT INTO {self._table} ({', '.join(names)}) "
            f"VALUES ({', '.join(self._mark for _ in names)}) RETURNING *"
        )
        return self._rows(statement, list(values.values()))[0]

    def update(self, where: Mapping[str, Any], changes: Mapping[str, Any]) -> list[Row]:
        """Change the current tenant's matching rows; a row never moves to another tenant."""
        tenant = current_tenant()
        changes = self._columns_of(changes, "update")
        self._refuse_other_tenant(changes, tenant, "update")
        changes = {c: v for c, v in changes.items() if c != self.tenant_field}
        if not changes:
            raise ValueError(f"update of {self.table} without any column to change")
        clause, params = self._where(where, tenant)
        assignments = ", ".join(f"{quote(c)} = {self._mark}" for c in changes)
        statement = f"UPDATE {self._table} SET {assignments} WHERE {clause} RETURNING *"
        return self._rows(statement, [*changes.values(), *params])

    def delete(self, where: Mapping[str, Any]) -> int:
        """Delete the current tenant's matching rows (`{}`: all of them); returns how many."""
        clause, params = self._where(where)
        return len(self._rows(f"DELETE FROM {self._table} WHERE {clause} RETURNING *", params))

    # -- building ------------------------------------------------------------------------
    def _where(
        self, where: Mapping[str, Any], tenant: TenantId | None = None
    ) -> tuple[str, list[Any]]:
        tenant = current_tenant() if tenant is None else tenant
        where = self._columns_of(where, "filter")
        self._refuse_other_tenant(where, tenant, "filter")
        clauses = [f"{self._tenant} = {self._mark}"]
        params: list[Any] = [tenant]
        for column, value in where.items():
            if column == self.tenant_field:
                continue
            name = quote(column)
            if value is None:
                clauses.append(f"{name} IS NULL")
            else:
                clauses.append(f"{name} = {self._mark}")
                params.append(value)
        return " AND ".join(clauses), params

    def _column(self, name: str, what: str) -> str:
        """The table's column that the database takes `name` for."""
        _identifier(name, what)
        column = self._columns.get(self.connection.identifier_key(name))
        if column is None:
            raise ValueError(
                f"{what} {name!r} is not a column of {self.table} "
                f"(its columns: {', '.join(self._columns.values())})"
            )
        return column

    def _columns_of(self, values: Mapping[str, Any], what: str) -> dict[str, Any]:
        """`values` keyed by the columns their names stand for; a column named twice (in two
        spellings) is refused."""
        found: dict[str, Any] = {}
        for name, value in values.items():
            column = self._column(name, "column")
            if column in found:
                raise ValueError(f"{what} on {self.table} names the column {column} twice")
            found[column] = value
        return found

    def _refuse_other_tenant(self, values: Mapping[str, Any], tenant: TenantId, what: str) -> None:
        if self.tenant_field in values and values[self.tenant_field] != tenant:
            raise TenantMismatch(
                f"{what} on {self.table} names {self.tenant_field} = "
                f"{values[self.tenant_field]!r}, but the current tenant is {tenant!r}"
            )

    def _rows(self, statement: str, params: Sequence[Any]) -> list[Row]:
        cursor = self.connection.raw.execute(statement, tuple(params))
        try:
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            cursor.close()
