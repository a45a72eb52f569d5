"""The identity module's repository on the reference schema: tenants never see each other."""

from __future__ import annotations

import pytest

from modules.identity.users import UserDirectory
from prisma_tasks.db.connection import Connection
from prisma_tasks.tenancy import TenantContextMissing, tenant_context

pytestmark = [pytest.mark.integration, pytest.mark.backend("postgres")]


@pytest.fixture
def db(fresh_database_url: str):
    connection = Connection.open(fresh_database_url)
    yield connection
    connection.close()


def test_each_tenant_sees_and_changes_only_its_own_users(db) -> None:
    directory = UserDirectory(db)
    with tenant_context("acme"):
        assert [u["email"] for u in directory.admins()] == ["admin@acme.test"]
        assert directory.by_email("admin@globex.test") is None
        assert directory.promote("member@globex.test") is False
        assert directory.remove("admin@globex.test") is False
        created = directory.register("new@acme.test", "New")
        assert created["tenantId"] == "acme"
    with tenant_context("globex"):
        assert directory.by_email("new@acme.test") is None
        assert directory.by_email("member@globex.test")["role"] == "MEMBER"
    assert db.one('SELECT count(*) FROM "User" WHERE "tenantId" = ?', ["globex"]) == (2,)


def test_no_tenant_context_raises_before_any_query(db) -> None:
    directory = UserDirectory(db)
    with pytest.raises(TenantContextMissing):
        directory.admins()
