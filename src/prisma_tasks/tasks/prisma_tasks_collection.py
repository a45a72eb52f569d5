"""`invoke prisma.*`: collect module schemas and drive the Prisma CLI."""

from __future__ import annotations

from invoke import Context, task

from ._runner import notice, reports_errors, say, settings


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
    from ..collector import collect as run_collect

    result = run_collect(settings(), check=check, mode="copy" if copy else None)
    for message in result.notices:
        notice(message)
    say(result.summary())
