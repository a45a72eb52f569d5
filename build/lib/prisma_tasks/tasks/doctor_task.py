"""`invoke doctor`."""

from __future__ import annotations

from invoke import Context, task
from invoke.exceptions import Exit

from prisma_tasks.tasks._runner import reports_errors, say, settings


@task
@reports_errors
def doctor(c: Context) -> None:
    """Say what the suite will use and why: versions, engine, database, config, modules.

    Connects to the configured database (DATABASE_URL, or the dev database while it runs).
    Exits 1 when something it needs is missing, 2 when that database cannot be connected to.
    Example: invoke doctor
    """
    from prisma_tasks.commands.doctor import diagnose

    report = diagnose(settings())
    say(report.render())
    if report.failed:
        raise Exit("error: the database connection failed (see FAILED above)", code=2)
    if report.missing:
        raise Exit(f"missing: {', '.join(report.missing)}", code=1)
