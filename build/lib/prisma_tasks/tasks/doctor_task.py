"""`invoke doctor`."""

from __future__ import annotations

from invoke import Context, task
from invoke.exceptions import Exit

from prisma_tasks.tasks._runner import reports_errors, say, settings


@task
@reports_errors
def doctor(c: Context) -> None:
    """Say what the suite will use and why: versions, engine, database, config, modules.

    Exits 1 when something it needs is missing. Example: invoke doctor
    """
    from prisma_tasks.commands.doctor import diagnose

    report = diagnose(settings())
    say(report.render())
    if report.missing:
        raise Exit(f"missing: {', '.join(report.missing)}", code=1)
