"""Schema-per-tenant on PostgreSQL: one schema per tenant, each migrated by `prisma migrate deploy`.

A tenant `acme` lives in the schema `<tenant_schema_prefix>acme` of the target database. Its
migrations are the repository's own Prisma migrations, deployed with `?schema=<schema>` on the
URL, so each tenant schema carries its own `_prisma_migrations` history.

    tenants = TenantSchemas(prisma, url, say)
    tenants.create("acme")                 # CREATE SCHEMA + migrate; removed again on failure
    report = tenants.migrate(jobs=2)       # every tenant; carries on past a failing one
    report.raise_for_failures()            # CheckFailed (exit 1) naming the failed tenants
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field

from prisma_tasks.config import Settings
from prisma_tasks.db.urls import (
    hide_password,
    libpq_url,
    mask,
    with_query_parameter,
)
from prisma_tasks.errors import CheckFailed, ConfigError
from prisma_tasks.prisma_cli.migrations import migration_names
from prisma_tasks.prisma_cli.runner import Prisma
from prisma_tasks.tenancy.errors import TenancyError, UnknownTenant
from prisma_tasks.tenancy.names import check_prefix, schema_for, tenant_of, validate_tenant_name

Say = Callable[[str], None]

_TRACE_LINE = re.compile(r"^\s*\d+: ")


def require_schema_tenancy(settings: Settings) -> None:
    if settings.tenancy != "schema":
        raise ConfigError(
            f"the tenant.* schema tasks need tenancy = 'schema' in [tool.prisma-tasks]; this "
            f"project has tenancy = '{settings.tenancy}'"
            + (" (row-based: see `invoke tenant.rls`)" if settings.tenancy == "row" else "")
        )


def tenant_url(url: str, schema: str) -> str:
    """The URL with Prisma's `schema` parameter set to `schema` (replacing any earlier one);
    the rest of the URL stays as written."""
    return with_query_parameter(url, "schema", schema)


def failure_reason(output: str) -> str:
    """The error lines of a failed Prisma command, without the engine's stack trace."""
    lines = []
    for line in output.splitlines():
        if _TRACE_LINE.match(line):
            break
        text = line.strip()
        if text.startswith("Error:"):
            lines = []  # the error starts here; whatever came before was progress output
            text = text[len("Error:") :].strip()
        if text:
            lines.append(text)
    return " / ".join(lines[-3:]) or "no output"


@dataclass(frozen=True)
class TenantState:
    name: str
    schema: str
    applied: tuple[str, ...]
    failed: tuple[str, ...]
    known: tuple[str, ...]

    @property
    def pending(self) -> tuple[str, ...]:
        return tuple(name for name in self.known if name not in self.applied)

    def describe(self) -> str:
        if self.failed:
            return f"FAILED migration {', '.join(self.failed)}"
        if not self.applied:
            return "not migrated"
        if self.pending:
            return f"{len(self.pending)} pending ({len(self.applied)}/{len(self.known)} applied)"
        return f"up to date ({len(self.applied)} migrations)"


@dataclass(frozen=True)
class Outcome:
    name: str
    ok: bool
    seconds: float
    reason: str = ""
    output: str = ""


@dataclass
class MigrateReport:
    outcomes: list[Outcome] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def failed(self) -> list[Outcome]:
        return sorted((o for o in self.outcomes if not o.ok), key=lambda o: o.name)

    @property
    def migrated(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.ok]

    def summary(self) -> str:
        text = (
            f"migrated {len(self.migrated)} of {len(self.outcomes)} tenant(s) "
            f"in {self.elapsed:.1f}s"
        )
        if self.failed:
            text += f"; failed: {', '.join(o.name for o in self.failed)}"
        return text

    def raise_for_failures(self) -> None:
        if not self.failed:
            return
        listing = "\n".join(f"  {o.name}: {o.reason}" for o in self.failed)
        raise CheckFailed(
            f"{len(self.failed)} of {len(self.outcomes)} tenant(s) failed to migrate:\n{listing}\n"
            "fix the schema of each (see `invoke tenant.list`), then run "
            "`invoke tenant.migrate --name NAME` for it"
        )


class TenantSchemas:
    """The tenant schemas of one PostgreSQL database."""

    def __init__(self, prisma: Prisma, url: str, say: Say | None = None) -> None:
        require_schema_tenancy(prisma.settings)
        if prisma.provider != "postgresql":
            raise ConfigError(
                f"schema-per-tenant needs PostgreSQL; the datasource provider is {prisma.provider}"
            )
        check_prefix(prisma.settings.tenant_schema_prefix)
        self.prisma = prisma
        self.settings = prisma.settings
        self.url = url
        self.say = say or (lambda message: None)

    # -- reading -------------------------------------------------------------------------
    @contextmanager
    def _connect(self) -> Iterator[object]:
        import psycopg

        try:
            connection = psycopg.connect(libpq_url(self.url)[0], autocommit=True)
        except (ValueError, psycopg.Error) as exc:  # ValueError: UnreadableUrl, or not UTF-8
            raise TenancyError(
                f"cannot connect to {mask(self.url)}: {hide_password(str(exc), self.url)}"
            ) from None
        try:
            yield connection
        finally:
            connection.close()

    def schemas(self) -> dict[str, str]:
        """Tenant name -> schema, for every schema that carries the prefix and a valid name."""
        prefix = self.settings.tenant_schema_prefix
        with self._connect() as connection:
            rows = connection.execute(  # type: ignore[attr-defined]
                "SELECT nspname FROM pg_namespace WHERE left(nspname, %s) = %s ORDER BY 1",
                (len(prefix), prefix),
            ).fetchall()
        found = {}
        for (schema,) in rows:
            name = tenant_of(self.settings, schema)
            if name is not None:
                found[name] = schema
        return found

    def names(self) -> list[str]:
        return sorted(self.schemas())

    def exists(self, name: str) -> bool:
        schema = schema_for(self.settings, name)
        with self._connect() as connection:
            row = connection.execute(  # type: ignore[attr-defined]
                "SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)
            ).fetchone()
        return row is not None

    def _require(self, name: str) -> str:
        schema = schema_for(self.settings, name)
        if not self.exists(name):
            raise UnknownTenant(
                f"no tenant '{name}' (schema {schema} does not exist in {mask(self.url)}); "
                f"create it with `invoke tenant.create {name}`"
            )
        return schema

    def states(self) -> list[TenantState]:
        from psycopg import sql

        known = tuple(migration_names(self.prisma))
        states = []
        with self._connect() as connection:
            for name, schema in sorted(self.schemas().items()):
                table = connection.execute(  # type: ignore[attr-defined]
                    "SELECT to_regclass(format('%%I._prisma_migrations', %s::text))", (schema,)
                ).fetchone()[0]
                rows = []
                if table is not None:
                    rows = connection.execute(  # type: ignore[attr-defined]
                        sql.SQL(
                            "SELECT migration_name, finished_at IS NOT NULL, "
                            "rolled_back_at IS NOT NULL FROM {}._prisma_migrations "
                            "ORDER BY started_at"
                        ).format(sql.Identifier(schema))
                    ).fetchall()
                applied = tuple(
                    m for m, finished, rolled_back in rows if finished and not rolled_back
                )
                failed = tuple(
                    m for m, finished, rolled_back in rows if not finished and not rolled_back
                )
                states.append(TenantState(name, schema, applied, failed, known))
        return states

    # -- changing ------------------------------------------------------------------------
    def create(self, name: str, migrate: bool = True) -> Outcome | None:
        """CREATE SCHEMA for a new tenant, then migrate it; on a failed migration the schema
        is dropped again (nothing half-made is left) and CheckFailed is raised."""
        from psycopg import errors, sql

        schema = schema_for(self.settings, name)
        with self._connect() as connection:
            try:
                connection.execute(  # type: ignore[attr-defined]
                    sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema))
                )
            except errors.DuplicateSchema:
                raise TenancyError(
                    f"tenant '{name}' already exists (schema {schema}); "
                    f"`invoke tenant.migrate --name {name}` brings it up to date"
                ) from None
            except errors.Error as exc:
                raise TenancyError(f"cannot create schema {schema}: {exc}") from None
        if not migrate:
            return None
        outcome = self._deploy(name, schema)
        if not outcome.ok:
            self._drop_schema(schema)
            raise CheckFailed(
                f"tenant '{name}': migrations failed, schema {schema} removed again: "
                f"{outcome.reason}\n{outcome.output}".rstrip()
            )
        return outcome

    def drop(self, name: str) -> None:
        """DROP SCHEMA ... CASCADE: the tenant and all its data."""
        self._drop_schema(self._require(name))

    def _drop_schema(self, schema: str) -> None:
        from psycopg import errors, sql

        with self._connect() as connection:
            try:
                connection.execute(  # type: ignore[attr-defined]
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                )
            except errors.Error as exc:
                raise TenancyError(f"cannot drop schema {schema}: {exc}") from None

    def migrate(self, names: list[str] | None = None, jobs: int = 1) -> MigrateReport:
        """Deploy the migrations to the named tenants (all when None), `jobs` at a time.

        A failing tenant is reported and the others carry on; progress is said per tenant as
        `[i/N] tenant NAME ... ok (1.2s)`. The caller decides what failures mean (see
        MigrateReport.raise_for_failures).
        """
        if names is None:
            targets = self.schemas()
        else:
            targets = {name: self._require(validate_tenant_name(name)) for name in names}
        report = MigrateReport()
        if not targets:
            return report
        self.prisma.command("migrate", "deploy")  # writes the wasm config once, before threads
        total = len(targets)
        done = 0
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=max(1, min(jobs, total))) as pool:
            futures = [pool.submit(self._deploy, n, s) for n, s in sorted(targets.items())]
            try:
                for future in as_completed(futures):
                    outcome = future.result()
                    done += 1
                    report.outcomes.append(outcome)
                    line = (
                        f"[{done}/{total}] tenant {outcome.name} ... "
                        f"{'ok' if outcome.ok else 'failed'} ({outcome.seconds:.1f}s)"
                    )
                    self.say(line if outcome.ok else f"{line}: {outcome.reason}")
            except BaseException:  # Ctrl-C: start no further tenant
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        report.elapsed = time.perf_counter() - started
        report.outcomes.sort(key=lambda o: o.name)
        return report

    def _deploy(self, name: str, schema: str) -> Outcome:
        started = time.perf_counter()
        try:
            result = self.prisma.run(
                "migrate",
                "deploy",
                database_url=tenant_url(self.url, schema),
                check=False,
                echo=False,
            )
        except Exception as exc:  # e.g. the CLI could not start: this tenant failed, go on
            return Outcome(name, False, time.perf_counter() - started, mask(str(exc)))
        seconds = time.perf_counter() - started
        output = "\n".join(part for part in (result.stdout, result.stderr) if part.strip())
        if result.returncode == 0:
            return Outcome(name, True, seconds, output=output)
        return Outcome(name, False, seconds, failure_reason(result.stderr or output), output)
