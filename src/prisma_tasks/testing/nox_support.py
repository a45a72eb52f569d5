"""nox helpers, public: what a monorepo's noxfile calls (see the README's adoption section).

    from prisma_tasks.testing import nox_support

    @nox.session
    def js(session):
        nox_support.install(session)
        nox_support.run_on_database(session, "npx", "vitest", "run")

`install` puts prisma-tasks (the same one nox runs with) and the pinned Prisma CLI into the
session; `run_on_database` runs any command through `invoke db.run`: a throwaway database
migrated and seeded from the repository's history, its URL under every variable the
datasource reads, removed afterwards. A pytest run inside it (the plugin) clones its own
databases from the same server.

`install_project` and `run_tests_on_database` are this repository's own sessions.

pytest and every process below it carry the session's owner token (owners.USERS_VARIABLE), so
a nox killed on its own does not get its cluster reaped while that pytest still runs.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

from prisma_tasks.config import Settings, load_settings
from prisma_tasks.databases import owners
from prisma_tasks.databases.provisioner import provisioned
from prisma_tasks.errors import ConfigError
from prisma_tasks.prisma_client.preload import client_environment

if TYPE_CHECKING:
    import nox


def install(session: nox.Session, *packages: str) -> None:
    """prisma-tasks as nox itself has it (same version or source), `packages`, the Prisma CLI."""
    session.install(*_prisma_tasks_requirement(), *packages)
    ensure_prisma(session)


def run_on_database(
    session: nox.Session,
    *command: str,
    backend: str | None = None,
    workers: int = 1,
    seed: bool = True,
) -> None:
    """Run `command` in the session on throwaway databases (`invoke db.run`)."""
    options = ["--workers", str(workers)]
    if backend:
        options += ["--backend", backend]
    if not seed:
        options.append("--no-seed")
    session.run("prisma-tasks", "db.run", *options, "--", *command)


def _prisma_tasks_requirement() -> list[str]:
    """How to install the prisma-tasks that is running: its source folder when installed from
    one (editable or not), else the same version from the package index."""
    from importlib import metadata
    from urllib.parse import unquote, urlsplit

    distribution = metadata.distribution("prisma-tasks")
    direct = distribution.read_text("direct_url.json")
    if direct:
        info = json.loads(direct)
        url = info.get("url", "")
        if url.startswith("file://"):
            path = unquote(urlsplit(url).path)
            return ["-e", path] if info.get("dir_info", {}).get("editable") else [path]
        vcs = info.get("vcs_info")
        if vcs:  # pip's own spelling of a VCS requirement, at the commit that is installed
            return [f"{vcs['vcs']}+{url}@{vcs['commit_id']}"]
        return [url]
    return [f"prisma-tasks=={distribution.version}"]


def install_project(session: nox.Session) -> None:
    """This repository: the package from its own source, with the test extras."""
    session.install("-e", ".[test]")


def ensure_prisma(session: nox.Session) -> None:
    from prisma_tasks.prisma_cli.locate import PrismaMissing, install, locate

    settings = load_settings()
    try:
        locate(settings)
    except PrismaMissing:
        session.log("installing the pinned Prisma CLI")
        manager, command = install(settings)
        session.log(f"installed with {manager.describe(command)}")


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
        # Node processes the tests start can use the Prisma Client in wasm mode too
        env.update(client_environment(_engine_mode(settings), dict(os.environ)))
        session.run(
            "pytest", tests, f"--junitxml=reports/{report}-{backend}.xml", *session.posargs, env=env
        )


def _engine_mode(settings: Settings) -> str:
    from prisma_tasks.prisma_cli.engines import choose
    from prisma_tasks.prisma_cli.locate import PrismaMissing, locate

    try:
        install = locate(settings)
        return choose(settings.engine, install.package_root, dict(os.environ)).mode
    except (PrismaMissing, ConfigError):
        return "native"  # no CLI, or engines configured wrongly: the tests will say so
