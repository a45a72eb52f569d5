"""Multi-tenancy on real PostgreSQL: the row-scoped repository (with a property-based test),
row-level security as a non-superuser role, and schema-per-tenant through the tenant tasks.

Each test gets `fresh_database_url`: a clone of this repository's migrated and seeded template
(users of acme and globex; acme's products, order and invoice).
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from invoke import Context
from invoke.exceptions import Exit

from prisma_tasks.config import Settings
from prisma_tasks.db.connection import Connection
from prisma_tasks.prisma_cli.migrations import migration_names
from prisma_tasks.prisma_cli.runner import Prisma
from prisma_tasks.schema.collect import collect
from prisma_tasks.tasks import tenant_tasks_collection
from prisma_tasks.tenancy import (
    TenancyError,
    TenantContextMissing,
    TenantMismatch,
    TenantRepository,
    UnknownTenant,
    generate_rls,
    tenant_context,
    tenant_transaction,
)
from prisma_tasks.tenancy.schemas import TenantSchemas, tenant_url
from tests.conftest import reference_settings_in

from .data_support import connect

pytestmark = [pytest.mark.integration, pytest.mark.backend("postgres")]

TENANTS = ("acme", "globex", "initech")
TENANT_TABLES = ("User", "Product", "Order", "OrderLine", "Invoice")


# -- fixtures ------------------------------------------------------------------------------------
@pytest.fixture
def db(fresh_database_url: str) -> Iterator[Connection]:
    """A superuser connection (row-level security never applies to it)."""
    with connect(fresh_database_url) as connection:
        yield connection


def _as_role(url: str, role: str, password: str) -> str:
    parts = urlsplit(url)
    netloc = f"{quote(role, safe='')}:{quote(password, safe='')}@{parts.hostname}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


@pytest.fixture
def app_role(db: Connection, fresh_database_url: str) -> Iterator[tuple[str, str]]:
    """(role name, URL): an ordinary login role, as an application would connect.

    NOSUPERUSER and NOBYPASSRLS, with the privileges an app needs on every table. Roles are
    cluster-wide, so it is removed again afterwards."""
    if db.one("SELECT rolsuper FROM pg_roles WHERE rolname = current_user") != (True,):
        pytest.skip("the row-level security tests create a role: they need a superuser server")
    role = f"pt_app_{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(12)
    db.execute_script(
        f"CREATE ROLE \"{role}\" LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '{password}';"
        f'GRANT USAGE ON SCHEMA public TO "{role}";'
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}";'
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}";'
    )
    try:
        yield role, _as_role(fresh_database_url, role, password)
    finally:
        db.execute_script(
            f'REASSIGN OWNED BY "{role}" TO CURRENT_USER; DROP OWNED BY "{role}"; '
            f'DROP ROLE "{role}";'
        )


@pytest.fixture
def app(app_role: tuple[str, str]) -> Iterator[Connection]:
    connection = Connection.open(app_role[1])
    try:
        assert connection.one(
            "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ) == (False,)
        yield connection
    finally:
        connection.close()


@pytest.fixture
def rls_sql(tmp_path: Path) -> str:
    """`invoke tenant.rls` for this repository (collected in a copy, the repo untouched)."""
    settings = reference_settings_in(tmp_path)
    return generate_rls(settings, collect(settings))


@pytest.fixture
def rls_on(db: Connection, rls_sql: str) -> Connection:
    db.execute_script(rls_sql)
    return db


@pytest.fixture
def schema_settings(prisma_tasks_settings: Settings) -> Settings:
    return dataclasses.replace(prisma_tasks_settings, tenancy="schema")


@pytest.fixture
def tenants(schema_settings: Settings, fresh_database_url: str) -> TenantSchemas:
    return TenantSchemas(Prisma.for_settings(schema_settings), fresh_database_url)


def by_tenant(db: Connection, table: str) -> Counter:
    return Counter(dict(db.execute(f'SELECT "tenantId", count(*) FROM "{table}" GROUP BY 1')))


# -- the repository ------------------------------------------------------------------------------
def test_the_repository_reads_and_writes_only_the_current_tenants_rows(db) -> None:
    users = TenantRepository("User", db)
    globex_admin = db.id_of("User", tenantId="globex", email="admin@globex.test")
    with tenant_context("acme"):
        assert {u["email"] for u in users.find()} == {"admin@acme.test", "member@acme.test"}
        assert [u["email"] for u in users.find(role="ADMIN")] == ["admin@acme.test"]
        assert users.find(email="admin@globex.test") == []
        assert users.get(globex_admin) is None
        assert users.update({"id": globex_admin}, {"name": "taken over"}) == []
        assert users.delete({"id": globex_admin}) == 0
        assert users.update({}, {"name": "Acme person"}) and users.count() == 2
        created = users.insert(email="new@acme.test", name="New")
        assert created["tenantId"] == "acme" and users.count() == 3
        with pytest.raises(TenantMismatch):
            users.insert(tenantId="globex", email="spy@globex.test", name="Spy")
        with pytest.raises(TenantMismatch):
            users.update({"id": created["id"]}, {"tenantId": "globex"})
    with tenant_context("globex"):
        assert users.get(created["id"]) is None
        assert {u["name"] for u in users.find()} == {"Admin", "Member"}  # untouched
    assert by_tenant(db, "User") == Counter({"acme": 3, "globex": 2})


def test_an_unscoped_call_raises_before_any_sql_reaches_the_database(db) -> None:
    class Counting:
        def __init__(self, raw) -> None:
            self.raw, self.sent = raw, 0

        def execute(self, *args, **kwargs):
            self.sent += 1
            return self.raw.execute(*args, **kwargs)

    counting = Counting(db.raw)
    users = TenantRepository("User", Connection(counting, "postgres"))
    assert counting.sent == 1  # the table's columns, read once when the repository is made
    for call in (
        users.find,
        lambda: users.get(1),
        lambda: users.insert(email="x", name="x"),
        lambda: users.update({"id": 1}, {"name": "x"}),
        lambda: users.delete({}),
    ):
        with pytest.raises(TenantContextMissing):
            call()
    assert counting.sent == 1
    with tenant_context("acme"):
        assert len(users.find()) == 2
    assert counting.sent == 2  # the same path does reach the database once a tenant is set
    assert by_tenant(db, "User") == Counter({"acme": 2, "globex": 2})


ROW_REF = st.one_of(st.integers(min_value=0, max_value=10_000), st.just(None))  # None: no row
SKUS = st.sampled_from(["WIDGET", "GADGET", "X1", "X2"])
CHANGES = st.fixed_dictionaries(
    {}, optional={"name": st.sampled_from(["a", "b", "c"]), "stock": st.integers(0, 3)}
).filter(bool)
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(
            st.just("insert"),
            st.sampled_from(TENANTS),
            SKUS,
            st.integers(0, 3),
            st.one_of(st.none(), st.sampled_from(TENANTS)),
        ),
        st.tuples(
            st.just("find"),
            st.sampled_from(TENANTS),
            st.sampled_from([{}, {"stock": 0}, {"stock": 1}, {"name": "a"}, {"sku": "X1"}]),
        ),
        st.tuples(st.just("find_tenant"), st.sampled_from(TENANTS), st.sampled_from(TENANTS)),
        st.tuples(st.just("get"), st.sampled_from(TENANTS), ROW_REF),
        st.tuples(st.just("update"), st.sampled_from(TENANTS), ROW_REF, CHANGES),
        st.tuples(st.just("update_all"), st.sampled_from(TENANTS), CHANGES),
        st.tuples(st.just("move"), st.sampled_from(TENANTS), ROW_REF, st.sampled_from(TENANTS)),
        st.tuples(st.just("delete"), st.sampled_from(TENANTS), ROW_REF),
        st.tuples(st.just("unscoped"), st.sampled_from(["find", "update", "delete", "insert"])),
    ),
    min_size=5,
    max_size=40,
)
EXAMPLES = 500


def test_no_sequence_of_repository_calls_reads_or_changes_another_tenants_row(db) -> None:
    """Random calls as random tenants, checked against a model of the table in Python; after
    every call the whole table (read as superuser) must equal the model."""
    for tenant in ("globex", "initech"):
        for sku in ("WIDGET", "X1"):
            db.execute(
                'INSERT INTO "Product" ("tenantId", sku, name, "priceCents", stock) '
                "VALUES (?, ?, 'seeded', 100, 1)",
                [tenant, sku],
            )
    referenced = {row[0] for row in db.execute('SELECT "productId" FROM "OrderLine"')}
    products = TenantRepository("Product", db)
    stats: Counter = Counter()

    def table() -> dict[int, dict]:
        cursor = db.raw.execute('SELECT * FROM "Product" ORDER BY id')
        names = [c.name for c in cursor.description]
        return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}

    def pick(model: dict[int, dict], ref: int | None) -> int:
        return 2_000_000_000 if ref is None or not model else sorted(model)[ref % len(model)]

    def expect(error: type[BaseException], call) -> None:
        with pytest.raises(error), db.raw.transaction():  # a savepoint: the failure is undone
            call()

    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(OPERATIONS)
    def run(operations) -> None:
        stats["examples"] += 1
        with db.raw.transaction(force_rollback=True):  # every example starts from the same rows
            model = table()
            for operation in operations:
                kind, *args = operation
                stats["calls"] += 1
                stats[kind] += 1
                if kind == "unscoped":
                    call = {
                        "find": products.find,
                        "update": lambda: products.update({}, {"stock": 0}),
                        "delete": lambda: products.delete({}),
                        "insert": lambda: products.insert(sku="Z", name="z", priceCents=1),
                    }[args[0]]
                    with pytest.raises(TenantContextMissing):
                        call()
                    assert table() == model
                    continue
                tenant = args[0]
                mine = {i: r for i, r in model.items() if r["tenantId"] == tenant}
                with tenant_context(tenant):
                    if kind == "insert":
                        _, sku, stock, claimed = args
                        values = {"sku": sku, "name": "new", "priceCents": 5, "stock": stock}
                        if claimed is not None:
                            values["tenantId"] = claimed
                        if claimed not in (None, tenant):
                            stats["refused"] += 1
                            expect(TenantMismatch, lambda v=values: products.insert(v))
                        elif any(r["sku"] == sku for r in mine.values()):
                            expect(
                                psycopg.errors.UniqueViolation, lambda v=values: products.insert(v)
                            )
                        else:
                            row = products.insert(values)
                            assert row["tenantId"] == tenant
                            model[row["id"]] = row
                    elif kind == "find":
                        (criteria,) = args[1:]
                        expected = [
                            r
                            for i, r in sorted(mine.items())
                            if all(r[c] == v for c, v in criteria.items())
                        ]
                        assert products.find(criteria) == expected
                    elif kind == "find_tenant":
                        other = args[1]
                        if other == tenant:
                            assert products.find(tenantId=other) == [
                                r for _, r in sorted(mine.items())
                            ]
                        else:
                            stats["refused"] += 1
                            expect(TenantMismatch, lambda o=other: products.find(tenantId=o))
                    elif kind == "get":
                        row_id = pick(model, args[1])
                        stats["foreign"] += row_id in model and row_id not in mine
                        assert products.get(row_id) == mine.get(row_id)
                    elif kind == "update":
                        row_id, changes = pick(model, args[1]), args[2]
                        stats["foreign"] += row_id in model and row_id not in mine
                        updated = products.update({"id": row_id}, changes)
                        if row_id in mine:
                            model[row_id] = {**model[row_id], **changes}
                            assert updated == [model[row_id]]
                        else:
                            assert updated == []
                    elif kind == "update_all":
                        changes = args[1]
                        updated = products.update({}, changes)
                        assert sorted(r["id"] for r in updated) == sorted(mine)
                        for row_id in mine:
                            model[row_id] = {**model[row_id], **changes}
                    elif kind == "move":
                        row_id, other = pick(model, args[1]), args[2]
                        change = {"tenantId": other, "name": "moved"}
                        if other != tenant:
                            stats["refused"] += 1
                            expect(
                                TenantMismatch,
                                lambda r=row_id, c=change: products.update({"id": r}, c),
                            )
                        else:
                            updated = products.update({"id": row_id}, change)
                            if row_id in mine:
                                model[row_id] = {**model[row_id], "name": "moved"}
                            assert updated == ([model[row_id]] if row_id in mine else [])
                    elif kind == "delete":
                        row_id = pick(model, args[1])
                        stats["foreign"] += row_id in model and row_id not in mine
                        if row_id in mine and row_id in referenced:
                            expect(
                                psycopg.errors.ForeignKeyViolation,
                                lambda r=row_id: products.delete({"id": r}),
                            )
                        else:
                            assert products.delete({"id": row_id}) == (1 if row_id in mine else 0)
                            model.pop(row_id, None) if row_id in mine else None
                assert table() == model, f"after {operation}"

    started = time.perf_counter()
    run()
    elapsed = time.perf_counter() - started
    print(
        f"\n[tenancy property] {stats['examples']} examples, {stats['calls']} repository calls "
        f"({stats['foreign']} aimed at another tenant's row, {stats['refused']} naming another "
        f"tenant, {stats['unscoped']} without a tenant) in {elapsed:.1f}s; by kind: "
        + ", ".join(
            f"{k}={stats[k]}"
            for k in (
                "insert",
                "find",
                "find_tenant",
                "get",
                "update",
                "update_all",
                "move",
                "delete",
            )
        )
    )
    assert stats["examples"] >= EXAMPLES // 2 and stats["foreign"] > 50 and stats["refused"] > 50


def test_sqlite_is_not_offered_row_level_security(tmp_path: Path) -> None:
    connection = Connection.open(f"file:{tmp_path / 'x.db'}")
    try:
        with (
            pytest.raises(TenancyError, match="needs PostgreSQL"),
            tenant_transaction(connection, "acme"),
        ):
            pass
    finally:
        connection.close()


# -- row-level security --------------------------------------------------------------------------
def test_with_rls_a_raw_select_as_the_app_role_sees_only_the_current_tenant(rls_on, app) -> None:
    everything = {table: by_tenant(rls_on, table) for table in TENANT_TABLES}
    assert everything["User"] == Counter({"acme": 2, "globex": 2})
    for tenant in ("acme", "globex", "nobody"):
        with tenant_transaction(app, tenant):
            for table in TENANT_TABLES:
                rows = app.execute(f'SELECT * FROM "{table}"')
                tenants_seen = {row for (row,) in app.execute(f'SELECT "tenantId" FROM "{table}"')}
                assert tenants_seen <= {tenant}, (table, tenants_seen)
                assert len(rows) == everything[table][tenant], (tenant, table)
    for table in TENANT_TABLES:  # no tenant set, or after the transaction ended: nothing
        assert app.one(f'SELECT count(*) FROM "{table}"') == (0,)
    with app.transaction():
        app.execute("SELECT set_config('app.tenant_id', '', true)")
        assert app.one('SELECT count(*) FROM "User"') == (0,)


def test_with_rls_raw_writes_as_the_app_role_cannot_touch_another_tenant(rls_on, app) -> None:
    with tenant_transaction(app, "acme"):
        renamed = app.execute('UPDATE "User" SET name = \'renamed\' RETURNING "tenantId"')
        assert sorted(renamed) == [("acme",), ("acme",)]
        assert app.execute('DELETE FROM "OrderLine" RETURNING "tenantId"') == [("acme",)] * 2
    with tenant_transaction(app, "globex"):
        assert app.execute('DELETE FROM "Invoice" RETURNING id') == []  # acme's invoice
    with (
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"),
        tenant_transaction(app, "acme"),
    ):
        app.execute(
            "INSERT INTO \"User\" (\"tenantId\", email, name) VALUES ('globex', 's@x', 'Spy')"
        )
    with (
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"),
        tenant_transaction(app, "acme"),
    ):
        app.execute('UPDATE "User" SET "tenantId" = \'globex\'')
    names = dict(rls_on.execute('SELECT "tenantId" || email, name FROM "User"'))
    assert names == {
        "acmeadmin@acme.test": "renamed",
        "acmemember@acme.test": "renamed",
        "globexadmin@globex.test": "Admin",
        "globexmember@globex.test": "Member",
    }
    assert by_tenant(rls_on, "OrderLine") == Counter() and by_tenant(rls_on, "Invoice") == Counter(
        {"acme": 1}
    )


def test_rls_and_the_repository_together_on_the_app_role(rls_on, app) -> None:
    users = TenantRepository("User", app)
    with tenant_context("globex"), tenant_transaction(app):
        assert {u["email"] for u in users.find()} == {"admin@globex.test", "member@globex.test"}
        assert users.insert(email="new@globex.test", name="New")["tenantId"] == "globex"
    with tenant_context("acme"):
        assert users.find() == []  # outside tenant_transaction RLS shows nothing at all


def test_property_no_raw_statement_as_the_app_role_crosses_the_policy(rls_on, app) -> None:
    """Any tenant setting (also none, empty or hostile), any tenant table, any raw statement
    as the app role: exactly that tenant's rows are returned or touched, an insert for another
    tenant fails, and (read as superuser afterwards) no other tenant's row changed."""
    # A row with an empty tenant: a session whose SET LOCAL ended holds '' and must not see it.
    rls_on.execute(
        """INSERT INTO "Product" ("tenantId", sku, name, "priceCents") VALUES ('', 'E', 'e', 1)"""
    )
    before = {t: by_tenant(rls_on, t) for t in TENANT_TABLES}
    stats: Counter = Counter()

    @hypothesis_settings(max_examples=200, deadline=None, database=None)
    @given(
        tenant=st.sampled_from(["acme", "globex", "initech", "", None, "acme' OR '1'='1"]),
        table=st.sampled_from(TENANT_TABLES),
        statement=st.sampled_from(["select", "count", "update", "delete", "insert"]),
        claimed=st.sampled_from(["acme", "globex"]),
    )
    def run(tenant, table, statement, claimed) -> None:
        stats["examples"] += 1
        stats[statement] += 1
        visible = before[table][tenant] if tenant else 0
        try:
            with app.raw.transaction(force_rollback=True):
                if tenant is not None:
                    app.execute("SELECT set_config('app.tenant_id', ?, true)", [tenant])
                if statement == "insert":
                    refused = claimed != tenant
                    stats["refused"] += refused
                    with (
                        pytest.raises(psycopg.errors.InsufficientPrivilege)
                        if refused
                        else nullcontext(),
                        app.raw.transaction(),
                    ):
                        app.execute(
                            'INSERT INTO "Product" ("tenantId", sku, name, "priceCents") '
                            "VALUES (?, 'P', 'p', 1)",
                            [claimed],
                        )
                    return
                if statement == "count":
                    assert app.one(f'SELECT count(*) FROM "{table}"') == (visible,)
                    return
                sql = {
                    "select": f'SELECT "tenantId" FROM "{table}"',
                    "update": f'UPDATE "{table}" SET "tenantId" = "tenantId" RETURNING "tenantId"',
                    "delete": f'DELETE FROM "{table}" RETURNING "tenantId"',
                }[statement]
                try:
                    with app.raw.transaction():
                        rows = app.execute(sql)
                except psycopg.errors.ForeignKeyViolation:
                    stats["fk_refused"] += 1  # a referenced row of this tenant: nothing changed
                    return
                assert rows == [(tenant,)] * visible
        finally:
            assert {t: by_tenant(rls_on, t) for t in TENANT_TABLES} == before

    run()
    print(
        f"\n[tenancy rls property] {stats['examples']} examples as the app role: "
        + ", ".join(f"{k}={stats[k]}" for k in ("select", "count", "update", "delete", "insert"))
        + f"; {stats['refused']} cross-tenant inserts refused by the policy"
    )
    assert stats["examples"] >= 100 and stats["refused"] > 10


def test_force_makes_the_policies_bind_the_tables_owner_too(rls_on, app_role, app) -> None:
    role, _ = app_role
    rls_on.execute(f'ALTER TABLE "Product" OWNER TO "{role}"')  # as if the app ran migrations
    assert app.one('SELECT count(*) FROM "Product"') == (0,)
    rls_on.execute('ALTER TABLE "Product" NO FORCE ROW LEVEL SECURITY')
    assert app.one('SELECT count(*) FROM "Product"') == (2,)  # without FORCE the owner sees all


# -- schema per tenant ---------------------------------------------------------------------------
def test_a_tenant_is_created_migrated_listed_isolated_and_dropped(tenants, db) -> None:
    outcome = tenants.create("acme")
    assert outcome is not None and outcome.ok
    (state,) = tenants.states()
    assert (state.name, state.schema, state.pending, state.failed) == (
        "acme",
        "tenant_acme",
        (),
        (),
    )
    assert state.applied == tuple(migration_names(tenants.prisma))
    assert state.describe().startswith("up to date")
    tables = {
        t
        for (t,) in db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'tenant_acme'"
        )
    }
    assert tables == {
        *TENANT_TABLES,
        "OutboxEvent",
        "ProcessedMessage",
        "SagaInstance",
        "_prisma_migrations",
    }
    public_users = db.one('SELECT count(*) FROM public."User"')
    tenant_db = Connection.open(tenant_url(tenants.url, "tenant_acme"))
    try:
        tenant_db.execute(
            "INSERT INTO \"User\" (\"tenantId\", email, name) VALUES ('acme', 'a', 'A')"
        )
    finally:
        tenant_db.close()
    assert db.one('SELECT count(*) FROM tenant_acme."User"') == (1,)
    assert db.one('SELECT count(*) FROM public."User"') == public_users
    with pytest.raises(TenancyError, match="already exists"):
        tenants.create("acme")
    report = tenants.migrate(["acme"])
    assert [o.ok for o in report.outcomes] == [True]  # already up to date: a no-op, still ok
    with pytest.raises(UnknownTenant, match=r"invoke tenant\.create globex"):
        tenants.migrate(["globex"])
    tenants.drop("acme")
    assert tenants.names() == []
    assert db.one("SELECT count(*) FROM pg_namespace WHERE nspname = 'tenant_acme'") == (0,)


def test_a_create_whose_migration_fails_leaves_no_schema(tenants, db, monkeypatch) -> None:
    from prisma_tasks.errors import CheckFailed
    from prisma_tasks.tenancy.schemas import Outcome

    monkeypatch.setattr(
        TenantSchemas, "_deploy", lambda self, name, schema: Outcome(name, False, 0.1, "boom")
    )
    with pytest.raises(CheckFailed, match="schema tenant_acme removed again: boom"):
        tenants.create("acme")
    assert db.one("SELECT count(*) FROM pg_namespace WHERE nspname = 'tenant_acme'") == (0,)


@pytest.mark.parametrize(
    ("password", "pieces"),
    [
        ("p@ss word", ["p@ss", "ss word"]),  # libpq and URL parsers end the user part apart
        ("Qx%zzWv", ["Qx%zzWv"]),  # readable, but psycopg's error quotes the bad token
    ],
)
def test_a_database_url_the_tenant_schemas_cannot_use_is_named_without_its_password(
    schema_settings, fresh_database_url, password: str, pieces: list[str]
) -> None:
    parts = urlsplit(fresh_database_url)
    url = f"postgresql://app:{password}@{parts.hostname}:{parts.port}{parts.path}?schema=s"
    tenants = TenantSchemas(Prisma.for_settings(schema_settings), url)
    for call in (tenants.names, lambda: tenants.create("acme")):
        with pytest.raises(
            TenancyError, match=r"cannot connect to postgresql://app:\*\*\*@"
        ) as failed:
            call()
        assert not [piece for piece in pieces if piece in str(failed.value)], failed.value


@pytest.mark.parametrize(
    "name", ['x"; DROP SCHEMA public CASCADE; --', "Acme", "a b", "tenant-1", "1a", ""]
)
def test_the_tasks_refuse_bad_names_with_exit_2_before_touching_the_database(
    name, db, schema_settings, fresh_database_url, monkeypatch, capsys
) -> None:
    monkeypatch.setattr(tenant_tasks_collection, "settings", lambda: schema_settings)
    monkeypatch.setenv("DATABASE_URL", fresh_database_url)
    schemas_before = db.execute("SELECT nspname FROM pg_namespace ORDER BY 1")
    for task, kwargs in (
        (tenant_tasks_collection.create, {"name": name}),
        (tenant_tasks_collection.drop, {"name": name}),
        (tenant_tasks_collection.migrate, {"name": name}),
    ):
        with pytest.raises(Exit) as caught:
            task(Context(), **kwargs)
        assert caught.value.code == 2
        assert "is not valid" in str(caught.value.message) or (
            name == "" and "name one tenant or pass --all" in str(caught.value.message)
        )
    assert capsys.readouterr().out == ""  # refused before collecting or connecting
    assert db.execute("SELECT nspname FROM pg_namespace ORDER BY 1") == schemas_before


def test_fifty_tenants_one_broken_49_migrated_1_reported_exit_1(
    tenants, db, schema_settings, fresh_database_url, monkeypatch, capsys
) -> None:
    names = [f"t{number:02d}" for number in range(50)]
    broken = "t37"
    for name in names:
        tenants.create(name, migrate=False)
    db.execute(f'CREATE TABLE "tenant_{broken}"."Order" (id integer)')  # in the way of the init
    monkeypatch.setattr(tenant_tasks_collection, "settings", lambda: schema_settings)
    monkeypatch.setenv("DATABASE_URL", fresh_database_url)

    started = time.perf_counter()
    with pytest.raises(Exit) as caught:
        tenant_tasks_collection.migrate(
            Context(), all=True, jobs=tenant_tasks_collection.DEFAULT_JOBS
        )
    elapsed = time.perf_counter() - started

    assert caught.value.code == 1
    output = capsys.readouterr().out
    progress = [line for line in output.splitlines() if line.startswith("[")]
    assert [line.split("]")[0] for line in progress] == [f"[{i}/50" for i in range(1, 51)]
    failed_lines = [line for line in progress if " ... failed (" in line]
    assert len(failed_lines) == 1 and f"tenant {broken} ... failed" in failed_lines[0]
    assert "database schema is not empty" in failed_lines[0]
    assert sum(" ... ok (" in line for line in progress) == 49
    assert "migrated 49 of 50 tenant(s)" in output and f"failed: {broken}" in output
    message = str(caught.value.message)
    assert message.startswith("1 of 50 tenant(s) failed to migrate:\n  t37: ")

    applied = len(migration_names(tenants.prisma))
    states = {state.name: state for state in tenants.states()}
    assert sorted(states) == names
    assert [n for n, s in states.items() if len(s.applied) == applied and not s.pending] == [
        n for n in names if n != broken
    ]
    assert states[broken].describe() == "not migrated"
    for name in (names[0], names[-1]):
        assert db.one(f'SELECT count(*) FROM "tenant_{name}"."Product"') == (0,)

    with pytest.raises(Exit):  # the listing tells the same story
        tenant_tasks_collection.migrate(Context(), name=broken)
    tenant_tasks_collection.list_tenants(Context())
    listing = capsys.readouterr().out
    assert (
        listing.count("up to date") == 49 and f"{broken}  tenant_{broken}  not migrated" in listing
    )
    print(
        f"\n[schema-per-tenant] 50 tenants, {tenant_tasks_collection.DEFAULT_JOBS} at a time: "
        f"49 migrated, 1 reported ({broken}) in {elapsed:.1f}s "
        f"({elapsed / 50:.2f}s per tenant)"
    )
