"""`invoke db.*`: the local development database, and commands on throwaway databases."""

from __future__ import annotations

from invoke import Context, task

from prisma_tasks.tasks._runner import (
    notice_progress,
    progress,
    quiet_progress,
    reports_errors,
    say,
    settings,
)


def _dev():
    from prisma_tasks.databases.dev_database import DevDatabase
    from prisma_tasks.prisma_cli.runner import datasource_provider

    config = settings()
    return DevDatabase(config, datasource_provider(config.base_path))


@task
@reports_errors
def up(c: Context) -> None:
    """Start the local dev database (created on first use) and print its URL.

    The password is masked; `invoke db.url --show-password` prints it. Example: invoke db.up
    """
    from prisma_tasks.db.urls import mask

    say(f"dev database up: {mask(_dev().up(say))}")


@task
@reports_errors
def down(c: Context) -> None:
    """Stop the local dev database and remove its data; empty the cluster cache.

    Example: invoke db.down
    """
    from prisma_tasks.databases import cluster_cache

    say("dev database removed" if _dev().down() else "no dev database to remove")
    cleared = cluster_cache.clear_everywhere()
    if cleared:
        say(f"cluster cache emptied ({cleared} stopped cluster(s) removed)")


@task(help={"show-password": "print the URL with its password (for your shell, not for logs)"})
@reports_errors
def url(c: Context, show_password: bool = False) -> None:
    """Print the dev database URL (password masked unless --show-password).

    Example: export DATABASE_URL=$(invoke db.url --show-password)
    """
    from invoke.exceptions import Exit

    from prisma_tasks.db.urls import mask

    value = _dev().url()
    if value is None:
        raise Exit("no dev database: run `invoke db.up`", code=1)
    print(value if show_password else mask(value))


@task(
    iterable=["module"],
    help={
        "module": "seed only this module (and the modules it depends on first); repeatable",
        "verify": "seed twice and compare every table; exit 1 naming module and table on change",
        "quiet": "no per-module progress lines",
    },
)
@reports_errors
def seed(
    c: Context, module: list[str] | None = None, verify: bool = False, quiet: bool = False
) -> None:
    """Run the module seeds in dependency order (idempotent; each module in one transaction).

    Example: invoke db.seed --module orders --verify
    """
    from prisma_tasks.commands.workflow import target_url
    from prisma_tasks.seeding import seed_all, verify_seeds

    quiet_progress(quiet)
    config = settings()
    url = target_url(config, say)
    if verify:
        verify_seeds(config, url, progress, module or None)
    else:
        seed_all(config, url, progress, module or None)


@task(help={"force": "allow a database that is neither local nor throwaway"})
@reports_errors
def reset(c: Context, force: bool = False) -> None:
    """Drop the database, re-apply every migration and run the seeds (like prisma.reset).

    Example: invoke db.reset
    """
    from prisma_tasks.commands.workflow import prepare, target_url
    from prisma_tasks.commands.workflow import reset as run_reset

    config = settings()
    run_reset(prepare(config, say), target_url(config, say), force, True, say)


@task(
    help={
        "backend": "postgres or sqlite (default: the one the datasource's provider implies)",
        "workers": "make N databases: the first under DATABASE_URL, each also as DATABASE_URL_<k>",
        "no-seed": "migrations only: do not run the module seeds in the template",
        "keep": "keep the databases afterwards and print their URLs (passwords masked)",
    }
)
@reports_errors
def run(
    c: Context,
    backend: str | None = None,
    workers: int = 1,
    no_seed: bool = False,
    keep: bool = False,
) -> None:
    """Run a command against a throwaway database: migrated, seeded, removed afterwards.

    The command comes after `--` and gets the database under DATABASE_URL and every variable
    the datasource reads; its exit code is passed through. With --workers N, worker k of a JS
    runner (VITEST_POOL_ID / JEST_WORKER_ID) gets DATABASE_URL_<k>.
    Example: invoke db.run -- npx vitest run
    """
    import shlex
    import sys

    from invoke.exceptions import Exit

    from prisma_tasks.commands.run import RunOptions, run_with_databases

    # invoke joins the words after `--` with spaces (c.remainder); this process's own argv
    # keeps them as they were quoted.
    argv = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else shlex.split(c.remainder)
    options = RunOptions(backend=backend, workers=workers, seed=not no_seed, keep=keep)
    # Progress on stderr: the command's stdout stays its own (`db.run -- node x.js > out.json`).
    code = run_with_databases(settings(), argv, options, notice_progress)
    if code != 0:
        raise Exit(code=code)
