"""`invoke doctor`: what the suite will use, and why, on one screen.

Exit 1 when something it needs is missing, 2 when the configured database (DATABASE_URL, or the
local dev database while it runs) cannot be connected to.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from dataclasses import dataclass, field

from prisma_tasks.config import Settings
from prisma_tasks.errors import DatabaseUnreachable, PrismaTasksError, SchemaError


@dataclass
class Diagnosis:
    lines: list[tuple[str, str, str]] = field(default_factory=list)  # (status, topic, detail)

    def add(self, status: str, topic: str, detail: str) -> None:
        self.lines.append((status, topic, detail))

    def ok(self, topic: str) -> bool:
        return any(t == topic and status == "ok" for status, t, _ in self.lines)

    @property
    def missing(self) -> list[str]:
        return [topic for status, topic, _ in self.lines if status == "MISSING"]

    @property
    def failed(self) -> list[str]:
        """What was tried and failed (a database connection)."""
        return [topic for status, topic, _ in self.lines if status == "FAILED"]

    def render(self) -> str:
        width = max(len(topic) for _, topic, _ in self.lines)
        return "\n".join(
            f"{status:<8}{topic:<{width + 2}}{detail}" for status, topic, detail in self.lines
        )


def _version(command: list[str], search_path: str | None) -> str | None:
    found = shutil.which(command[0], path=search_path)
    if found is None:
        return None
    command = [found, *command[1:]]
    try:
        return (
            subprocess.run(command, capture_output=True, text=True, timeout=20)
            .stdout.strip()
            .splitlines()[0]
        )
    except (OSError, subprocess.SubprocessError, IndexError):
        return None


def diagnose(settings: Settings, environ: dict[str, str] | None = None) -> Diagnosis:
    from prisma_tasks.databases import pg_binaries
    from prisma_tasks.prisma_cli import history_lock
    from prisma_tasks.prisma_cli.config_file import wasm_provider_problem
    from prisma_tasks.prisma_cli.engines import choose
    from prisma_tasks.prisma_cli.locate import PrismaMissing, locate
    from prisma_tasks.prisma_cli.runner import datasource_provider
    from prisma_tasks.schema.collect import collect

    environ = dict(os.environ) if environ is None else environ
    report = Diagnosis()
    report.add("ok", "python", f"{platform.python_version()} ({platform.python_implementation()})")
    node = _version(["node", "--version"], environ.get("PATH"))
    report.add(
        "ok" if node else "MISSING",
        "node",
        node or "not on PATH: install Node.js 20+ (needed by the Prisma CLI)",
    )
    try:
        install = locate(settings)
        owner = install.package_dir
        shown = owner and owner != settings.root and owner.relative_to(settings.root)
        package = f"; package {shown}" if shown else ""
        report.add(
            "ok",
            "prisma",
            f"{install.version or 'unknown version'} ({' '.join(install.command)}{package})",
        )
        engine = choose(settings.engine, install.package_root, environ)
        report.add("ok", "engine", f"{engine.mode}: {engine.reason} (engine = '{settings.engine}')")
    except PrismaMissing as missing:
        report.add("MISSING", "prisma", str(missing))
    except PrismaTasksError as error:
        report.add("MISSING", "engine", str(error))
    try:
        provider = datasource_provider(settings.base_path)
        problem = (
            wasm_provider_problem(provider, settings.base_path)
            if report.ok("engine") and engine.mode == "wasm"
            else None
        )
        if problem:
            report.add("MISSING", "datasource", problem)
        else:
            report.add("ok", "datasource", f"{provider} (from {settings.base_schema})")
    except (OSError, PrismaTasksError) as error:
        provider = None
        report.add("MISSING", "datasource", str(error))
    admin = environ.get(settings.admin_url_env)
    try:
        binaries = pg_binaries.locate(settings, environ)
    except PrismaTasksError as error:
        binaries = None
        report.add("MISSING", "postgres", str(error))
    if binaries is not None and provider != "sqlite":
        # what the dev database and local clusters run on, whether or not a server is set
        report.add("ok", "postgres", binaries.describe())
    if provider == "sqlite":
        report.add("ok", "database", "SQLite files (nothing to install)")
    elif admin and settings.postgres_provider in ("auto", "server"):
        report.add("ok", "database", f"existing server from {settings.admin_url_env}")
    elif binaries and settings.postgres_provider in ("auto", "local"):
        report.add("ok", "database", "local PostgreSQL clusters (binaries above)")
    else:
        hint = pg_binaries.missing_for_tests(settings.admin_url_env, settings)
        report.add("MISSING", "database", hint)
    report.add("ok", "config", _config_summary(settings))
    try:
        result = collect(settings, check=True)
        report.add(
            "ok",
            "modules",
            f"{len(result.modules)} modules, {len(result.sources)} schema files; "
            "collection current",
        )
    except PrismaTasksError as error:
        first = (
            str(error.problems[0]) if isinstance(error, SchemaError) else str(error).splitlines()[0]
        )
        status = "stale" if error.exit_code == 1 else "MISSING"
        report.add(status, "modules", first)
    new = history_lock.unlocked(settings.migrations_path)
    migrations_count = len(history_lock.on_disk(settings.migrations_path))
    report.add(
        "ok" if not new else "pending",
        "migrations",
        f"{migrations_count} in {settings.migrations_path.relative_to(settings.root)}"
        + (f"; not yet in migrations.lock: {', '.join(new)}" if new else "; all locked"),
    )
    url = _configured_database(settings, provider, environ) if provider else None
    connected = url is not None and _connects(settings, url, report)
    if connected and report.ok("prisma") and report.ok("engine"):
        try:
            report.add(*_applied_state(settings, environ, url))
        except DatabaseUnreachable as error:
            report.add("FAILED", "connection", str(error))
        except PrismaTasksError as error:
            report.add("MISSING", "database", str(error).splitlines()[0])
    return report


def _configured_database(settings: Settings, provider: str, environ: dict[str, str]) -> str | None:
    """DATABASE_URL, or the local dev database while it runs (doctor starts nothing)."""
    if environ.get("DATABASE_URL"):
        from prisma_tasks.db.urls import absolute_sqlite_url

        return absolute_sqlite_url(environ["DATABASE_URL"], settings.schema_folder)
    from prisma_tasks.databases.dev_database import DevDatabase

    dev = DevDatabase(settings, provider)
    return dev.url() if dev.is_running() else None


def _connects(settings: Settings, url: str, report: Diagnosis) -> bool:
    """Connect to the database the tasks will use; a failure is FAILED (exit 2)."""
    from prisma_tasks.db.connection import Connection
    from prisma_tasks.db.urls import mask

    try:
        connection = Connection.open_existing(url, settings.root)
    except DatabaseUnreachable as error:
        report.add("FAILED", "connection", str(error))
        return False
    if connection is None:
        if url.startswith("file:"):
            report.add("pending", "connection", f"{mask(url)}: created by `invoke prisma.migrate`")
            return True
        missing = DatabaseUnreachable(mask(url), "the database does not exist")
        report.add("FAILED", "connection", str(missing))
        return False
    connection.close()
    report.add("ok", "connection", f"{mask(url)}: connected")
    return True


def _applied_state(settings: Settings, environ: dict[str, str], url: str) -> tuple[str, str, str]:
    from prisma_tasks.db.urls import mask
    from prisma_tasks.prisma_cli.runner import Prisma

    prisma = Prisma.for_settings(settings, environ)
    result = prisma.run("migrate", "status", database_url=url, check=False, echo=False)
    if result.returncode == 0:
        return "ok", "database", f"{mask(url)}: every migration applied"
    return "pending", "database", f"{mask(url)}: pending or failed migrations"


def _config_summary(settings: Settings) -> str:
    where = (
        str(settings.source.relative_to(settings.root))
        if settings.source
        else "defaults (no pyproject.toml)"
    )
    return (
        f"{where}: module_schemas={list(settings.module_schemas)}, link_mode={settings.link_mode}, "
        f"engine={settings.engine}, tenancy={settings.tenancy}"
    )
