"""Row-level security SQL generation (no database; the integration suite runs the SQL)."""

from __future__ import annotations

import dataclasses

import pytest

from prisma_tasks.config import load_settings
from prisma_tasks.errors import ConfigError
from prisma_tasks.schema.collect import collect
from prisma_tasks.tenancy.errors import TenancyError, TenancySchemaError
from prisma_tasks.tenancy.rls import (
    TenantTable,
    generate_rls,
    policy_condition,
    rls_sql,
    tenant_tables,
)
from tests.conftest import reference_settings_in

SETTING = "NULLIF(current_setting('app.tenant_id', true), '')"


def tables_of(tree, schema: str, extra: str = "") -> list[TenantTable]:
    tree.write(
        "pyproject.toml", f"[project]\nname = 'demo'\n[tool.prisma-tasks]\ntenancy = 'row'\n{extra}"
    )
    tree.module("shop", "models.prisma", schema)
    settings = load_settings(tree.root, environ={})
    return tenant_tables(settings, collect(settings))


def test_one_policy_per_tenant_table_with_enable_and_force() -> None:
    table = TenantTable("User", "User", "tenantId", "", "m.prisma", 3)
    sql = rls_sql([table])
    assert (
        'ALTER TABLE "User" ENABLE ROW LEVEL SECURITY;\n'
        'ALTER TABLE "User" FORCE ROW LEVEL SECURITY;\n'
        'DROP POLICY IF EXISTS "tenant_isolation" ON "User";\n'
        'CREATE POLICY "tenant_isolation" ON "User"\n'
        f'    USING ("tenantId" = {SETTING})\n'
        f'    WITH CHECK ("tenantId" = {SETTING});\n'
    ) in sql
    assert "-- User (m.prisma:3)" in sql
    assert sql.count("CREATE POLICY") == 1


def test_mapped_table_and_column_names_and_casts_come_from_the_schema(tree) -> None:
    schema = (
        "model Account {\n"
        "  id       Int    @id\n"
        '  tenantId String @map("tenant_id") @db.Uuid\n'
        "  @@index([tenantId])\n"
        '  @@map("accounts")\n'
        "}\n"
        '// @@map("not_this")\n'
        "model Note {\n"
        "  id       Int @id\n"
        "  tenantId Int\n"
        "  @@index([tenantId])\n"
        "}\n"
        "model Tag {\n"
        "  id       Int  @id\n"
        "  tenantId Kind\n"
        '  label    String @map("tenant_id_fake")\n'
        "  @@index([tenantId])\n"
        "}\n"
        "enum Kind {\n  A\n}\n"
        "model Plain {\n"
        '  id       Int    @id @map("x")\n'
        '  tenantId String @db.VarChar(64) @default("@map(\\"nope\\")")\n'
        "  @@index([tenantId])\n"
        "}\n"
    )
    account, note, tag, plain = tables_of(tree, schema)
    assert (account.table, account.column, account.cast) == ("accounts", "tenant_id", "uuid")
    assert (note.table, note.column, note.cast) == ("Note", "tenantId", "integer")
    assert (tag.table, tag.column, tag.cast) == ("Tag", "tenantId", None)
    assert (plain.table, plain.column, plain.cast) == ("Plain", "tenantId", "")
    assert policy_condition(account) == f'"tenant_id" = {SETTING}::uuid'
    assert policy_condition(note) == f'"tenantId" = {SETTING}::integer'
    assert policy_condition(tag) == f'"tenantId"::text = {SETTING}'
    assert policy_condition(plain) == f'"tenantId" = {SETTING}'
    assert 'ALTER TABLE "accounts" FORCE ROW LEVEL SECURITY;' in rls_sql([account])


def test_identifiers_and_the_setting_are_quoted() -> None:
    table = TenantTable("Odd", 'we"ird', 'ten"ant', "", "m.prisma", 1)
    sql = rls_sql([table], setting="app.it's")
    assert 'ALTER TABLE "we""ird" ENABLE ROW LEVEL SECURITY;' in sql
    assert "\"ten\"\"ant\" = NULLIF(current_setting('app.it''s', true), '')" in sql


def test_exempt_models_get_no_policy(tree) -> None:
    schema = (
        "model Order {\n  id Int @id\n  tenantId String\n  @@index([tenantId])\n}\n"
        "model Country {\n  code String @id\n}\n"
    )
    tables = tables_of(tree, schema, 'tenant_exempt_models = ["Country"]\n')
    assert [t.model for t in tables] == ["Order"]


def test_refused_while_a_tenancy_rule_is_broken_or_in_another_mode(tree) -> None:
    with pytest.raises(TenancySchemaError, match="has no tenantId field"):
        tables_of(tree, "model Order {\n  id Int @id\n}\n")
    settings = dataclasses.replace(load_settings(tree.root, environ={}), tenancy="schema")
    with pytest.raises(ConfigError, match="tenancy = 'row'"):
        tenant_tables(settings, collect(settings))


def test_all_models_exempt_is_an_error(tree) -> None:
    tree.write(
        "pyproject.toml",
        "[project]\nname = 'demo'\n[tool.prisma-tasks]\ntenancy = 'row'\n"
        'tenant_exempt_models = ["Country"]\n',
    )
    tree.module("geo", "models.prisma", "model Country {\n  code String @id\n}\n")
    settings = load_settings(tree.root, environ={})
    with pytest.raises(TenancyError, match="no tenant-scoped models"):
        generate_rls(settings, collect(settings))


def test_the_reference_modules_get_a_policy_per_tenant_table(tmp_path) -> None:
    settings = reference_settings_in(tmp_path)
    sql = generate_rls(settings, collect(settings))
    policies = sorted(line.split('"')[3] for line in sql.splitlines() if "CREATE POLICY" in line)
    assert policies == ["Invoice", "Order", "OrderLine", "Product", "User"]
    assert "OutboxEvent" not in sql and "SagaInstance" not in sql
    # adapter-pg (wasm mode) splits a migration on every `;`: only statement ends may have one
    assert all(line.endswith(";") for line in sql.splitlines() if ";" in line)
