"""A temp monorepo with seeds: identity <- orders <- billing (names sort against that order).

Shared by tests/integration/test_seeding.py and tests/e2e/test_seed_tasks.py. `base_repo` runs
the real `invoke prisma.migrate` once; `copy_of` gives a test its own copy of the repository on
a fresh database, migrated with the real `invoke prisma.deploy`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from .conftest import Monorepo, make_monorepo

if TYPE_CHECKING:
    from prisma_tasks.databases.provisioner import Provisioner

IDENTITY = """model User {
  id     Int     @id @default(autoincrement())
  email  String  @unique
  name   String
  logins Int     @default(0)
  /// back-relation: no column, no dependency
  orders Order[]
}
"""
ORDERS = """model Order {
  id         Int      @id @default(autoincrement())
  number     String   @unique
  customerId Int
  customer   User     @relation(fields: [customerId], references: [id])
  /// back-relation of billing's Invoice
  invoice    Invoice?
}

/// No unique key besides the id: a plain INSERT into it is not idempotent.
model Note {
  id   Int    @id @default(autoincrement())
  body String
}
"""
BILLING = """model Invoice {
  id         Int   @id @default(autoincrement())
  orderId    Int   @unique
  order      Order @relation(fields: [orderId], references: [id])
  totalCents Int
}
"""

IDENTITY_TABLES = """from prisma_tasks.db.connection import Table

USER = Table("User", key=("email",))
"""
USERS_SEED = """from modules.identity.tables import USER


def seed(db):
    for email, name in (("ada@example.test", "Ada"), ("grace@example.test", "Grace")):
        db.upsert(USER, {"email": email, "name": name})
"""
ORDERS_SEED = """-- One order each; ON CONFLICT keeps the file idempotent on both backends.
INSERT INTO "Order" ("number", "customerId")
SELECT 'A-1', "id" FROM "User" WHERE "email" = 'ada@example.test'
ON CONFLICT ("number") DO UPDATE SET "customerId" = excluded."customerId";  -- the first order

INSERT INTO "Order" ("number", "customerId")
SELECT 'A-2', "id" FROM "User" WHERE "email" = 'grace@example.test'
ON CONFLICT ("number") DO UPDATE SET "customerId" = excluded."customerId";
"""
INVOICES_SEED = """from prisma_tasks.db.connection import Table

INVOICE = Table("Invoice", key=("orderId",))


def seed(db):
    for number, total in (("A-1", 1999), ("A-2", 4999)):
        db.upsert(INVOICE, {"orderId": db.id_of("Order", number=number), "totalCents": total})
"""

SEEDS = {
    "modules/identity/tables.py": IDENTITY_TABLES,
    "modules/identity/seeds/users.py": USERS_SEED,
    "modules/orders/seeds/orders.sql": ORDERS_SEED,
    "modules/billing/seeds/invoices.py": INVOICES_SEED,
}


def seeding_monorepo(root: Path, backend: str, database_url: str) -> Monorepo:
    repo = make_monorepo(root, backend, database_url)
    repo.write("modules/identity/schema/models.prisma", IDENTITY)
    repo.write("modules/orders/schema/models.prisma", ORDERS)
    repo.write("modules/billing/schema/models.prisma", BILLING)
    for relative, text in SEEDS.items():
        repo.write(relative, text)
    return repo


def base_repo(root: Path, backend: str, database_url: str) -> Monorepo:
    """The seeding monorepo with its first migration, made by the real CLI."""
    repo = seeding_monorepo(root, backend, database_url)
    repo.ok("prisma.migrate", "--name", "init")
    assert len(repo.migrations()) == 1, repo.migrations()
    return repo


def copy_of(base: Monorepo, root: Path, database_url: str) -> Monorepo:
    """The base repository (sources and migrations) on a fresh database, deployed by the CLI."""
    shutil.copytree(
        base.root,
        root,
        symlinks=True,
        ignore=shutil.ignore_patterns("generated", ".prisma-tasks", "__pycache__"),
    )
    repo = Monorepo(root, database_url)
    repo.ok("prisma.deploy")
    return repo


@contextmanager
def copy_on_a_clone(base: Monorepo, root: Path, provisioner: Provisioner) -> Iterator[Monorepo]:
    """A copy of `base` at `root` on a database of its own, dropped afterwards (one per test)."""
    url = provisioner.clone()
    try:
        yield copy_of(base, root, url)
    finally:
        provisioner.drop(url)
