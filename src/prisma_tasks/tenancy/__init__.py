"""Multi-tenancy, both modes (`tenancy` in [tool.prisma-tasks]):

- row-based (`tenancy = "row"`): every tenant-scoped table has a tenant column; `TenantRepository`
  scopes every statement to the tenant of `tenant_context(...)` and refuses to run without one;
  `tenancy_problems` checks the module schemas (run by every Prisma task); `rls` generates
  PostgreSQL row-level security as defence in depth (`invoke tenant.rls`).
- schema-per-tenant (`tenancy = "schema"`, PostgreSQL): a schema per tenant, created, migrated,
  listed and dropped by `TenantSchemas` (`invoke tenant.create/migrate/list/drop`).
"""

from .context import TenantId, current_tenant, current_tenant_or_none, tenant_context
from .errors import (
    InvalidTenantName,
    TenancyError,
    TenancySchemaError,
    TenantContextMissing,
    TenantMismatch,
    UnknownTenant,
)
from .names import schema_for, validate_tenant_name
from .repository import TenantRepository
from .rls import generate_rls, rls_sql, tenant_tables, tenant_transaction
from .schema_check import tenancy_problems, tenant_scoped_models

__all__ = [
    "InvalidTenantName",
    "TenancyError",
    "TenancySchemaError",
    "TenantContextMissing",
    "TenantId",
    "TenantMismatch",
    "TenantRepository",
    "UnknownTenant",
    "current_tenant",
    "current_tenant_or_none",
    "generate_rls",
    "rls_sql",
    "schema_for",
    "tenancy_problems",
    "tenant_context",
    "tenant_scoped_models",
    "tenant_tables",
    "tenant_transaction",
    "validate_tenant_name",
]
