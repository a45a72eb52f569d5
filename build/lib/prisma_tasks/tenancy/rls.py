"""PostgreSQL row-level security for row-based tenancy: defence in depth behind the repository.

`rls_sql()` writes, for every tenant-scoped table, ENABLE + FORCE ROW LEVEL SECURITY and one
policy that admits only rows whose tenant column equals the session setting `app.tenant_id`:

    CREATE POLICY "tenant_isolation" ON "User"
        USING ("tenantId" = NULLIF(current_setting('app.tenant_id', true), ''))
        WITH CHECK (...same...);

`current_setting(..., true)` is NULL when the setting was never made, and '' after a
transaction that made it with SET LOCAL ended; both compare as unknown, so a connection that
has not said which tenant it serves sees and writes nothing. FORCE applies the policies to the
tables' owner too; superusers and roles with BYPASSRLS still bypass them, so the application
must connect as an ordinary role.

`tenant_transaction(connection)` opens a transaction and sets `app.tenant_id` for it only
(`set_config(name, value, true)` is SET LOCAL with a bound parameter instead of a literal).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from prisma_tasks.config import Settings
from prisma_tasks.db.connection import Connection, quote
from prisma_tasks.errors import ConfigError
from prisma_tasks.schema.collect import CollectResult, Definition
from prisma_tasks.schema.reader import Field, strip_noise
from prisma_tasks.tenancy.context import TenantId, current_tenant
from prisma_tasks.tenancy.errors import TenancyError, TenancySchemaError
from prisma_tasks.tenancy.schema_check import tenancy_problems, tenant_scoped_models

SETTING = "app.tenant_id"
POLICY = "tenant_isolation"

_TABLE_MAP = re.compile(r'@@map\s*\(\s*(?:name\s*:\s*)?"')
_FIELD_MAP = re.compile(r'(?<!@)@map\s*\(\s*(?:name\s*:\s*)?"')
_NATIVE_TYPE = re.compile(r"@db\.(\w+)")
# What the (text) setting is cast to before it is compared with the tenant column; "" means
# no cast (text, varchar and char compare with text as they are).
_SCALAR_CASTS = {"String": "", "Int": "integer", "BigInt": "bigint"}
_NATIVE_CASTS = {"Uuid": "uuid", "SmallInt": "smallint", "Integer": "integer", "BigInt": "bigint"}


@dataclass(frozen=True)
class TenantTable:
    model: str
    table: str  # the database name (@@map), else the model name
    column: str  # the tenant column (@map), else the field name
    cast: str | None  # type the setting is cast to ("" none); None: compare the column as text
    path: str
    line: int


def tenant_tables(settings: Settings, result: CollectResult) -> list[TenantTable]:
    """The tenant-scoped tables; raises TenancySchemaError while a tenancy rule is broken."""
    if settings.tenancy != "row":
        raise ConfigError(
            f"row-level security is for tenancy = 'row'; this project has tenancy = "
            f"'{settings.tenancy}' in [tool.prisma-tasks]"
        )
    problems = tenancy_problems(settings, result)
    if problems:
        raise TenancySchemaError(problems)
    tables = []
    for definition in tenant_scoped_models(settings, result):
        field = next(f for f in definition.block.fields if f.name == settings.tenant_field)
        tables.append(_table_of(settings.root, definition, field))
    return tables


def _table_of(root: Path, definition: Definition, field: Field) -> TenantTable:
    text = (root / definition.path).read_text(encoding="utf-8")
    clean = strip_noise(text)
    lines = clean.splitlines(keepends=True)
    start = sum(len(line) for line in lines[: definition.block.line - 1])
    end = sum(len(line) for line in lines[: definition.block.end_line])
    field_start = sum(len(line) for line in lines[: field.line - 1])
    field_end = field_start + len(lines[field.line - 1])
    table = _mapped(text, clean, _TABLE_MAP, start, end) or definition.name
    column = _mapped(text, clean, _FIELD_MAP, field_start, field_end) or field.name
    native = _NATIVE_TYPE.search(clean, field_start, field_end)
    if native is not None and native.group(1) in _NATIVE_CASTS:
        cast: str | None = _NATIVE_CASTS[native.group(1)]
    elif field.type in _SCALAR_CASTS:
        cast = _SCALAR_CASTS[field.type]
    else:
        cast = None  # an enum or another type: compared through its text form
    return TenantTable(definition.name, table, column, cast, definition.path, definition.block.line)


def _mapped(text: str, clean: str, pattern: re.Pattern[str], start: int, end: int) -> str | None:
    """The string argument of @@map / @map between start and end, read from the raw text
    (strip_noise blanks string contents but keeps every offset)."""
    match = pattern.search(clean, start, end)
    if match is None:
        return None
    opening = match.end() - 1
    closing = clean.find('"', opening + 1)
    return text[opening + 1 : closing].replace('\\"', '"').replace("\\\\", "\\")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def policy_condition(table: TenantTable, setting: str = SETTING) -> str:
    current = f"NULLIF(current_setting({_literal(setting)}, true), '')"
    if table.cast is None:  # an enum or another type: compare the column's text form
        return f"{quote(table.column)}::text = {current}"
    if table.cast:
        return f"{quote(table.column)} = {current}::{table.cast}"
    return f"{quote(table.column)} = {current}"


def rls_sql(tables: list[TenantTable], setting: str = SETTING, policy: str = POLICY) -> str:
    """Idempotent SQL (safe to run again after adding models) for every tenant table."""
    # No `;` except at the end of a statement: adapter-pg (wasm mode) splits scripts on every `;`.
    out = [
        "-- Row-level security for the tenant-scoped tables (tenancy = 'row'), generated by",
        "-- `invoke tenant.rls`. Apply it as a migration: write it to",
        "-- prisma/migrations/<YYYYMMDDHHMMSS>_row_level_security/migration.sql, then run",
        "-- `invoke prisma.lock` and `invoke prisma.deploy` (Prisma does not diff policies, so",
        "-- no drift follows). Regenerate it into a new migration when models are added.",
        f"-- A session sees only the rows of the tenant in `{setting}`",
        "-- (prisma_tasks.tenancy.tenant_transaction sets it with SET LOCAL semantics).",
        "-- FORCE applies the policies to the tables' owner as well: run data migrations as a",
        "-- role with BYPASSRLS, and connect the application as a role without it.",
        "",
    ]
    for table in tables:
        name = quote(table.table)
        condition = policy_condition(table, setting)
        out += [
            f"-- {table.model} ({table.path}:{table.line})",
            f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY;",
            f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY;",
            f"DROP POLICY IF EXISTS {quote(policy)} ON {name};",
            f"CREATE POLICY {quote(policy)} ON {name}",
            f"    USING ({condition})",
            f"    WITH CHECK ({condition});",
            "",
        ]
    return "\n".join(out)


def generate_rls(settings: Settings, result: CollectResult) -> str:
    tables = tenant_tables(settings, result)
    if not tables:
        raise TenancyError("no tenant-scoped models: every model is in tenant_exempt_models")
    return rls_sql(tables)


@contextmanager
def tenant_transaction(
    connection: Connection, tenant_id: TenantId | None = None, setting: str = SETTING
) -> Iterator[Connection]:
    """A transaction in which `setting` holds the tenant (the current one by default).

    The setting ends with the transaction, so a pooled connection never carries one tenant's
    setting into the next request. PostgreSQL only: SQLite has no row-level security.
    """
    if connection.dialect != "postgres":
        raise TenancyError("row-level security needs PostgreSQL; SQLite has none")
    tenant = current_tenant() if tenant_id is None else tenant_id
    with connection.transaction():
        connection.execute("SELECT set_config(?, ?, true)", [setting, str(tenant)])
        yield connection
