"""The Prisma tasks end to end: real CLI (wasm engine), real PostgreSQL and SQLite."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from prisma_tasks.db.urls import sqlite_path

from .conftest import Monorepo, make_monorepo

pytestmark = pytest.mark.e2e


def row_count(repo: Monorepo, backend: str, table: str) -> int:
    if backend == "sqlite":
        with sqlite3.connect(sqlite_path(repo.database_url, repo.root)) as connection:
            return connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    import psycopg

    with psycopg.connect(repo.database_url) as connection:
        return connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]


def execute(repo: Monorepo, backend: str, statement: str) -> None:
    if backend == "sqlite":
        with sqlite3.connect(sqlite_path(repo.database_url, repo.root)) as connection:
            connection.execute(statement)
        return
    import psycopg

    with psycopg.connect(repo.database_url, autocommit=True) as connection:
        connection.execute(statement)


def workflow(repo: Monorepo, backend: str) -> None:
    # First migrate: creates and applies the first migration, then generates the client.
    out = repo.ok("prisma.migrate", "--name", "init")
    assert "wasm engine" in out
    (first,) = repo.migrations()
    assert first.endswith("_init")
    sql = (repo.root / "prisma/migrations" / first / "migration.sql").read_text()
    assert 'CREATE TABLE "User"' in sql and 'CREATE TABLE "Order"' in sql
    assert (repo.root / "generated/client/index.js").exists()
    assert row_count(repo, backend, "User") == 0

    # Nothing changed: no migration, generate skipped, status and diff clean.
    out = repo.ok("prisma.migrate")
    assert "no new migration" in out and "generate skipped" in out
    assert repo.migrations() == [first]
    assert "up to date" in repo.ok("prisma.status")
    assert "no drift" in repo.ok("prisma.diff")
    assert "skipped" in repo.ok("prisma.generate")

    # A module changes its schema: diff is the drift gate (exit 1, shows SQL) ...
    repo.write(
        "modules/orders/schema/models.prisma",
        (repo.root / "modules/orders/schema/models.prisma")
        .read_text()
        .replace("  customerId Int\n", "  customerId Int\n  note       String?\n"),
    )
    drift = repo.invoke("prisma.diff")
    assert drift.returncode == 1, drift.stdout + drift.stderr
    assert "note" in drift.stderr and "drift" in drift.stderr

    # ... until migrate records it as a second migration and applies it.
    repo.ok("prisma.migrate", "--name", "order note")
    first_again, second = repo.migrations()
    assert first_again == first and second.endswith("_order_note")
    assert "no drift" in repo.ok("prisma.diff")
    execute(repo, backend, "INSERT INTO \"User\" (email, role) VALUES ('a@example.com', 'ADMIN')")
    execute(repo, backend, 'INSERT INTO "Order" ("customerId", note) VALUES (1, \'hi\')')
    assert "generated the client" in repo.ok("prisma.generate", "--force")

    # --create-only leaves a pending migration: status exits 1, deploy applies it.
    repo.write(
        "modules/identity/schema/extra.prisma",
        "model Audit {\n  id Int @id @default(autoincrement())\n}\n",
    )
    repo.ok("prisma.migrate", "--name", "audit", "--create-only")
    assert len(repo.migrations()) == 3
    pending = repo.invoke("prisma.status")
    assert pending.returncode == 1, pending.stdout + pending.stderr
    repo.ok("prisma.deploy")
    assert repo.invoke("prisma.status").returncode == 0

    # reset drops the data and re-applies every migration.
    assert row_count(repo, backend, "Order") == 1
    repo.ok("prisma.reset", "--no-seed")
    assert row_count(repo, backend, "Order") == 0 and row_count(repo, backend, "Audit") == 0


@pytest.mark.backend("postgres")
def test_workflow_on_postgres(tmp_path: Path, prisma_tasks_provisioner) -> None:
    url = prisma_tasks_provisioner.clone()
    workflow(make_monorepo(tmp_path / "repo", "postgres", url), "postgres")


@pytest.mark.backend("sqlite")
def test_workflow_on_sqlite(tmp_path: Path, prisma_tasks_provisioner) -> None:
    url = prisma_tasks_provisioner.clone()
    workflow(make_monorepo(tmp_path / "repo", "sqlite", url), "sqlite")


def test_reset_refuses_a_remote_database_and_never_prints_its_password(tmp_path: Path) -> None:
    repo = make_monorepo(
        tmp_path / "repo", "postgres", "postgresql://app:s3cr3t-pw@db.example.invalid:5432/prod"
    )
    result = repo.invoke("prisma.reset")
    assert result.returncode == 2
    assert "refusing to reset" in result.stderr and "--force" in result.stderr
    assert "s3cr3t-pw" not in result.stdout + result.stderr


def test_copy_mode_errors_point_at_the_module_file(tmp_path: Path) -> None:
    repo = make_monorepo(tmp_path / "repo", "postgres", "", pyproject_extra="link_mode = 'copy'\n")
    repo.write("modules/orders/schema/models.prisma", ORDERS_WITH_TYPO)
    result = repo.invoke("prisma.validate", env={"DATABASE_URL": ""})
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "modules/orders/schema/models.prisma:4" in output
    assert "prisma/schemas/" not in output


ORDERS_WITH_TYPO = """model Order {
  id         Int  @id @default(autoincrement())
  customerId Int
  customer   Usr  @relation(fields: [customerId], references: [id])
}
"""


@pytest.mark.backend("postgres")
def test_the_database_url_in_dot_env_is_the_one_migrated(
    tmp_path: Path, prisma_tasks_provisioner
) -> None:
    url = prisma_tasks_provisioner.clone()
    repo = make_monorepo(tmp_path / "repo", "postgres", url)
    password = url.split("//", 1)[1].split("@", 1)[0].partition(":")[2]
    repo.write(".env", f'# as Prisma teams keep it\nDATABASE_URL="{url}"\n')
    result = repo.invoke("prisma.migrate", "--name", "init", env={"DATABASE_URL": ""})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "environment variables loaded from .env: DATABASE_URL" in output
    assert "local dev database" not in output
    assert not password or password not in output
    assert row_count(repo, "postgres", "User") == 0  # the tables exist in the .env database
    assert "up to date" in repo.invoke("prisma.status", env={"DATABASE_URL": ""}).stdout
