"""Multi-tenancy, both modes (`tenancy` in [tool.prisma-tasks]):

- row-based (`tenancy = "row"`): every tenant-scoped table has a tenant column; `TenantRepository`
  scopes every statement to the tenant of `tenant_context(...)` and refuses to run without one;
  `tenancy_problems` checks the module schemas (run by every Prisma task); `rls` generates
  PostgreSQL row-level security as defence in depth (`invoke tenant.rls`).
- schema-per-tenant (`tenancy = "schema"`, PostgreSQL): a schema per tenant, created, migrated,
  listed and dropped by `TenantSchemas` (`invoke tenant.create/migrate/list/drop`).
"""

from importlib import import_module
from typing import Any

# Loaded on first use: every Prisma task imports the schema check, and the repository side
# (seeding, psycopg) must not slow their start-up.
_WHERE = {
    "TenantId": "context",
    "current_tenant": "context",
    "current_tenant_or_none": "context",
    "tenant_context": "context",
    "InvalidTenantName": "errors",
    "TenancyError": "errors",
    "TenancySchemaError": "errors",
    "TenantContextMissing": "errors",
    "TenantMismatch": "errors",
    "UnknownTenant": "errors",
    "schema_for": "names",
    "validate_tenant_name": "names",
    "TenantRepository": "repository",
    "generate_rls": "rls",
    "rls_sql": "rls",
    "tenant_tables": "rls",
    "tenant_transaction": "rls",
    "tenancy_problems": "schema_check",
    "tenant_scoped_models": "schema_check",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_WHERE[name]}", __name__), name)
