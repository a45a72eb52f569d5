"""`invoke prisma.check`, the pull-request gate: each failure produced for real.

A bare "origin" repository holds a monorepo whose first migration was made by
`invoke prisma.migrate`; every test works in its own fresh clone, as a developer or a CI
runner would (no collected folder, no generated client, no DATABASE_URL: the gate replays the
history on its own throwaway database). Branches, merges and lock conflicts are real git.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import REPO, Monorepo, make_monorepo

pytestmark = [pytest.mark.e2e, pytest.mark.backend("postgres")]

LOCK = "prisma/migrations/migrations.lock"
GITIGNORE = "node_modules\n.prisma-tasks/\ngenerated/\nprisma/schemas/\n"
ORDERS = "modules/orders/schema/models.prisma"
IDENTITY = "modules/identity/schema/models.prisma"
MARKER = "-- prisma-tasks: allow-destructive"


def git(root: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=60)
    if ok:
        assert result.returncode == 0, f"git {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result


def configure(root: Path) -> None:
    for key, value in (
        ("user.name", "Gate Test"),
        ("user.email", "gate@example.invalid"),
        ("commit.gpgsign", "false"),
        ("merge.conflictStyle", "merge"),
        ("core.hooksPath", "/dev/null"),
    ):
        git(root, "config", key, value)


def commit(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


def edit(repo: Monorepo, relative: str, old: str, new: str) -> None:
    text = (repo.root / relative).read_text()
    assert old in text, f"{old!r} is not in {relative}"
    repo.write(relative, text.replace(old, new, 1))


def gate(repo: Monorepo) -> tuple[int, str, set[str]]:
    """Exit code, all output, and the names of the failed checks."""
    result = repo.invoke("prisma.check", env={"DATABASE_URL": ""})
    output = result.stdout + result.stderr
    return result.returncode, output, set(re.findall(r"^FAIL (\w+)$", output, re.M))


def migration(repo: Monorepo, suffix: str) -> str:
    (name,) = [name for name in repo.migrations() if name.endswith(f"_{suffix}")]
    return name


def wait_past(stamp: str) -> None:
    """Until a migration made now gets a later timestamp than `stamp` (YYYYMMDDHHMMSS)."""
    while dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d%H%M%S") <= stamp[:14]:
        time.sleep(0.05)


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory, prisma_tasks_provisioner) -> Path:
    """A bare repository whose main holds the monorepo and its first, locked migration."""
    base = tmp_path_factory.mktemp("gate")
    repo = make_monorepo(base / "seed", "postgres", prisma_tasks_provisioner.clone())
    repo.write(".gitignore", GITIGNORE)
    git(repo.root, "init", "-q", "-b", "main")
    configure(repo.root)
    repo.ok("prisma.migrate", "--name", "init")
    assert (repo.root / LOCK).is_file()
    commit(repo.root, "init")
    git(base, "clone", "-q", "--bare", str(repo.root), "origin.git")
    return base / "origin.git"


@pytest.fixture
def repo(tmp_path: Path, origin: Path) -> Monorepo:
    """A fresh clone of origin, on main."""
    git(tmp_path, "clone", "-q", str(origin), "work")
    root = tmp_path / "work"
    configure(root)
    os.symlink(REPO / "node_modules", root / "node_modules")
    clone = Monorepo(root, "")
    assert not (root / "prisma/schemas").exists()
    return clone


def migrate(repo: Monorepo, database_url: str, name: str, *options: str) -> str:
    result = repo.invoke(
        "prisma.migrate", "--name", name, *options, env={"DATABASE_URL": database_url}
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def test_a_clean_fresh_clone_passes(repo: Monorepo) -> None:
    code, output, failed = gate(repo)
    assert (code, failed) == (0, set()), output
    assert "ok   collection is current" not in output  # nothing collected yet: not a failure
    assert "ok   schema files are formatted" in output
    assert "ok   no drift" in output
    assert "ok   migration history matches migrations.lock" in output
    assert "0 new migration(s) (compared with main" in output
    assert "prisma.check passed" in output


def test_drift_fails_with_the_missing_sql(repo: Monorepo) -> None:
    edit(repo, ORDERS, "  customerId Int\n", "  customerId Int\n  total      Int?\n")
    code, output, failed = gate(repo)
    assert (code, failed) == (1, {"drift"}), output
    assert 'ALTER TABLE "Order" ADD COLUMN     "total" INTEGER;' in output
    assert "invoke prisma.migrate --name" in output
    assert "prisma.check passed" not in output


def test_an_edited_applied_migration_fails_integrity_by_name(repo: Monorepo) -> None:
    # The shortcut the lock exists for: the schema change put into the applied migration
    # instead of a new one. The history still produces the schema, so there is no drift.
    (init,) = repo.migrations()
    git(repo.root, "checkout", "-q", "-b", "user-name")
    edit(
        repo, IDENTITY, "  email  String  @unique\n", "  email  String  @unique\n  name   String?\n"
    )
    edit(
        repo,
        f"prisma/migrations/{init}/migration.sql",
        '    "email" TEXT NOT NULL,\n',
        '    "email" TEXT NOT NULL,\n    "name" TEXT,\n',
    )
    commit(repo.root, "user name")
    code, output, failed = gate(repo)
    assert (code, failed) == (1, {"integrity"}), output
    assert "ok   no drift" in output
    assert f"{init}: edited after it was locked" in output


def test_two_branches_that_each_added_a_migration_fail_as_non_linear(
    repo: Monorepo, prisma_tasks_provisioner
) -> None:
    root = repo.root
    # Branch b makes its migration first (the earlier timestamp) ...
    git(root, "checkout", "-q", "-b", "b")
    edit(repo, ORDERS, "  customerId Int\n", "  customerId Int\n  total      Int?\n")
    migrate(repo, prisma_tasks_provisioner.clone(), "order total")
    commit(root, "order total")
    order_total = migration(repo, "order_total")
    # ... branch a makes its own later, on another developer's database ...
    wait_past(order_total)
    git(root, "checkout", "-q", "-b", "a", "main")
    edit(
        repo, IDENTITY, "  email  String  @unique\n", "  email  String  @unique\n  name   String?\n"
    )
    migrate(repo, prisma_tasks_provisioner.clone(), "user name")
    commit(root, "user name")
    user_name = migration(repo, "user_name")
    assert order_total < user_name
    # ... and is merged into main first.
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-ff", "-m", "Merge a", "a")
    git(root, "push", "-q", "origin", "main")
    b_tip = git(root, "rev-parse", "b").stdout.strip()

    # 1. b is merged into main too; the lock conflicts and both sides' lines are kept.
    merged = git(root, "merge", "--no-ff", "-m", "Merge b", "b", ok=False)
    assert merged.returncode != 0, merged.stdout + merged.stderr
    conflicted = git(root, "diff", "--name-only", "--diff-filter=U").stdout.split()
    assert conflicted == [LOCK]
    text = (root / LOCK).read_text()
    (root / LOCK).write_text(
        "".join(
            line
            for line in text.splitlines(keepends=True)
            if not line.startswith(("<<<<<<<", "=======", ">>>>>>>"))
        )
    )
    commit(root, "Merge b")
    code, output, failed = gate(repo)
    assert (code, failed) == (1, {"integrity"}), output
    assert "ok   no drift" in output
    finding = next(line for line in output.splitlines() if order_total in line)
    assert user_name in finding and "non-linear" in finding, output
    assert "invoke prisma.migrate --name" in output

    # 2. The pull-request side: b merges main (now with a) and regenerates the conflicting
    # lock, the way lock files usually get resolved. The lock is in name order again, so
    # only the default branch shows that b's migration now sorts before one main has.
    git(root, "reset", "-q", "--hard", "origin/main")
    git(root, "checkout", "-q", "b")
    assert git(root, "rev-parse", "HEAD").stdout.strip() == b_tip
    merged = git(root, "merge", "-m", "Merge main into b", "origin/main", ok=False)
    assert merged.returncode != 0, merged.stdout + merged.stderr
    git(root, "checkout", "--ours", LOCK)
    assert f"locked 1 new migration(s): {user_name}" in repo.ok("prisma.lock")
    commit(root, "Merge main into b")
    code, output, failed = gate(repo)
    assert (code, failed) == (1, {"integrity"}), output
    finding = next(line for line in output.splitlines() if order_total in line)
    assert user_name in finding and "non-linear" in finding, output
    assert "invoke prisma.migrate --name" in output

    # The fix the gate gives works: recreate b's migration after main's.
    fix = output[output.index(order_total) :]
    assert "delete this migration's folder" in fix and "migrations.lock" in fix
    folder = root / "prisma/migrations" / order_total
    (folder / "migration.sql").unlink()
    folder.rmdir()
    lock = (root / LOCK).read_text()
    (root / LOCK).write_text(
        "".join(line for line in lock.splitlines(True) if order_total not in line)
    )
    migrate(repo, prisma_tasks_provisioner.clone(), "order total")
    commit(root, "order total, after user name")
    recreated = migration(repo, "order_total")
    assert recreated > user_name
    code, output, failed = gate(repo)
    assert (code, failed) == (0, set()), output
    assert "1 new migration(s) (compared with main" in output


def test_a_dropped_column_fails_until_acknowledged(
    repo: Monorepo, prisma_tasks_provisioner
) -> None:
    root = repo.root
    git(root, "checkout", "-q", "-b", "drop-role")
    edit(repo, IDENTITY, "  role   Role    @default(MEMBER)\n", "")
    # Applied to the developer's database only when accepted (no terminal here to ask).
    migrate(repo, prisma_tasks_provisioner.clone(), "drop role", "--accept-data-loss")
    commit(root, "drop role")
    drop_role = migration(repo, "drop_role")
    sql_path = f"prisma/migrations/{drop_role}/migration.sql"
    sql = (root / sql_path).read_text()
    line = sql.splitlines().index('ALTER TABLE "User" DROP COLUMN "role";') + 1

    code, output, failed = gate(repo)
    assert (code, failed) == (1, {"destructive"}), output
    assert f'{sql_path}:{line}: drops column "User"."role"' in output
    assert "allow-destructive" in output

    # The developer reviews it and acknowledges the drop in the migration, which is not on
    # main yet. That edits a locked migration: the gate says so, and `prisma.lock` refuses.
    (root / sql_path).write_text(
        sql.replace(
            'ALTER TABLE "User" DROP COLUMN "role";',
            f"{MARKER} role was never read (checked on 2026-01-02)\n"
            'ALTER TABLE "User" DROP COLUMN "role";',
        )
    )
    code, output, failed = gate(repo)
    assert (code, failed) == (1, {"integrity"}), output  # the marker itself is accepted
    assert f"{drop_role}: edited after it was locked" in output
    refused = repo.invoke("prisma.lock")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "nothing was written" in refused.stderr and drop_role in refused.stderr
    # What the messages say to do for a migration that is not merged yet: relock it.
    assert f"invoke prisma.lock --relock {drop_role}" in refused.stderr
    assert f"relocked {drop_role}" in repo.ok("prisma.lock", "--relock", drop_role)
    commit(root, "acknowledge the dropped role column")

    code, output, failed = gate(repo)
    assert (code, failed) == (0, set()), output
    assert "no unacknowledged destructive change in 1 new migration(s)" in output


def test_a_stale_collection_and_an_unformatted_module_file_fail(repo: Monorepo) -> None:
    repo.ok("prisma.collect")
    # A module file renamed since the last collect: its collected link is stale. (A file
    # collect did not write is never removed: see test_collect_ownership.)
    models = repo.root / IDENTITY
    models.rename(models.with_name("users.prisma"))
    code, output, failed = gate(repo)
    assert (code, failed) == (1, {"collection"}), output
    assert "stale    identity__models.prisma" in output and "invoke prisma.collect" in output
    stale = repo.root / "prisma/schemas/identity__models.prisma"
    assert not stale.exists()  # the gate collected afterwards, for the other checks
    models.with_name("users.prisma").rename(models)
    repo.ok("prisma.collect")

    edit(repo, ORDERS, "  customerId Int\n", "      customerId Int\n")
    code, output, failed = gate(repo)
    assert (code, failed) == (1, {"format"}), output
    assert "not formatted" in output and "invoke prisma.format" in output
    assert f"not formatted: {ORDERS}" in output and IDENTITY not in output, output
    assert "ok   no drift" in output
