"""`invoke db.seed` end to end: a temp monorepo with seeds, the real CLI, real PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Monorepo
from .seeding_repo import base_repo, copy_on_a_clone

pytestmark = [pytest.mark.e2e, pytest.mark.backend("postgres")]

SEEDED = re.compile(r"^\[\d+/\d+\] seeded (\w+) ", re.MULTILINE)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory, prisma_tasks_provisioner) -> Iterator[Monorepo]:
    url = prisma_tasks_provisioner.clone()
    try:
        yield base_repo(tmp_path_factory.mktemp("seed-tasks") / "repo", "postgres", url)
    finally:
        prisma_tasks_provisioner.drop(url)


@pytest.fixture
def repo(migrated, tmp_path: Path, prisma_tasks_provisioner) -> Iterator[Monorepo]:
    with copy_on_a_clone(migrated, tmp_path / "repo", prisma_tasks_provisioner) as copy:
        yield copy


def test_verify_exits_0_for_idempotent_seeds(repo: Monorepo) -> None:
    result = repo.invoke("db.seed", "--verify")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert SEEDED.findall(result.stdout) == ["identity", "orders", "billing"]
    assert "verified: seeding 3 module(s) a second time changed no table" in result.stdout


def test_verify_exits_1_naming_module_and_table_of_a_non_idempotent_seed(repo: Monorepo) -> None:
    repo.write(
        "modules/orders/seeds/notes.sql", 'INSERT INTO "Note" ("body") VALUES (\'again\');\n'
    )
    result = repo.invoke("db.seed", "--verify")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "module 'orders' is not idempotent: table Note: 1 rows became 2" in result.stderr
    assert "module 'identity'" not in result.stderr
    assert "module 'billing'" not in result.stderr


def test_seeding_one_module_seeds_its_dependency_first(repo: Monorepo) -> None:
    result = repo.invoke("db.seed", "--module", "orders")
    assert result.returncode == 0, result.stdout + result.stderr
    assert SEEDED.findall(result.stdout) == ["identity", "orders"]
    assert "[1/2] seeded identity" in result.stdout and "[2/2] seeded orders" in result.stdout


def test_a_failing_seed_exits_non_zero_naming_module_and_file(repo: Monorepo) -> None:
    repo.write(
        "modules/billing/seeds/invoices.py",
        "def seed(db):\n    raise RuntimeError('no invoices today')\n",
    )
    result = repo.invoke("db.seed")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "module 'billing' failed in modules/billing/seeds/invoices.py" in result.stderr
    assert "no invoices today" in result.stderr
    assert SEEDED.findall(result.stdout) == ["identity", "orders"]
