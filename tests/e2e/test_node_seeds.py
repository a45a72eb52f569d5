"""Module seeds in TypeScript and JavaScript on the Prisma Client: the same dependency order,
one transaction per module, counted by --verify, part of the template hash; then Prisma's own
`prisma db seed` (package.json `prisma.seed`)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from prisma_tasks.db.urls import sqlite_path

from .conftest import BASES, IDENTITY, ORDERS, Monorepo, bare_monorepo

pytestmark = [pytest.mark.e2e, pytest.mark.backend("sqlite")]
GENERATOR = (
    '\ngenerator client {\n  provider        = "prisma-client-js"\n'
    '  previewFeatures = ["driverAdapters"]\n  output          = "../generated"\n}\n'
)
USERS_TS = """import type { PrismaClient } from "../../../generated";

type Tx = Omit<PrismaClient, "$transaction" | "$connect" | "$disconnect" | "$on" | "$extends">;

const people: Array<[string, "ADMIN" | "MEMBER"]> = [
  ["ada@example.com", "ADMIN"],
  ["bob@example.com", "MEMBER"],
];

export async function seed(prisma: Tx): Promise<void> {
  for (const [email, role] of people) {
    await prisma.user.upsert({ where: { email }, create: { email, role }, update: { role } });
  }
}
"""
ORDERS_MJS = """export async function seed(prisma) {
  const ada = await prisma.user.findUniqueOrThrow({ where: { email: "ada@example.com" } });
  if ((await prisma.order.count({ where: { customerId: ada.id } })) === 0) {
    await prisma.order.create({ data: { customerId: ada.id } });
  }
}
"""
FAILING_MJS = """export default async function (prisma) {
  await prisma.order.create({ data: { customerId: 1 } });
  throw new Error("stock is not ready");
}
"""


def seeded(repo: Monorepo) -> tuple[list[tuple[str, str]], int]:
    with sqlite3.connect(sqlite_path(repo.database_url, repo.root)) as connection:
        users = connection.execute('SELECT email, role FROM "User" ORDER BY email').fetchall()
        return users, connection.execute('SELECT count(*) FROM "Order"').fetchone()[0]


def node_seed_repo(root: Path, url: str) -> Monorepo:
    repo = bare_monorepo(root, url)
    repo.write("prisma/base.prisma", BASES["sqlite"] + GENERATOR)
    repo.write("modules/identity/schema/models.prisma", IDENTITY)
    repo.write("modules/orders/schema/models.prisma", ORDERS)
    # orders sorts before users by name: only the schema's relation puts identity first
    repo.write("modules/identity/seeds/01_users.ts", USERS_TS)
    repo.write("modules/orders/seeds/01_orders.mjs", ORDERS_MJS)
    repo.ok("prisma.migrate", "--name", "init")
    return repo


def test_ts_and_js_seeds_run_in_order_idempotently(
    tmp_path: Path, prisma_tasks_provisioner
) -> None:
    repo = node_seed_repo(tmp_path / "repo", prisma_tasks_provisioner.clone())
    out = repo.ok("db.seed")
    assert out.index("seeded identity") < out.index("seeded orders"), out
    assert seeded(repo) == ([("ada@example.com", "ADMIN"), ("bob@example.com", "MEMBER")], 1)
    out = repo.ok("db.seed", "--verify")
    assert "changed no table" in out
    assert seeded(repo)[1] == 1


def test_a_failing_node_seed_rolls_back_its_module_and_names_the_file(
    tmp_path: Path, prisma_tasks_provisioner
) -> None:
    repo = node_seed_repo(tmp_path / "repo", prisma_tasks_provisioner.clone())
    repo.write("modules/orders/seeds/02_fails.mjs", FAILING_MJS)
    result = repo.invoke("db.seed")
    assert result.returncode == 2
    assert "modules/orders/seeds/02_fails.mjs" in result.stderr
    assert "stock is not ready" in result.stderr
    users, orders = seeded(repo)
    assert len(users) == 2 and orders == 0  # identity stays seeded; orders' order is rolled back


def test_mixing_sql_and_node_seeds_in_one_module_is_refused(
    tmp_path: Path, prisma_tasks_provisioner
) -> None:
    repo = node_seed_repo(tmp_path / "repo", prisma_tasks_provisioner.clone())
    repo.write("modules/orders/seeds/00_extra.sql", 'DELETE FROM "Order";\n')
    result = repo.invoke("db.seed")
    assert result.returncode == 2
    assert "modules/orders/seeds" in result.stderr and "one transaction" in result.stderr


def test_prisma_db_seed_runs_after_the_module_seeds(
    tmp_path: Path, prisma_tasks_provisioner
) -> None:
    repo = node_seed_repo(tmp_path / "repo", prisma_tasks_provisioner.clone())
    package = json.loads((repo.root / "package.json").read_text())
    package["prisma"] = {"seed": "node prisma/seed.mjs"}
    repo.write("package.json", json.dumps(package, indent=2))
    repo.write(
        "prisma/seed.mjs",
        'import { PrismaClient } from "../generated/index.js";\n'
        "const prisma = new PrismaClient();\n"
        'const where = { email: "bob@example.com" };\n'
        "const bob = await prisma.user.findUniqueOrThrow({ where });\n"
        "await prisma.order.create({ data: { customerId: bob.id } });\n"
        "await prisma.$disconnect();\n",
    )
    out = repo.ok("db.seed")
    assert "prisma db seed" in out
    assert seeded(repo)[1] == 2  # the module seed's order and the one prisma/seed.mjs wrote
