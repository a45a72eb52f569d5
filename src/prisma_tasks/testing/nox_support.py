"""What the database-backed nox sessions do; the noxfile only names the sessions.

A session provisions one backend for the whole pytest run: it exports DATABASE_URL (an empty
throwaway database) and, for PostgreSQL, the admin URL of the server it started, so the
pytest plugin in that run (and every xdist worker) clones its databases there instead of
starting clusters of its own. Everything is removed when the session ends.

pytest and every process below it carry the session's owner token (owners.USERS_VARIABLE), so
a nox killed on its own does not get its cluster reaped while that pytest still runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prisma_tasks.config import load_settings
from prisma_tasks.databases import owners
from prisma_tasks.databases.provisioner import provisioned

if TYPE_CHECKING:
    import nox

BACKENDS = ["postgres", "sqlite"]


def install_project(session: nox.Session) -> None:
    session.install("-e", ".[test]")


def ensure_prisma(session: nox.Session) -> None:
    from prisma_tasks.prisma_cli.locate import PrismaMissing, install, locate

    settings = load_settings()
    try:
        locate(settings)
    except PrismaMissing:
        session.log("installing the pinned Prisma CLI")
        install(settings)


def run_tests_on_database(session: nox.Session, backend: str, tests: str, report: str) -> None:
    settings = load_settings()
    with provisioned(backend, settings, log=session.log) as databases:
        session.log(f"{backend}: {databases.provider}")
        # with_users: explicit, though nox passes its own environment (which has it) as well.
        env = owners.with_users(
            {"DATABASE_URL": databases.clone(), "PRISMA_TASKS_BACKEND": backend}
        )
        if databases.server is not None:
            env[settings.admin_url_env] = databases.server.admin_url
        session.run(
            "pytest", tests, f"--junitxml=reports/{report}-{backend}.xml", *session.posargs, env=env
        )
