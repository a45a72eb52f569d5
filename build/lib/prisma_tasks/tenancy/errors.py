"""What the tenancy kit raises. All are input or usage errors (exit code 2) at the command line;
in application code they mark a bug that must never reach the database."""

from __future__ import annotations

from prisma_tasks.errors import PrismaTasksError, SchemaError, SchemaProblem


class TenancyError(PrismaTasksError):
    """Base class of the tenancy errors."""


class TenantContextMissing(TenancyError):
    """A tenant-scoped call ran outside `tenant_context(...)`; no SQL was sent."""


class TenantMismatch(TenancyError):
    """A call named a tenant other than the current one (a row of another tenant); no SQL was
    sent."""


class InvalidTenantName(TenancyError):
    """A schema-per-tenant name is not a safe identifier."""


class UnknownTenant(TenancyError):
    """No schema exists for the tenant named."""


class TenancySchemaError(SchemaError):
    """Tenant-scoped models that break the row-tenancy rules (exit code 2, like SchemaError)."""

    def __init__(self, problems: list[SchemaProblem]) -> None:
        self.problems = problems
        lines = [f"{len(problems)} tenancy problem(s) (tenancy = 'row' in [tool.prisma-tasks]):"]
        lines += [f"  {p}" for p in problems]
        PrismaTasksError.__init__(self, "\n".join(lines))
