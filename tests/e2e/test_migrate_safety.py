"""`invoke prisma.migrate` and the database tasks on the unhappy paths users meet first.

- a new migration that loses data is listed and needs a yes (a terminal) or
  `--accept-data-loss`; without a terminal it is refused and nothing is written or applied;
- a migration made with `--create-only` and edited can be re-locked in a repository that has
  no default branch yet (no commit, or no main/master);
- a database that cannot be connected to is reported as such (exit 2, no password shown),
  never as "pending migrations".
"""

from __future__ import annotations

import os
import pty
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from prisma_tasks.prisma_cli.migrations import sqlite_path

from .conftest import Monorepo, make_monorepo

pytestmark = pytest.mark.e2e

IDENTITY = "modules/identity/schema/models.prisma"
ROLE = "  role   Role    @default(MEMBER)\n"
LOCK = "prisma/migrations/migrations.lock"
MARKER = "-- prisma-tasks: allow-destructive"
BACKENDS = [pytest.param(b, marks=pytest.mark.backend(b), id=b) for b in ("postgres", "sqlite")]


def query(repo: Monorepo, backend: str, statement: str) -> list[tuple]:
    if backend == "sqlite":
        with sqlite3.connect(sqlite_path(repo.database_url, repo.root)) as connection:
            return connection.execute(statement).fetchall()
    import psycopg

    with psycopg.connect(repo.database_url, autocommit=True) as connection:
        cursor = connection.execute(statement)
        return cursor.fetchall() if cursor.description else []


def migrated_with_a_user(tmp_path: Path, backend: str, url: str) -> Monorepo:
    """The monorepo migrated once, holding one ADMIN user whose role the next change drops."""
    repo = make_monorepo(tmp_path / "repo", backend, url)
    repo.ok("prisma.migrate", "--name", "init")
    query(repo, backend, "INSERT INTO \"User\" (email, role) VALUES ('a@example.com', 'ADMIN')")
    text = (repo.root / IDENTITY).read_text()
    assert ROLE in text
    repo.write(IDENTITY, text.replace(ROLE, ""))
    return repo


def roles(repo: Monorepo, backend: str) -> list[tuple]:
    return query(repo, backend, 'SELECT email, role FROM "User"')


def user_columns(repo: Monorepo, backend: str) -> set[str]:
    if backend == "sqlite":
        return {row[1] for row in query(repo, backend, 'PRAGMA table_info("User")')}
    rows = query(
        repo,
        backend,
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'User'",
    )
    return {row[0] for row in rows}


def invoke_on_a_terminal(repo: Monorepo, answer: str, *args: str) -> tuple[int, str]:
    """Run a task with a pseudo-terminal on stdin that answers `answer` (stdout stays a pipe)."""
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "invoke", *args],
            cwd=repo.root,
            env={**os.environ, "DATABASE_URL": repo.database_url},
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        os.write(controller, f"{answer}\n".encode())  # the terminal holds it until read
        output, _ = process.communicate(timeout=300)
    finally:
        os.close(terminal)
        os.close(controller)
    return process.returncode, output


def refused_without_a_terminal_then_accepted(repo: Monorepo, backend: str) -> None:
    before = repo.migrations()
    lock = (repo.root / LOCK).read_text()
    refused = repo.invoke("prisma.migrate", "--name", "drop role")
    output = refused.stdout + refused.stderr
    assert refused.returncode == 2, output
    # The statement that loses data is named, and so is the way to go on.
    assert '"User"."role"' in refused.stderr, output
    assert "would lose data" in refused.stderr and "--accept-data-loss" in refused.stderr
    assert "nothing was written or applied" in refused.stderr
    assert repo.migrations() == before and (repo.root / LOCK).read_text() == lock
    assert not list((repo.root / ".prisma-tasks").glob("staging/*"))
    assert roles(repo, backend) == [("a@example.com", "ADMIN")]

    accepted = repo.ok("prisma.migrate", "--name", "drop role", "--accept-data-loss")
    assert '"User"."role"' in accepted and "--accept-data-loss" in accepted
    (added,) = [name for name in repo.migrations() if name not in before]
    assert added.endswith("_drop_role")
    assert "role" not in user_columns(repo, backend)
    assert query(repo, backend, 'SELECT email FROM "User"') == [("a@example.com",)]
    assert "up to date" in repo.ok("prisma.status")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_dropped_column_needs_accept_data_loss_without_a_terminal(
    tmp_path: Path, prisma_tasks_provisioner, backend: str
) -> None:
    # SQLite: Prisma writes the drop as a table rebuild that leaves the column out of its copy.
    repo = migrated_with_a_user(tmp_path, backend, prisma_tasks_provisioner.clone())
    refused_without_a_terminal_then_accepted(repo, backend)


def asked_on_a_terminal(repo: Monorepo, backend: str) -> None:
    before = repo.migrations()
    code, output = invoke_on_a_terminal(repo, "n", "prisma.migrate", "--name", "drop role")
    assert code == 2, output
    assert '"User"."role"' in output and "[y/N]" in output
    assert "nothing was written or applied" in output
    assert repo.migrations() == before
    assert roles(repo, backend) == [("a@example.com", "ADMIN")]
    # Enter alone is the default: no.
    code, output = invoke_on_a_terminal(repo, "", "prisma.migrate", "--name", "drop role")
    assert code == 2 and repo.migrations() == before, output

    code, output = invoke_on_a_terminal(repo, "y", "prisma.migrate", "--name", "drop role")
    assert code == 0, output
    assert len(repo.migrations()) == len(before) + 1
    assert "role" not in user_columns(repo, backend)
    assert query(repo, backend, 'SELECT email FROM "User"') == [("a@example.com",)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_terminal_is_asked_and_no_is_the_default(
    tmp_path: Path, prisma_tasks_provisioner, backend: str
) -> None:
    repo = migrated_with_a_user(tmp_path, backend, prisma_tasks_provisioner.clone())
    asked_on_a_terminal(repo, backend)


def git(root: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"git {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result.stdout


def commit_everything_on(repo: Monorepo, branch: str) -> None:
    git(repo.root, "init", "-q", "-b", branch)
    for key, value in (("user.name", "T"), ("user.email", "t@example.invalid")):
        git(repo.root, "config", key, value)
    (repo.root / ".gitignore").write_text("node_modules\n.prisma-tasks/\ngenerated/\n")
    git(repo.root, "add", "-A")
    git(repo.root, "-c", "commit.gpgsign=false", "commit", "-q", "-m", "init")


def create_only_edit_relock(repo: Monorepo, backend: str) -> str:
    """--create-only writes the drop without asking; acknowledged and re-locked, it is applied."""
    created = repo.ok("prisma.migrate", "--name", "drop role", "--create-only")
    (name,) = [n for n in repo.migrations() if n.endswith("_drop_role")]
    assert roles(repo, backend) == [("a@example.com", "ADMIN")]  # not applied
    sql_path = repo.root / "prisma/migrations" / name / "migration.sql"
    statement = next(
        line
        for line in sql_path.read_text().splitlines()
        if line.startswith(('ALTER TABLE "User" DROP COLUMN', "INSERT INTO"))
    )
    sql_path.write_text(
        sql_path.read_text().replace(statement, f"{MARKER} nobody reads it\n{statement}")
    )
    refused = repo.invoke("prisma.lock")
    assert refused.returncode == 1 and f"{name}: edited after it was locked" in refused.stderr
    relocked = repo.invoke("prisma.lock", "--relock", name)
    assert relocked.returncode == 0, relocked.stdout + relocked.stderr
    assert f"relocked {name}" in relocked.stdout
    # Not new any more: applying what was reviewed asks nothing.
    repo.ok("prisma.migrate")
    assert "role" not in user_columns(repo, backend)
    # --create-only listed what the migration loses, without asking.
    assert '"User"."role"' in created and "review it" in created
    return name


@pytest.mark.backend("postgres")
def test_relock_in_a_repository_without_commits(tmp_path: Path, prisma_tasks_provisioner) -> None:
    repo = migrated_with_a_user(tmp_path, "postgres", prisma_tasks_provisioner.clone())
    git(repo.root, "init", "-q", "-b", "main")
    name = create_only_edit_relock(repo, "postgres")
    # The gate agrees: nothing is merged, the reviewed drop is acknowledged, the lock matches.
    result = repo.invoke("prisma.check", env={"DATABASE_URL": ""})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "2 new migration(s) (no commit yet: every migration is new)" in output
    assert name in (repo.root / LOCK).read_text()


@pytest.mark.backend("sqlite")
def test_relock_in_a_repository_without_a_main_or_master_branch(
    tmp_path: Path, prisma_tasks_provisioner
) -> None:
    repo = migrated_with_a_user(tmp_path, "sqlite", prisma_tasks_provisioner.clone())
    commit_everything_on(repo, "trunk")
    create_only_edit_relock(repo, "sqlite")


@pytest.mark.backend("postgres")
def test_relock_still_refuses_where_another_branch_may_be_the_default(
    tmp_path: Path, prisma_tasks_provisioner
) -> None:
    repo = migrated_with_a_user(tmp_path, "postgres", prisma_tasks_provisioner.clone())
    commit_everything_on(repo, "master")
    (init,) = repo.migrations()
    sql = repo.root / "prisma/migrations" / init / "migration.sql"
    sql.write_text(sql.read_text() + "-- edited after the commit\n")
    # default_branch is 'main'; the merged migration is on master: never re-lock it.
    refused = repo.invoke("prisma.lock", "--relock", init)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "refusing to relock" in refused.stderr and "master" in refused.stderr
    assert "default_branch" in refused.stderr


# -- connection failures -------------------------------------------------------------------


def add_a_nickname(repo: Monorepo) -> None:
    """A pending schema change: a migrate that fails must not write it."""
    text = (repo.root / IDENTITY).read_text()
    repo.write(IDENTITY, text.replace(ROLE, ROLE + "  nick   String?\n"))


def unreachable_urls(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    assert parts.password
    return {
        "wrong password": url.replace(f":{parts.password}@", ":wrong-pw-4f2c@"),
        "unreachable port": url.replace(f":{parts.port}/", ":1/"),
    }


def assert_connection_failure(repo: Monorepo, url: str, secrets: list[str], *task: str) -> str:
    result = repo.invoke(*task, env={"DATABASE_URL": url})
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "cannot connect to the database" in output, output
    assert "pending" not in output, output
    for secret in secrets:
        assert secret not in output, output
    return output


@pytest.mark.backend("postgres")
def test_postgres_connection_failures_are_named_as_such(
    tmp_path: Path, prisma_tasks_provisioner
) -> None:
    url = prisma_tasks_provisioner.clone()
    repo = make_monorepo(tmp_path / "repo", "postgres", url)
    repo.ok("prisma.migrate", "--name", "init")
    add_a_nickname(repo)
    secrets = [urlsplit(url).password or "", "wrong-pw-4f2c"]
    host = f"127.0.0.1:{urlsplit(url).port}"
    for label, bad in unreachable_urls(url).items():
        for task in ("prisma.status", "prisma.migrate", "prisma.deploy", "doctor"):
            output = assert_connection_failure(repo, bad, secrets, task)
            assert (":1/" in output) if label == "unreachable port" else (host in output), output
        assert len(repo.migrations()) == 1
    # The database's own words: the server refused the credentials / the port refused us.
    output = assert_connection_failure(
        repo, unreachable_urls(url)["wrong password"], secrets, "prisma.status"
    )
    assert "credentials" in output or "password authentication failed" in output
    assert "Connection refused" in assert_connection_failure(
        repo, unreachable_urls(url)["unreachable port"], secrets, "doctor"
    )
    # With the right URL, doctor connects.
    doctor = repo.invoke("doctor")
    assert "cannot connect" not in doctor.stdout + doctor.stderr
    assert "connection" in doctor.stdout and ": connected" in doctor.stdout


@pytest.mark.backend("sqlite")
def test_sqlite_connection_failures_are_named_as_such(
    tmp_path: Path, prisma_tasks_provisioner
) -> None:
    repo = make_monorepo(tmp_path / "repo", "sqlite", prisma_tasks_provisioner.clone())
    repo.ok("prisma.migrate", "--name", "init")
    add_a_nickname(repo)
    missing_folder = tmp_path / "no-such-folder"
    for bad in (f"file:{missing_folder}/dev.db", f"file:{repo.root / 'prisma'}"):
        for task in ("prisma.status", "prisma.migrate", "prisma.deploy", "doctor"):
            output = assert_connection_failure(repo, bad, [], task)
            assert bad.removeprefix("file:") in output, output
        assert len(repo.migrations()) == 1
    assert not missing_folder.exists()
