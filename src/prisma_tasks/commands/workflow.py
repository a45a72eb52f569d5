"""What the `prisma.*` and `db.*` tasks do, as plain functions (the tasks only parse options)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from prisma_tasks.config import Settings
from prisma_tasks.db.urls import absolute_sqlite_url, is_provably_local, mask
from prisma_tasks.errors import CheckFailed, PrismaTasksError
from prisma_tasks.fsutil import held_exclusively
from prisma_tasks.prisma_cli import migrations
from prisma_tasks.prisma_cli.runner import Prisma, Started, datasource_provider
from prisma_tasks.schema.collect import collect

Say = Callable[[str], None]
# Asks the person at the terminal a yes/no question; None where nobody can answer (CI).
Confirm = Callable[[str], bool]


def prepare(settings: Settings, say: Say, environ: dict[str, str] | None = None) -> Prisma:
    """Collect first (every Prisma task does), then find the CLI and say which engine.

    With tenancy = "row" the tenant-scoped models are checked too (tenantId and an index led
    by it); a problem stops the task with exit 2 before Prisma runs.
    """
    result = collect(settings)
    say(result.summary())
    if settings.tenancy == "row":
        from prisma_tasks.tenancy.errors import TenancySchemaError
        from prisma_tasks.tenancy.schema_check import tenancy_problems

        problems = tenancy_problems(settings, result)
        if problems:
            raise TenancySchemaError(problems)
    prisma = Prisma.for_settings(settings, environ)
    prisma.collected = result
    say(prisma.describe())
    return prisma


def target_url(settings: Settings, say: Say, environ: dict[str, str] | None = None) -> str:
    """DATABASE_URL, or the local dev database, started on demand."""
    environ = dict(os.environ) if environ is None else environ
    provider = datasource_provider(settings.base_path)
    url = environ.get("DATABASE_URL", "")
    if url:
        if (provider == "sqlite") != url.startswith("file:"):
            raise PrismaTasksError(
                f"DATABASE_URL {mask(url)} does not fit the datasource provider '{provider}' "
                f"in {settings.base_schema}"
            )
        return absolute_sqlite_url(url, settings.schema_folder)
    from prisma_tasks.databases.dev_database import DevDatabase

    url = DevDatabase(settings, provider).up(say)
    say(f"DATABASE_URL is not set: using the local dev database {mask(url)}")
    return url


def migrate(
    prisma: Prisma,
    url: str,
    name: str | None,
    create_only: bool,
    say: Say,
    *,
    accept_data_loss: bool = False,
    confirm: Confirm | None = None,
) -> None:
    """One `prisma.migrate` at a time per repository: a second one waits, then sees the first's
    migration and writes none of its own.

    A new migration that would lose data in the database at `url` is listed before anything is
    written; it is applied only with `accept_data_loss`, or when `confirm` (the terminal) says
    yes. Without a terminal it is refused (exit 2), as native `prisma migrate dev` refuses.
    """
    lock = prisma.settings.state_path / "migrate.lock"
    with held_exclusively(lock, "`invoke prisma.migrate`", say):
        _migrate(prisma, url, name, create_only, say, accept_data_loss, confirm)


def _migrate(
    prisma: Prisma,
    url: str,
    name: str | None,
    create_only: bool,
    say: Say,
    accept_data_loss: bool,
    confirm: Confirm | None,
) -> None:
    from prisma_tasks.databases.provisioner import terminate_as_interrupt
    from prisma_tasks.prisma_cli import shortcuts

    known_clean = shortcuts.known_clean(prisma)
    with (
        terminate_as_interrupt(),
        HeldSteps(prisma, url, ahead=not known_clean and not create_only) as held,
    ):
        if known_clean:
            change = migrations.PendingChange("")
            # No diff, so no sweep with it: what killed runs left beside the target still goes.
            migrations.reap_shadows(prisma, url)
        else:
            change = migrations.pending_change(prisma, url)
        if change.empty:
            shortcuts.remember_clean(prisma)
            say("schema matches the migration history: no new migration")
        else:
            from prisma_tasks.prisma_cli import history_lock

            history_lock.check_or_raise(prisma.settings.migrations_path)
            losses = data_loss(prisma, url, change.sql)
            if losses:
                _confirm_data_loss(losses, url, create_only, accept_data_loss, confirm, say)
            folder = migrations.write_migration(prisma, name or "migration", change.sql)
            say(f"created {folder.relative_to(prisma.settings.root)}/migration.sql")
            history_lock.record_new(prisma.settings.migrations_path)
        if create_only:
            return
        if shortcuts.everything_applied(prisma, url):
            say("every migration is applied: nothing to deploy")
        else:
            held.deploy()
        if migrations.generate(prisma, held=held.take_generate()):
            say("generated the client")
        else:
            say("client is current: generate skipped")


class HeldSteps:
    """Wasm mode, when `prisma.migrate` will likely write a migration: `migrate deploy` and
    (when the client is stale) `generate` are started beside the diff and held until their
    turn (deploy before it connects, generate before it writes), so their Node starts and the
    client's generation overlap the diff. Whatever is not released by the end is stopped: no
    step runs out of turn (generate only after a successful deploy), none is left running."""

    def __init__(self, prisma: Prisma, url: str, ahead: bool) -> None:
        self.prisma, self.url = prisma, url
        self.held_deploy: Started | None = None
        self.held_generate: Started | None = None
        if ahead and prisma.engine.mode == "wasm":
            self.held_deploy = migrations.start_held_deploy(prisma, url)
            if migrations.generate_wanted(prisma):
                self.held_generate = migrations.start_held_generate(prisma)

    def deploy(self) -> None:
        held, self.held_deploy = self.held_deploy, None
        if held is None:
            self.prisma.run("migrate", "deploy", database_url=self.url)
            return
        held.send("go")
        held.finish()

    def take_generate(self) -> Started | None:
        held, self.held_generate = self.held_generate, None
        return held

    def __enter__(self) -> HeldSteps:
        return self

    def __exit__(self, *exc: object) -> None:
        for held in (self.held_deploy, self.held_generate):
            if held is not None:
                held.stop()


def data_loss(prisma: Prisma, url: str, sql: str) -> list[str]:
    """What the new migration `sql` would lose in the database at `url`, one line each.

    The destructive-change lint names the statements; the database supplies what the SQL alone
    cannot show, the columns a SQLite table rebuild leaves out. Connecting first also means a
    database that cannot be reached stops `prisma.migrate` before a migration is written.
    """
    from prisma_tasks.db.connection import Connection
    from prisma_tasks.prisma_cli.destructive_lint import lint_sql

    connection = Connection.open_existing(url, prisma.settings.root)
    try:
        columns = connection.columns if connection is not None else None
        findings = lint_sql(sql, "migration.sql", columns_before=columns)
    finally:
        if connection is not None:
            connection.close()
    return [f"line {finding.line}: {finding.problem}" for finding in findings]


def _confirm_data_loss(
    losses: list[str],
    url: str,
    create_only: bool,
    accept_data_loss: bool,
    confirm: Confirm | None,
    say: Say,
) -> None:
    listing = "\n".join(f"  {loss}" for loss in losses)
    where = f"the new migration would lose data in {mask(url)}:\n{listing}"
    if create_only:
        say(f"{where}\nreview it before you apply it (nothing is applied with --create-only)")
        return
    if accept_data_loss:
        say(f"{where}\napplying it: --accept-data-loss")
        return
    if confirm is None:
        raise PrismaTasksError(
            f"{where}\nnothing was written or applied: no terminal to confirm it. Review it with "
            "`invoke prisma.migrate --create-only`, or pass --accept-data-loss to apply it"
        )
    say(where)
    if not confirm("create and apply this migration?"):
        raise PrismaTasksError(
            "nothing was written or applied; `invoke prisma.migrate --create-only` writes the "
            "migration for review without applying it"
        )


def diff(prisma: Prisma, url: str, say: Say) -> None:
    change = migrations.pending_change(prisma, url)
    if change.empty:
        say("no drift: the migration history produces exactly the collected schema")
        return
    raise CheckFailed(
        "drift: the collected schema differs from what the migration history produces.\n"
        "SQL that would bring the history up to the schema:\n\n"
        f"{change.sql.strip()}\n\nrun `invoke prisma.migrate --name <what-changed>` to record it"
    )


def status(prisma: Prisma, url: str) -> None:
    """Exit 1 when migrations are pending or failed; a database that cannot be reached raises
    DatabaseUnreachable (exit 2) from `prisma.run`, whatever Prisma's own exit code."""
    result = prisma.run("migrate", "status", database_url=url, check=False)
    if result.returncode != 0:
        raise CheckFailed("migrations are pending or failed (see above)")


def is_disposable(url: str, environ: Mapping[str, str] | None = None) -> bool:
    """Local or throwaway: a SQLite file, or PostgreSQL whose every reachable host is a loopback
    address or a Unix socket (see databases.urls.is_provably_local). Decided from the URL and
    the environment alone, before anything connects.

    A loopback address can also be a tunnel (ssh -L, kubectl port-forward) to a real server;
    the guard cannot tell, so the README says to keep such tunnels off DATABASE_URL.
    """
    return is_provably_local(url, environ)


def reset(prisma: Prisma, url: str, force: bool, seed: bool, say: Say) -> None:
    if not force and not is_disposable(url):
        raise PrismaTasksError(
            f"refusing to reset {mask(url)}: it is neither local nor throwaway; "
            "pass --force if you really mean to drop all its data"
        )
    from prisma_tasks.seeding import plan_seeds, run_seeds

    # Planned first: a seed dependency cycle is reported before anything is dropped.
    plan = plan_seeds(prisma.settings) if seed else None
    migrations.reset(prisma, url)
    say(f"reset {mask(url)}: every migration re-applied")
    if plan is not None:
        run_seeds(prisma.settings, url, say, plan)
