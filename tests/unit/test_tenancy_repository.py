"""The tenant context and the statements the repository builds (a recording fake connection:
what matters here is what would reach the database, and that nothing does on refusal)."""

from __future__ import annotations

import contextvars
import threading

import pytest

from prisma_tasks.db.connection import Connection, Table
from prisma_tasks.tenancy import (
    TenancyError,
    TenantContextMissing,
    TenantMismatch,
    TenantRepository,
    current_tenant,
    current_tenant_or_none,
    tenant_context,
)


class Cursor:
    def __init__(self, names: tuple[str, ...], rows: list[tuple]) -> None:
        self.description = tuple((name,) for name in names)
        self.rows = rows

    def fetchall(self):
        return self.rows

    def close(self) -> None:
        pass


USER_COLUMNS = ("id", "tenantId", "email", "name", "role", "deletedAt")


class Recorder:
    """Stands in for a database connection of one table with `columns`: answers the catalog
    query that lists them (kept in `catalog`) and records every other statement."""

    def __init__(self, columns: tuple[str, ...] = USER_COLUMNS) -> None:
        self.columns = columns
        self.catalog: list[tuple[str, tuple]] = []
        self.statements: list[tuple[str, tuple]] = []

    def execute(self, statement: str, params: tuple = ()) -> Cursor:
        if "pg_attribute" in statement or "pragma_table_xinfo" in statement:
            self.catalog.append((statement, params))
            return Cursor(("name",), [(column,) for column in self.columns])
        self.statements.append((statement, params))
        return Cursor(("id", "tenantId"), [(1, "acme")])


@pytest.fixture
def raw() -> Recorder:
    return Recorder()


@pytest.fixture
def users(raw: Recorder) -> TenantRepository:
    return TenantRepository(Table("User", key=("tenantId", "email")), Connection(raw, "postgres"))


CALLS = {
    "find": lambda r: r.find(),
    "find with criteria": lambda r: r.find(role="ADMIN"),
    "get": lambda r: r.get(1),
    "count": lambda r: r.count(),
    "insert": lambda r: r.insert(email="x@y.test"),
    "update": lambda r: r.update({"id": 1}, {"name": "x"}),
    "delete": lambda r: r.delete({"id": 1}),
    "delete all": lambda r: r.delete({}),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_every_call_without_a_tenant_raises_before_any_sql(users, raw, call) -> None:
    with pytest.raises(TenantContextMissing, match="tenant_context"):
        call(users)
    assert raw.statements == []


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.find(tenantId="globex"),
        lambda r: r.find({"tenantId": "globex", "id": 1}),
        lambda r: r.insert({"tenantId": "globex", "email": "x"}),
        lambda r: r.update({"id": 1}, {"tenantId": "globex"}),
        lambda r: r.update({"tenantId": "globex"}, {"name": "x"}),
        lambda r: r.delete({"tenantId": "globex"}),
    ],
)
def test_naming_another_tenant_is_refused_before_any_sql(users, raw, call) -> None:
    with tenant_context("acme"), pytest.raises(TenantMismatch, match=r"'globex'.*'acme'"):
        call(users)
    assert raw.statements == []


def test_every_statement_carries_the_tenant_filter(users, raw) -> None:
    with tenant_context("acme"):
        users.find(role="ADMIN", deletedAt=None)
        users.get(7)
        users.insert(email="a@acme.test", tenantId="acme")
        users.update({"id": 7}, {"name": "B", "tenantId": "acme"})
        users.delete({"id": 7})
        users.count()
    assert raw.statements == [
        (
            'SELECT * FROM "User" WHERE "tenantId" = %s AND "role" = %s '
            'AND "deletedAt" IS NULL ORDER BY "id"',
            ("acme", "ADMIN"),
        ),
        ('SELECT * FROM "User" WHERE "tenantId" = %s AND "id" = %s ORDER BY "id"', ("acme", 7)),
        (
            'INSERT INTO "User" ("email", "tenantId") VALUES (%s, %s) RETURNING *',
            ("a@acme.test", "acme"),
        ),
        (
            'UPDATE "User" SET "name" = %s WHERE "tenantId" = %s AND "id" = %s RETURNING *',
            ("B", "acme", 7),
        ),
        ('DELETE FROM "User" WHERE "tenantId" = %s AND "id" = %s RETURNING *', ("acme", 7)),
        ('SELECT count(*) AS n FROM "User" WHERE "tenantId" = %s', ("acme",)),
    ]


def test_sqlite_placeholders_and_a_custom_tenant_column() -> None:
    raw = Recorder(("kind", "orgId"))
    repo = TenantRepository("Doc", Connection(raw, "sqlite"), tenant_field="orgId", key=None)
    with tenant_context(42):
        repo.find(kind="x")
        repo.insert(kind="y")
    assert raw.statements == [
        ('SELECT * FROM "Doc" WHERE "orgId" = ? AND "kind" = ?', (42, "x")),
        ('INSERT INTO "Doc" ("kind", "orgId") VALUES (?, ?) RETURNING *', ("y", 42)),
    ]
    with tenant_context(42), pytest.raises(ValueError, match="no key column"):
        repo.get(1)


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.find({'x" = 1 OR "1': 1}),
        lambda r: r.insert({"a;b": 1}),
        lambda r: r.update({"id": 1}, {"name) --": 1}),
    ],
)
def test_column_names_that_are_not_identifiers_are_refused(users, raw, call) -> None:
    with tenant_context("acme"), pytest.raises(ValueError, match="not a plain identifier"):
        call(users)
    assert raw.statements == []


def test_update_needs_a_change(users, raw) -> None:
    with tenant_context("acme"), pytest.raises(ValueError, match="without any column"):
        users.update({"id": 1}, {"tenantId": "acme"})
    assert raw.statements == []


def test_the_context_nests_restores_and_does_not_leak_into_threads() -> None:
    assert current_tenant_or_none() is None
    with tenant_context("acme"):
        with tenant_context("globex"):
            assert current_tenant() == "globex"
        assert current_tenant() == "acme"
        seen: list[object] = []
        thread = threading.Thread(target=lambda: seen.append(current_tenant_or_none()))
        thread.start()
        thread.join()
        assert seen == [None]  # a new thread starts without a tenant
        copied = contextvars.copy_context()
        assert copied.run(current_tenant) == "acme"  # an explicit copy carries it
    with pytest.raises(TenantContextMissing):
        current_tenant()


def test_the_context_restores_after_an_exception() -> None:
    with pytest.raises(RuntimeError), tenant_context("acme"):
        raise RuntimeError("boom")
    assert current_tenant_or_none() is None


@pytest.mark.parametrize("bad", ["", "  ", None, True, 1.5, b"acme"])
def test_a_tenant_id_is_a_non_empty_string_or_an_integer(bad) -> None:
    with pytest.raises(TenancyError), tenant_context(bad):
        pass


# -- columns, as the database resolves them -------------------------------------------------------
def test_the_columns_are_read_once_when_the_repository_is_made(users, raw) -> None:
    assert raw.catalog == [(raw.catalog[0][0], ('"User"',))]
    assert "to_regclass" in raw.catalog[0][0]  # PostgreSQL: the table search_path finds
    with tenant_context("acme"):
        users.find()
        users.insert(email="x")
    assert len(raw.catalog) == 1


SQLITE_SPELLINGS = [
    lambda r: r.find(TENANTID="globex"),
    lambda r: r.count({"tenantid": "globex"}),
    lambda r: r.insert({"TenantId": "globex", "email": "x"}),
    lambda r: r.update({"id": 1}, {"TENANTID": "globex"}),
    lambda r: r.update({"TENANTID": "globex"}, {"name": "x"}),
    lambda r: r.delete({"TENANTID": "globex"}),
]


@pytest.mark.parametrize("call", SQLITE_SPELLINGS)
def test_on_sqlite_the_tenant_column_in_another_case_is_the_tenant_column(call) -> None:
    raw = Recorder()
    users = TenantRepository("User", Connection(raw, "sqlite"))
    with tenant_context("acme"), pytest.raises(TenantMismatch, match=r"tenantId = 'globex'"):
        call(users)
    assert raw.statements == []


def test_on_sqlite_every_name_becomes_the_column_sqlite_takes_it_for() -> None:
    raw = Recorder()
    users = TenantRepository("user", Connection(raw, "sqlite"), tenant_field="TENANTID")
    assert (users.tenant_field, users.key) == ("tenantId", "id")
    with tenant_context("acme"):
        users.insert(TENANTID="acme", EMAIL="a@acme.test")
        users.update({"Email": "a@acme.test"}, {"NAME": "A", "tenantid": "acme"})
        users.find(ROLE="ADMIN")
    assert raw.statements == [
        (
            'INSERT INTO "user" ("tenantId", "email") VALUES (?, ?) RETURNING *',
            ("acme", "a@acme.test"),
        ),
        (
            'UPDATE "user" SET "name" = ? WHERE "tenantId" = ? AND "email" = ? RETURNING *',
            ("A", "acme", "a@acme.test"),
        ),
        (
            'SELECT * FROM "user" WHERE "tenantId" = ? AND "role" = ? ORDER BY "id"',
            ("acme", "ADMIN"),
        ),
    ]
    with tenant_context("acme"), pytest.raises(ValueError, match="names the column email twice"):
        users.find({"email": "a", "EMAIL": "b"})


def test_on_postgres_another_case_is_another_column() -> None:
    raw = Recorder()
    users = TenantRepository("User", Connection(raw, "postgres"))
    with tenant_context("acme"), pytest.raises(ValueError, match="'TENANTID' is not a column"):
        users.update({"id": 1}, {"TENANTID": "globex"})
    with pytest.raises(ValueError, match="tenant field 'tenantid' is not a column of User"):
        TenantRepository("User", Connection(raw, "postgres"), tenant_field="tenantid")
    # a table may have both: "TENANTID" is then an ordinary column, filtered and changed as such
    raw = Recorder(("id", "tenantId", "TENANTID"))
    notes = TenantRepository("Note", Connection(raw, "postgres"))
    with tenant_context("acme"):
        notes.find(TENANTID="globex")
        notes.update({"id": 1}, {"TENANTID": "initech"})
    assert raw.statements == [
        (
            'SELECT * FROM "Note" WHERE "tenantId" = %s AND "TENANTID" = %s ORDER BY "id"',
            ("acme", "globex"),
        ),
        (
            'UPDATE "Note" SET "TENANTID" = %s WHERE "tenantId" = %s AND "id" = %s RETURNING *',
            ("initech", "acme", 1),
        ),
    ]


@pytest.mark.parametrize("dialect", ["postgres", "sqlite"])
def test_a_name_that_is_no_column_is_refused_before_any_sql(dialect: str) -> None:
    # SQLite would read "nosuch" = 'nosuch' as two strings: true for every row
    raw = Recorder()
    users = TenantRepository("User", Connection(raw, dialect))
    with tenant_context("acme"), pytest.raises(ValueError, match="'nosuch' is not a column"):
        users.find(nosuch="nosuch")
    with pytest.raises(ValueError, match="key column 'ID' is not a column"):
        TenantRepository("User", Connection(raw, "postgres"), key="ID")
    with pytest.raises(ValueError, match="no table 'Missing'"):
        TenantRepository("Missing", Connection(Recorder(()), dialect))
    assert raw.statements == []
