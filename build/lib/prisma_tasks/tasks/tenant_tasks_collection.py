"""`invoke tenant.*`: schema-per-tenant (create, migrate, list, drop) and row-level security.

The schema tasks need tenancy = "schema" and PostgreSQL; `tenant.rls` needs tenancy = "row".
They work on DATABASE_URL, or the local dev database when it is unset.
"""

from __future__ import annotations

import os

from invoke import Context, task

from prisma_tasks.tasks._runner import progress, quiet_progress, reports_errors, say, settings

DEFAULT_JOBS = max(1, min(4, os.cpu_count() or 1))


def _tenants(name: str | None = None):
    """Check the name first (no database is touched for a bad one), then open the tenants."""
    from prisma_tasks.commands.workflow import prepare, target_url
    from prisma_tasks.tenancy.names import validate_tenant_name
    from prisma_tasks.tenancy.schemas import TenantSchemas, require_schema_tenancy

    if name is not None:
        validate_tenant_name(name)
    config = settings()
    require_schema_tenancy(config)
    prisma = prepare(config, say)
    return TenantSchemas(prisma, target_url(config, say), progress)


@task(help={"name": "tenant name: a lower-case letter, then letters, digits or _ (max 41)"})
@reports_errors
def create(c: Context, name: str) -> None:
    """Create a tenant: its schema <tenant_schema_prefix>NAME, with every migration applied.

    A failed migration removes the schema again. Example: invoke tenant.create acme
    """
    tenants = _tenants(name)
    outcome = tenants.create(name)
    assert outcome is not None
    say(
        f"created tenant {name} (schema {tenants.settings.tenant_schema_prefix}{name}) "
        f"in {outcome.seconds:.1f}s"
    )


@task(
    help={
        "name": "the one tenant to migrate (or use --all)",
        "all": "migrate every tenant; carry on past failures, exit 1 listing them",
        "jobs": f"tenants migrated at once with --all (default {DEFAULT_JOBS})",
        "quiet": "no per-tenant progress lines; the summary and failures are still printed",
    },
)
@reports_errors
def migrate(
    c: Context, name: str = "", all: bool = False, jobs: int = DEFAULT_JOBS, quiet: bool = False
) -> None:
    """Apply pending migrations to one tenant's schema, or to every tenant with --all.

    Prints `[i/N] tenant NAME ... ok (1.2s)` per tenant; exit 1 names the tenants that failed.
    Example: invoke tenant.migrate --all   (one tenant: invoke tenant.migrate --name acme)
    """
    from prisma_tasks.errors import PrismaTasksError

    quiet_progress(quiet)
    if bool(name) == all:
        raise PrismaTasksError(
            "name one tenant or pass --all: `invoke tenant.migrate --name acme` or "
            "`invoke tenant.migrate --all`"
        )
    if jobs < 1:
        raise PrismaTasksError(f"--jobs must be 1 or more, not {jobs}")
    tenants = _tenants(name or None)
    report = tenants.migrate([name] if name else None, jobs=jobs)
    if not report.outcomes:
        say("no tenants: create one with `invoke tenant.create NAME`")
        return
    if name and report.failed:
        say(report.failed[0].output)
    say(report.summary())
    report.raise_for_failures()


@task(name="list")
@reports_errors
def list_tenants(c: Context) -> None:
    """List the tenants (schemas with tenant_schema_prefix) and their migration state.

    Example: invoke tenant.list
    """
    tenants = _tenants()
    states = tenants.states()
    if not states:
        say("no tenants: create one with `invoke tenant.create NAME`")
        return
    width = max(len(state.name) for state in states)
    schema_width = max(len(state.schema) for state in states)
    for state in states:
        say(f"{state.name:<{width}}  {state.schema:<{schema_width}}  {state.describe()}")
    say(f"{len(states)} tenant(s)")


@task(
    help={
        "name": "the tenant to drop",
        "force": "allow a database that is neither local nor throwaway",
    }
)
@reports_errors
def drop(c: Context, name: str, force: bool = False) -> None:
    """Drop a tenant: DROP SCHEMA ... CASCADE, all of its data.

    Refuses remote databases unless --force. Example: invoke tenant.drop acme
    """
    from prisma_tasks.commands.workflow import is_disposable
    from prisma_tasks.db.urls import mask
    from prisma_tasks.errors import PrismaTasksError

    tenants = _tenants(name)
    if not force and not is_disposable(tenants.url):
        raise PrismaTasksError(
            f"refusing to drop tenant {name} in {mask(tenants.url)}: the database is neither "
            "local nor throwaway; pass --force if you really mean to delete its data"
        )
    tenants.drop(name)
    say(f"dropped tenant {name}")


@task(help={"output": "write the SQL to this file instead of printing it"})
@reports_errors
def rls(c: Context, output: str = "") -> None:
    """Print PostgreSQL row-level security SQL for the tenant-scoped tables (tenancy = "row").

    One policy per table on current_setting('app.tenant_id'), ENABLE + FORCE; apply it as a
    migration (then `invoke prisma.lock`). Example:
    invoke tenant.rls --output prisma/migrations/20260101000000_row_level_security/migration.sql
    """
    from pathlib import Path

    from prisma_tasks.prisma_cli.runner import datasource_provider
    from prisma_tasks.schema.collect import collect
    from prisma_tasks.tenancy.errors import TenancyError
    from prisma_tasks.tenancy.rls import generate_rls

    config = settings()
    provider = datasource_provider(config.base_path)
    if provider != "postgresql":
        raise TenancyError(f"row-level security needs PostgreSQL; the provider is {provider}")
    sql = generate_rls(config, collect(config, check=False))
    if not output:
        print(sql, end="", flush=True)
        return
    from prisma_tasks.fsutil import write_atomically

    target = Path(output)
    write_atomically(target, sql)
    say(f"wrote row-level security for {sql.count('CREATE POLICY')} table(s) to {output}")
