"""Seeding a monorepo whose modules' relations form cycles, and seeds that try to commit.

The temp monorepo has the two cycles real schemas have: users <-> integrations (a user may
name the integration it signed up through, an integration needs its owner) and
organisations <-> billing (both required). Its first migration is made by the real
`invoke prisma.migrate`; every test gets a copy on a fresh database of the session's backend
and drives `invoke db.seed`, `invoke prisma.reset` and the pytest plugin's `database_url`
fixture (a pytest run inside the copy) for real.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from prisma_tasks.db.connection import Connection

from .conftest import BASES, GENERATOR, Monorepo, bare_monorepo
from .seeding_repo import copy_on_a_clone

pytestmark = pytest.mark.e2e

SEEDED = re.compile(r"^\[\d+/\d+\] seeded (\w+) ", re.MULTILINE)

SCHEMAS = {
    "users": """model User {
  id            Int           @id @default(autoincrement())
  email         String        @unique
  /// the integration the user signed up through: may stay empty
  integrationId Int?
  integration   Integration? @relation("SignedUpThrough", fields: [integrationId], references: [id])
  integrations  Integration[] @relation("Owns")
}
""",
    "integrations": """model Integration {
  id      Int    @id @default(autoincrement())
  name    String @unique
  ownerId Int
  owner   User   @relation("Owns", fields: [ownerId], references: [id])
  signups User[] @relation("SignedUpThrough")
}
""",
    "organisations": """model Organisation {
  id               Int              @id @default(autoincrement())
  slug             String           @unique
  billingAccountId Int              @unique
  billingAccount   BillingAccount @relation("PaysFor", fields: [billingAccountId], references: [id])
  accounts         BillingAccount[] @relation("Owns")
}
""",
    "billing": """model BillingAccount {
  id             Int           @id @default(autoincrement())
  iban           String        @unique
  organisationId Int
  organisation   Organisation  @relation("Owns", fields: [organisationId], references: [id])
  paysFor        Organisation? @relation("PaysFor")
}
""",
}
USERS_SEED = """USER = 'INSERT INTO "User" ("email") VALUES (?) ON CONFLICT ("email") DO NOTHING'


def seed(db):
    for email in ("ada@example.test", "grace@example.test"):
        db.execute(USER, [email])
"""
INTEGRATIONS_SEED = """INSERT INTO "Integration" ("name", "ownerId")
SELECT 'github', "id" FROM "User" WHERE "email" = 'ada@example.test'
ON CONFLICT ("name") DO UPDATE SET "ownerId" = excluded."ownerId";
"""
DATABASE_URL_TEST = """import os

from prisma_tasks.db.connection import Connection


def test_the_template_is_migrated_and_seeded(database_url):
    db = Connection.open(database_url)
    try:
        counts = {t: db.one(f'SELECT count(*) FROM "{t}"')[0] for t in ("User", "Integration")}
    finally:
        db.close()
    assert counts == {"User": USERS, "Integration": INTEGRATIONS}
"""


@pytest.fixture(scope="module")
def migrated(
    tmp_path_factory, prisma_tasks_provisioner, prisma_tasks_backend
) -> Iterator[Monorepo]:
    url = prisma_tasks_provisioner.clone()
    root = tmp_path_factory.mktemp(f"seed-cycles-{prisma_tasks_backend}") / "repo"
    try:
        repo = bare_monorepo(root, url)
        repo.write("prisma/base.prisma", BASES[prisma_tasks_backend] + GENERATOR)
        for module, schema in SCHEMAS.items():
            repo.write(f"modules/{module}/schema/models.prisma", schema)
        repo.ok("prisma.migrate", "--name", "init")
        yield repo
    finally:
        prisma_tasks_provisioner.drop(url)


@pytest.fixture
def repo(migrated, tmp_path: Path, prisma_tasks_provisioner) -> Iterator[Monorepo]:
    with copy_on_a_clone(migrated, tmp_path / "repo", prisma_tasks_provisioner) as copy:
        yield copy


def count(repo: Monorepo, table: str) -> int:
    db = Connection.open(repo.database_url, repo.root)
    try:
        return db.one(f'SELECT count(*) FROM "{table}"')[0]
    finally:
        db.close()


def output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


def run_database_url_fixture(
    repo: Monorepo, backend: str, provisioner, users: int, integrations: int
) -> subprocess.CompletedProcess[str]:
    """pytest inside the monorepo, on a test that takes the plugin's `database_url`."""
    test = DATABASE_URL_TEST.replace("USERS", str(users)).replace("INTEGRATIONS", str(integrations))
    repo.write("tests/test_database_url.py", test)
    env = {**os.environ, "PRISMA_TASKS_BACKEND": backend}
    env.pop("DATABASE_URL", None)
    if provisioner.server is not None:  # the session's server, rather than a cluster of its own
        env["PRISMA_TASKS_ADMIN_URL"] = provisioner.server.admin_url
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=repo.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cycles_between_modules_without_seeds_stop_nothing(
    repo: Monorepo, prisma_tasks_backend: str, prisma_tasks_provisioner
) -> None:
    graph = repo.ok("prisma.graph")
    assert graph.count("[CYCLE]") == 4, graph  # the cycles are real, and shown

    result = repo.invoke("db.seed")
    assert result.returncode == 0, output(result)
    assert "no module has seeds" in result.stdout
    result = repo.invoke("db.seed", "--verify")
    assert result.returncode == 0, output(result)
    result = repo.invoke("prisma.reset")
    assert result.returncode == 0, output(result)
    assert "every migration re-applied" in result.stdout

    result = run_database_url_fixture(repo, prisma_tasks_backend, prisma_tasks_provisioner, 0, 0)
    assert result.returncode == 0, output(result)
    assert "1 passed" in result.stdout


def test_seeds_on_a_cycle_with_an_optional_relation_seed_the_required_side_last(
    repo: Monorepo, prisma_tasks_backend: str, prisma_tasks_provisioner
) -> None:
    # "integrations" sorts first, but an integration needs its owner; a user may leave its
    # integration empty.
    repo.write("modules/users/seeds/users.py", USERS_SEED)
    repo.write("modules/integrations/seeds/integrations.sql", INTEGRATIONS_SEED)

    result = repo.invoke("db.seed", "--verify")
    assert result.returncode == 0, output(result)
    assert SEEDED.findall(result.stdout) == ["users", "integrations"]
    assert "verified: seeding 2 module(s) a second time changed no table" in result.stdout

    result = repo.invoke("prisma.reset")
    assert result.returncode == 0, output(result)
    assert SEEDED.findall(result.stdout) == ["users", "integrations"]
    assert (count(repo, "User"), count(repo, "Integration")) == (2, 1)

    result = run_database_url_fixture(repo, prisma_tasks_backend, prisma_tasks_provisioner, 2, 1)
    assert result.returncode == 0, output(result)


def test_seeds_on_a_cycle_of_required_relations_are_refused_before_anything_changes(
    repo: Monorepo,
) -> None:
    repo.write("modules/organisations/seeds/organisations.sql", "SELECT 1;\n")
    repo.write("modules/billing/seeds/accounts.sql", "SELECT 1;\n")
    repo.write("modules/users/seeds/users.py", USERS_SEED)
    explained = (
        "module dependency cycle: billing -> organisations -> billing "
        "(billing -> organisations via BillingAccount.organisation -> Organisation; "
        "organisations -> billing via Organisation.billingAccount -> BillingAccount)"
    )

    result = repo.invoke("db.seed")
    assert result.returncode == 2, output(result)
    assert explained in result.stderr
    assert "make one of these relations optional" in result.stderr
    assert "keep seeds in only one of these modules" in result.stderr
    assert SEEDED.findall(result.stdout) == []  # planned first: not even users ran
    assert count(repo, "User") == 0

    # prisma.reset plans the seeds before it drops anything: the data is still there.
    execute = Connection.open(repo.database_url, repo.root)
    try:
        execute.execute('INSERT INTO "User" ("email") VALUES (\'kept@example.test\')')
    finally:
        execute.close()
    result = repo.invoke("prisma.reset")
    assert result.returncode == 2, output(result)
    assert explained in result.stderr
    assert "every migration re-applied" not in result.stdout
    assert count(repo, "User") == 1

    # Seeding only one side of the cycle is fine.
    (repo.root / "modules/billing/seeds/accounts.sql").unlink()
    result = repo.invoke("db.seed")
    assert result.returncode == 0, output(result)
    assert SEEDED.findall(result.stdout) == ["organisations", "users"]


def test_a_seed_that_commits_is_refused_naming_its_file_and_leaves_nothing_of_its_module(
    repo: Monorepo,
) -> None:
    repo.write("modules/users/seeds/users.py", USERS_SEED)
    repo.write(
        "modules/integrations/seeds/integrations.sql",
        "BEGIN;\n" + INTEGRATIONS_SEED + "COMMIT;\n",  # as a database dump writes it
    )
    result = repo.invoke("db.seed")
    assert result.returncode == 2, output(result)
    assert (
        "seed of module 'integrations' failed in modules/integrations/seeds/integrations.sql: "
        "it runs BEGIN"
    ) in result.stderr
    assert "nothing of module 'integrations' was written" in result.stderr
    assert SEEDED.findall(result.stdout) == ["users"]
    assert (count(repo, "User"), count(repo, "Integration")) == (2, 0)

    repo.write("modules/integrations/seeds/integrations.sql", INTEGRATIONS_SEED + "COMMIT;\n")
    result = repo.invoke("db.seed")
    assert result.returncode == 2, output(result)
    assert "integrations.sql: it runs COMMIT, but seeds run inside their module's" in (
        result.stderr
    )
    assert count(repo, "Integration") == 0
