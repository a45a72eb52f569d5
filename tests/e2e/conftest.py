"""A small monorepo on disk, driven through `invoke` with the real Prisma CLI of this repo."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# A test per backend, each run only in the session of its backend.
BOTH_BACKENDS = pytest.mark.parametrize(
    "backend",
    [pytest.param(name, marks=pytest.mark.backend(name)) for name in ("postgres", "sqlite")],
)

BASES = {
    "postgres": 'datasource db {\n  provider = "postgresql"\n  url      = env("DATABASE_URL")\n}\n',
    "sqlite": 'datasource db {\n  provider = "sqlite"\n  url      = env("DATABASE_URL")\n}\n',
}
GENERATOR = (
    '\ngenerator client {\n  provider = "prisma-client-js"\n  output   = "../generated/client"\n}\n'
)
IDENTITY = """model User {
  id     Int     @id @default(autoincrement())
  email  String  @unique
  role   Role    @default(MEMBER)
  orders Order[]
}

enum Role {
  ADMIN
  MEMBER
}
"""
ORDERS = """model Order {
  id         Int  @id @default(autoincrement())
  customerId Int
  customer   User @relation(fields: [customerId], references: [id])
}
"""

# The adoption tests' schema and tests: the README's generator (the wasm client), one model,
# a node:test that writes and reads a row of it (on a reused database it would count 2), and a
# JS seed (the same as TypeScript: no types are imported).
WASM_BASE = """datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

generator client {
  provider        = "prisma-client-js"
  previewFeatures = ["driverAdapters"]
}
"""
USER = """model User {
  id    Int    @id @default(autoincrement())
  email String @unique
}
"""
SEED = """export async function seed(prisma) {
  const email = "seed@example.com";
  await prisma.user.upsert({ where: { email }, create: { email }, update: {} });
}
"""
NODE_TEST = """const test = require("node:test");
const assert = require("node:assert");
const { PrismaClient } = require("@prisma/client");

test("writes and reads a user", async () => {
  const prisma = new PrismaClient();
  await prisma.user.create({ data: { email: "js@example.com" } });
  assert.strictEqual(await prisma.user.count({ where: { email: "js@example.com" } }), 1);
  await prisma.$disconnect();
});
"""


@dataclass
class Monorepo:
    root: Path
    database_url: str

    def invoke(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a task as CI does: no terminal on stdin, so nothing can prompt (or hang)."""
        environment = {**os.environ, "DATABASE_URL": self.database_url, **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "invoke", *args],
            cwd=self.root,
            env=environment,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def ok(self, *args: str) -> str:
        result = self.invoke(*args)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout + result.stderr

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def migrations(self) -> list[str]:
        folder = self.root / "prisma" / "migrations"
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.exists() else []


def bare_monorepo(root: Path, database_url: str, pyproject_extra: str = "") -> Monorepo:
    """tasks.py, pyproject.toml and the pinned Prisma CLI of this repo; no schema yet."""
    if not (REPO / "node_modules" / ".bin" / "prisma").exists():
        pytest.fail("the pinned Prisma CLI is not installed: run `invoke prisma.install` (npm ci)")
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        "[project]\nname = 'e2e'\nversion = '0'\n\n"
        f"[tool.prisma-tasks]\nengine = 'wasm'\n{pyproject_extra}"
    )
    (root / "tasks.py").write_text((REPO / "tasks.py").read_text())
    for name in ("package.json", "package-lock.json"):
        (root / name).write_text((REPO / name).read_text())
    os.symlink(REPO / "node_modules", root / "node_modules")
    return Monorepo(root, database_url)


def make_monorepo(
    root: Path, backend: str, database_url: str, pyproject_extra: str = ""
) -> Monorepo:
    repo = bare_monorepo(root, database_url, pyproject_extra)
    repo.write("prisma/base.prisma", BASES[backend] + GENERATOR)
    repo.write("modules/identity/schema/models.prisma", IDENTITY)
    repo.write("modules/orders/schema/models.prisma", ORDERS)
    return repo


def system_postgres_hidden(folder: Path, provider: str) -> dict[str, str]:
    """An environment in which the suite finds no PostgreSQL of the system's and no server to
    use: the search path is an empty folder, every URL and binaries setting is blank."""
    (folder / "empty").mkdir()
    return {
        "DATABASE_URL": "",
        "PRISMA_TASKS_ADMIN_URL": "",
        "PRISMA_TASKS_PG_PROVIDER": provider,
        "PRISMA_TASKS_PG_BINDIR": "",
        "PRISMA_TASKS_PG_SEARCH_PATH": str(folder / "empty"),
        "PRISMA_TASKS_RUNTIME_DIR": str(folder / "runtime"),
    }
