"""How many times `prisma.check` and `prisma.migrate` start the Prisma CLI (wasm mode), and
that the steps started ahead of their turn never run out of it nor outlive the task.

The gate does its format check inside the drift diff's Node process: one start. A migrate with
a change starts `migrate deploy` and `generate` beside the diff, held until their turn.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from prisma_tasks.db.urls import sqlite_path

from .conftest import Monorepo, make_monorepo
from .prisma_starts import PrismaStarts, counting_node

pytestmark = [pytest.mark.e2e]

ORDERS = "modules/orders/schema/models.prisma"
IDENTITY = "modules/identity/schema/models.prisma"


@pytest.fixture
def starts(tmp_path: Path) -> PrismaStarts:
    return counting_node(tmp_path / "counting")


@pytest.fixture
def repo(
    tmp_path: Path, prisma_tasks_backend: str, prisma_tasks_provisioner, starts: PrismaStarts
) -> Monorepo:
    url = prisma_tasks_provisioner.clone()
    repo = make_monorepo(tmp_path / "repo", prisma_tasks_backend, url)
    run(repo, starts, "prisma.migrate", "--name", "init")
    return repo


def run(repo: Monorepo, starts: PrismaStarts, *args: str, env: dict[str, str] | None = None):
    starts.reset()
    result = repo.invoke(*args, env={**starts.env, **(env or {})})
    return result, result.stdout + result.stderr


def heads(starts: PrismaStarts) -> list[str]:
    """`migrate diff`, `generate`, ... for each start, in a stable order."""
    return sorted(
        " ".join(c.split()[:2]) if c.startswith("migrate") else c.split()[0]
        for c in starts.commands()
    )


def processes_in(root: Path) -> list[str]:
    """Command lines of the processes working in `root` (their cwd is in it)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if cwd == root or root in cwd.parents:
            found.append(f"{pid}: {cmdline}")
    return found


def none_left(root: Path) -> list[str]:
    """Processes still in `root` once those that are exiting are given a moment to go."""
    for _ in range(100):
        left = processes_in(root)
        if not left:
            return []
        time.sleep(0.05)
    return left


def execute(repo: Monorepo, backend: str, statement: str) -> None:
    if backend == "sqlite":
        with sqlite3.connect(sqlite_path(repo.database_url, repo.root)) as connection:
            connection.execute(statement)
        return
    import psycopg

    with psycopg.connect(repo.database_url, autocommit=True) as connection:
        connection.execute(statement)


def add_column(repo: Monorepo, column: str) -> None:
    path = repo.root / ORDERS
    path.write_text(
        path.read_text().replace("  customerId Int\n", f"  customerId Int\n  {column} String?\n", 1)
    )


def test_the_gate_starts_the_cli_once(repo: Monorepo, starts: PrismaStarts) -> None:
    result, output = run(repo, starts, "prisma.check", env={"DATABASE_URL": ""})
    assert result.returncode == 0, output
    assert "ok   schema files are formatted" in output and "ok   no drift" in output, output
    assert heads(starts) == ["migrate diff"], starts.commands()
    assert none_left(repo.root) == []


def test_an_unformatted_file_and_an_unappliable_migration_both_fail_the_one_start_gate(
    repo: Monorepo, starts: PrismaStarts, prisma_tasks_backend: str
) -> None:
    path = repo.root / ORDERS
    path.write_text(path.read_text().replace("  customerId Int\n", "      customerId Int\n", 1))
    (name,) = repo.migrations()
    sql = repo.root / "prisma" / "migrations" / name / "migration.sql"
    sql.write_text(sql.read_text() + '\nINSERT INTO "NoSuchTable" VALUES (1);\n')
    result, output = run(repo, starts, "prisma.check", env={"DATABASE_URL": ""})
    assert result.returncode == 1, output
    assert "FAIL format" in output and f"not formatted: {ORDERS}" in output, output
    assert f"migration {name} failed to apply" in output, output
    assert heads(starts) == ["migrate diff"], starts.commands()


def test_a_migrate_with_a_change_starts_each_step_once_and_in_turn(
    repo: Monorepo, starts: PrismaStarts
) -> None:
    add_column(repo, "note")
    result, output = run(repo, starts, "prisma.migrate", "--name", "note")
    assert result.returncode == 0, output
    assert heads(starts) == ["generate", "migrate deploy", "migrate diff"], starts.commands()
    (created,) = [m for m in repo.migrations() if m.endswith("_note")]
    assert "note" in (repo.root / "prisma/migrations" / created / "migration.sql").read_text()
    assert "All migrations have been successfully applied" in output, output
    assert "generated the client" in output, output
    assert "note" in (repo.root / "generated/client/schema.prisma").read_text()
    assert none_left(repo.root) == []
    # The same inputs again: the diff alone (the deploy started ahead is stopped unused).
    result, output = run(repo, starts, "prisma.migrate", "--name", "again")
    assert result.returncode == 0, output
    assert "no new migration" in output and "nothing to deploy" in output, output
    assert "migrate diff" in heads(starts) and "generate" not in heads(starts), starts.commands()
    assert none_left(repo.root) == []


def test_create_only_starts_nothing_ahead(repo: Monorepo, starts: PrismaStarts) -> None:
    add_column(repo, "memo")
    result, output = run(repo, starts, "prisma.migrate", "--name", "memo", "--create-only")
    assert result.returncode == 0, output
    assert heads(starts) == ["migrate diff"], starts.commands()


def test_a_deploy_that_fails_holds_generate_back(
    repo: Monorepo, starts: PrismaStarts, prisma_tasks_backend: str
) -> None:
    """Native `migrate dev` generates only after the migration applied: so do the held steps.
    A required column without a default applies to the empty scratch database of the diff but
    not to a table with a row."""
    client = repo.root / "generated/client/schema.prisma"
    before = client.read_text()
    execute(repo, prisma_tasks_backend, """INSERT INTO "User" (email) VALUES ('a@example.com')""")
    models = repo.root / IDENTITY
    models.write_text(
        models.read_text().replace(
            "  email  String  @unique\n", "  email  String  @unique\n  label  String\n", 1
        )
    )
    result, output = run(repo, starts, "prisma.migrate", "--name", "label", "--accept-data-loss")
    assert result.returncode != 0, output
    (created,) = [m for m in repo.migrations() if m.endswith("_label")]
    assert f"migration {created} failed to apply" in output, output
    assert client.read_text() == before  # generate was started, but never wrote
    assert "generate" in heads(starts), starts.commands()
    assert none_left(repo.root) == []


def test_a_migrate_killed_before_its_migration_is_written_leaves_nothing(
    repo: Monorepo, starts: PrismaStarts
) -> None:
    before = repo.migrations()
    add_column(repo, "killed")
    result, output = run(
        repo,
        starts,
        "prisma.migrate",
        "--name",
        "killed",
        env={"PRISMA_TASKS_FAULT": "migrate:before-rename"},
    )
    assert result.returncode == 86, output
    assert repo.migrations() == before
    assert none_left(repo.root) == []  # the held steps saw their stdin close and went
