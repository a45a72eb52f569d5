"""The row-scoped repository names columns as the database resolves them, on both backends.

SQLite matches a quoted column name ignoring the case of ASCII letters, so `TENANTID` there is
the tenant column `tenantId`: the repository used to compare names exactly, and an insert or
an update spelled that way wrote another tenant's rows (which that tenant then read). On
PostgreSQL `"TENANTID"` is another column, or none, and must stay so.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pytest

from prisma_tasks.db.connection import Connection
from prisma_tasks.tenancy import TenantMismatch, TenantRepository, tenant_context

pytestmark = [pytest.mark.integration]

Call = Callable[[TenantRepository, int], object]


def rows(db: Connection, table: str = "User") -> list[tuple]:
    return db.execute(f'SELECT * FROM "{table}" ORDER BY id')


def emails(found: list[dict]) -> set[str]:
    return {row["email"] for row in found}


@pytest.fixture
def users(db: Connection) -> dict[str, int]:
    """A user of acme and one of globex (besides the seeded ones on PostgreSQL): email -> id."""
    made = {}
    for tenant, email in (("acme", "mine@acme.test"), ("globex", "theirs@globex.test")):
        made[email] = db.insert("User", {"tenantId": tenant, "email": email, "name": "x"})["id"]
    return made


# Each call, as acme, names globex through the tenant column spelled in capitals.
SPELLED_OTHERWISE: dict[str, Call] = {
    "insert": lambda r, _: r.insert(TENANTID="globex", email="spy@acme.test", name="Spy"),
    "update moving a row": lambda r, mine: r.update({"id": mine}, {"TENANTID": "globex"}),
    "update filtered": lambda r, _: r.update({"TENANTID": "globex"}, {"name": "taken over"}),
    "find": lambda r, _: r.find(TENANTID="globex"),
    "count": lambda r, _: r.count({"TenantId": "globex"}),
    "delete": lambda r, _: r.delete({"tenantid": "globex"}),
}


@pytest.mark.parametrize("call", SPELLED_OTHERWISE.values(), ids=SPELLED_OTHERWISE.keys())
def test_the_tenant_column_in_another_case_never_crosses_tenants(db, users, call: Call) -> None:
    repository = TenantRepository("User", db)
    before = rows(db)
    with tenant_context("globex"):
        globex_sees = emails(repository.find())
    error: Exception | None = None
    with tenant_context("acme"):
        try:
            result = call(repository, users["mine@acme.test"])
        except (TenantMismatch, ValueError) as exc:
            error, result = exc, None
    # what the old repository got wrong on SQLite: another tenant's rows written, then read
    assert rows(db) == before
    with tenant_context("globex"):
        assert emails(repository.find()) == globex_sees
    assert "theirs@globex.test" not in str(result)
    # SQLite resolves TENANTID to the tenant column, PostgreSQL to no column at all
    if db.dialect == "sqlite":
        assert isinstance(error, TenantMismatch), result
        assert "tenantId = 'globex'" in str(error)
    else:
        assert type(error) is ValueError, result
        assert "is not a column of User" in str(error)


def test_a_tenant_field_spelled_otherwise_is_the_column_the_database_takes_it_for(
    db, users
) -> None:
    mine = users["mine@acme.test"]
    if db.dialect == "postgres":
        with pytest.raises(ValueError, match="tenant field 'tenantid' is not a column of User"):
            TenantRepository("User", db, tenant_field="tenantid")
        return
    repository = TenantRepository("user", db, tenant_field="tenantid")
    assert repository.tenant_field == "tenantId"
    before = rows(db)
    with tenant_context("acme"), pytest.raises(TenantMismatch):
        repository.update({"id": mine}, {"tenantId": "globex"})  # the old code moved the row
    with tenant_context("acme"), pytest.raises(TenantMismatch):
        repository.insert(tenantId="globex", email="spy@acme.test", name="Spy")
    assert rows(db) == before
    with tenant_context("acme"):
        assert emails(repository.find()) == {"mine@acme.test"}
        assert repository.update({"ID": mine}, {"Name": "renamed"})[0]["name"] == "renamed"
    with tenant_context("globex"):
        assert emails(repository.find()) == {"theirs@globex.test"}


def test_a_name_that_is_no_column_is_refused_rather_than_read_as_a_string(db, users) -> None:
    # SQLite reads an unknown "nosuch" as the string 'nosuch': the filter matched every row
    repository = TenantRepository("User", db)
    with tenant_context("acme"), pytest.raises(ValueError, match="'nosuch' is not a column"):
        repository.find(nosuch="nosuch")
    with pytest.raises(ValueError, match="no table 'Nosuch'"):
        TenantRepository("Nosuch", db)


NOTE = 'CREATE TABLE "Note" (id INTEGER PRIMARY KEY, "tenantId" TEXT NOT NULL, "TENANTID" TEXT)'


def test_on_postgres_a_column_differing_only_in_case_is_an_ordinary_column(db) -> None:
    if db.dialect == "sqlite":  # the reason the backends differ: SQLite has one name for both
        with pytest.raises(sqlite3.OperationalError, match="duplicate column name"):
            db.execute(NOTE)
        return
    db.execute(NOTE.replace("INTEGER PRIMARY KEY", "serial PRIMARY KEY"))
    notes = TenantRepository("Note", db)
    with tenant_context("acme"):
        note = notes.insert(TENANTID="globex")
        assert (note["tenantId"], note["TENANTID"]) == ("acme", "globex")
        assert notes.find(TENANTID="globex") == [note]
        assert notes.update({"id": note["id"]}, {"TENANTID": "initech"})[0]["tenantId"] == "acme"
    with tenant_context("globex"):
        assert notes.find() == [] and notes.find(TENANTID="initech") == []
    assert rows(db, "Note") == [(note["id"], "acme", "initech")]


def test_the_columns_are_those_of_the_table_a_statement_would_reach(db) -> None:
    expected = ["id", "tenantId", "email", "name", "role", "createdAt"]
    assert db.columns("User") == expected
    assert db.columns("user") == (expected if db.dialect == "sqlite" else [])
    assert db.columns("Nosuch") == []
