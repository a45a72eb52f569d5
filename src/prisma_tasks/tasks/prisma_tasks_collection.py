"""`invoke prisma.*`: collect module schemas and drive the Prisma CLI."""

from __future__ import annotations

from invoke import Context, task

from prisma_tasks.tasks._runner import (
    notice,
    progress,
    quiet_progress,
    reports_errors,
    say,
    settings,
    terminal_confirm,
)


@task(
    help={
        "check": "write nothing; exit 1 and list the differences when prisma/schemas is stale",
        "copy": "write copies instead of relative symlinks",
    }
)
@reports_errors
def collect(c: Context, check: bool = False, copy: bool = False) -> None:
    """Collect module schemas into prisma/schemas (validated, incremental, atomic).

    Example: invoke prisma.collect --check
    """
    from prisma_tasks.schema.collect import (
        collect as run_collect,  # not via workflow: keep start-up light
    )

    result = run_collect(settings(), check=check, mode="copy" if copy else None)
    for message in result.notices:
        notice(message)
    say(result.summary())


@task(help={"quiet": "no progress line of ours (npm prints its own output)"})
@reports_errors
def install(c: Context, quiet: bool = False) -> None:
    """Install the Prisma CLI pinned in package.json with the repo's package manager.

    Example: invoke prisma.install
    """
    import time

    from prisma_tasks.prisma_cli.locate import install as run_install

    quiet_progress(quiet)
    started = time.perf_counter()
    progress("installing the pinned Prisma CLI and adapters (the package manager's output follows)")
    manager, command = run_install(settings())
    say(f"installed with {manager.describe(command)} in {time.perf_counter() - started:.1f}s")


@task
@reports_errors
def validate(c: Context) -> None:
    """Collect, then validate the merged schema with Prisma.

    Example: invoke prisma.validate
    """
    from prisma_tasks.commands.workflow import prepare

    prepare(settings(), say).run("validate")


@task(help={"check": "write nothing; exit 1 when a schema file is not formatted"})
@reports_errors
def format(c: Context, check: bool = False) -> None:
    """Collect, then format the schema files with Prisma (module files, through the links).

    Example: invoke prisma.format --check
    """
    from prisma_tasks.commands.workflow import prepare
    from prisma_tasks.errors import CheckFailed

    prisma = prepare(settings(), say)
    if prisma.collected is not None and prisma.collected.mode == "copy":
        from prisma_tasks.errors import PrismaTasksError

        raise PrismaTasksError(
            "prisma format rewrites the files it is given; in copy mode those are the copies "
            "in prisma/schemas, which the next collect overwrites: format the module files "
            "with symlinks (link_mode = 'symlink'), or run `prisma format` on them directly"
        )
    if not check:
        prisma.run("format")
        return
    if prisma.run("format", "--check", check=False).returncode != 0:
        raise CheckFailed("schema files are not formatted: run `invoke prisma.format`")


@task(
    help={
        "name": "name of the new migration (default: migration)",
        "create-only": "write the migration file but do not apply it (to review or edit it)",
        "accept-data-loss": "apply a new migration that drops tables or columns (or otherwise "
        "loses data) without asking; without it a terminal asks, and CI refuses with exit 2",
    }
)
@reports_errors
def migrate(
    c: Context, name: str = "", create_only: bool = False, accept_data_loss: bool = False
) -> None:
    """Create a migration when the schema changed, apply it, regenerate the client.

    Uses DATABASE_URL, or the local dev database (started on demand) when it is unset. A new
    migration that would lose data is listed first and needs a yes at the terminal (or
    --accept-data-loss). Example: invoke prisma.migrate --name add_invoices
    """
    from prisma_tasks.commands.workflow import migrate as run_migrate
    from prisma_tasks.commands.workflow import prepare, target_url

    config = settings()
    prisma = prepare(config, say)
    run_migrate(
        prisma,
        target_url(config, say),
        name or None,
        create_only,
        say,
        accept_data_loss=accept_data_loss,
        confirm=terminal_confirm(),
    )


@task
@reports_errors
def deploy(c: Context) -> None:
    """Apply pending migrations (CI, production); never creates one.

    Example: DATABASE_URL=postgresql://... invoke prisma.deploy
    """
    from prisma_tasks.commands.workflow import prepare, target_url

    config = settings()
    prepare(config, say).run("migrate", "deploy", database_url=target_url(config, say))


@task(help={"force": "run even when the inputs are unchanged since the last generate"})
@reports_errors
def generate(c: Context, force: bool = False) -> None:
    """Generate the Prisma client; skipped when schema, generator and version are unchanged.

    Example: invoke prisma.generate --force
    """
    from prisma_tasks.commands.workflow import prepare
    from prisma_tasks.prisma_cli import migrations

    if migrations.generate(prepare(settings(), say), force=force):
        say("generated the client")
    else:
        notice("client is current (schema, generator and Prisma version unchanged): skipped")


@task
@reports_errors
def status(c: Context) -> None:
    """Show applied, pending and failed migrations; exit 1 unless up to date.

    Exit 2 when the database cannot be connected to. Example: invoke prisma.status
    """
    from prisma_tasks.commands.workflow import prepare, target_url
    from prisma_tasks.commands.workflow import status as run_status

    config = settings()
    run_status(prepare(config, say), target_url(config, say))


@task
@reports_errors
def diff(c: Context) -> None:
    """Drift gate: exit 1 and show the SQL when migrations and schema disagree.

    Example: invoke prisma.diff
    """
    from prisma_tasks.commands.workflow import diff as run_diff
    from prisma_tasks.commands.workflow import prepare, target_url

    config = settings()
    run_diff(prepare(config, say), target_url(config, say), say)


@task(
    help={
        "no-seed": "do not run the module seeds afterwards",
        "force": "allow a database that is neither local nor throwaway",
    }
)
@reports_errors
def reset(c: Context, no_seed: bool = False, force: bool = False) -> None:
    """Drop the database, re-apply every migration, seed.

    Refuses remote databases unless --force. Example: invoke prisma.reset --no-seed
    """
    from prisma_tasks.commands.workflow import prepare, target_url
    from prisma_tasks.commands.workflow import reset as run_reset

    config = settings()
    run_reset(prepare(config, say), target_url(config, say), force, not no_seed, say)


@task(
    help={
        "relock": "re-record this edited migration (only one not yet on the default branch, "
        "e.g. after adding an allow-destructive marker)"
    }
)
@reports_errors
def lock(c: Context, relock: str = "") -> None:
    """Record new migrations in prisma/migrations/migrations.lock (prisma.migrate does this).

    Refuses while a locked migration was edited, deleted, renamed or reordered.
    Example: invoke prisma.lock   or   invoke prisma.lock --relock 20260101120000_drop_note
    """
    from prisma_tasks.prisma_cli.history_lock import record_new
    from prisma_tasks.prisma_cli.history_lock import relock as run_relock

    config = settings()
    if relock:
        from prisma_tasks.commands.gate import migrations_on_default_branch

        merged, how = migrations_on_default_branch(config, config.default_branch)
        say(f"relocked {run_relock(config.migrations_path, relock, merged, how)}")
        return
    new = record_new(config.migrations_path)
    say(f"locked {len(new)} new migration(s)" + (f": {', '.join(new)}" if new else ""))


@task
@reports_errors
def check(c: Context) -> None:
    """The pull-request gate: collection, format, drift, migration integrity, destructive lint.

    Runs every check, explains each failure, exits 1 if any failed.
    Example: invoke prisma.check
    """
    from prisma_tasks.commands.gate import run_gate

    run_gate(settings(), say)
    say("prisma.check passed")


@task(
    help={
        "output": "also write a picture or source: .svg/.png (needs Graphviz), .mmd or .dot",
        "mermaid": "print the Mermaid diagram instead of text",
    }
)
@reports_errors
def graph(c: Context, output: str = "", mermaid: bool = False) -> None:
    """Show which module owns which models and which relations cross modules (cycles marked).

    Example: invoke prisma.graph --mermaid   or   invoke prisma.graph --output graph.svg
    """
    from pathlib import Path

    from prisma_tasks.schema.collect import collect as run_collect
    from prisma_tasks.schema.graph import ModuleGraph, render

    config = settings()
    module_graph = ModuleGraph.from_collect(run_collect(config), config.seed_dependencies)
    say(module_graph.as_mermaid() if mermaid else module_graph.as_text())
    if output:
        say(f"wrote {render(module_graph, Path(output))}")


@task(help={"no-generate": "only collect and validate on each change"})
@reports_errors
def watch(c: Context, no_generate: bool = False) -> None:
    """Re-collect, validate and regenerate the client whenever a module schema changes.

    Errors are printed and watching goes on; Ctrl-C stops. Example: invoke prisma.watch
    """
    from prisma_tasks.commands.watch import watch as run_watch

    run_watch(settings(), say, generate=not no_generate)


@task(
    help={
        "modules": "where module schemas live (a glob; default modules/*/schema/**/*.prisma)",
    }
)
@reports_errors
def init(c: Context, modules: str = "modules/*/schema/**/*.prisma") -> None:
    """Set prisma-tasks up here: tasks.py, noxfile.py, [tool.prisma-tasks], .gitignore.

    Run it at the repository root (beside package.json). Never overwrites an existing file;
    lists what is left to do by hand (npm packages, the generator's preview feature). Needs no
    tasks.py: run it as `prisma-tasks prisma.init`.
    Example: prisma-tasks prisma.init
    """
    from pathlib import Path

    from prisma_tasks.commands.init import init as run_init

    run_init(Path.cwd(), modules, say)
