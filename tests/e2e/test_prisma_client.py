"""The generated Prisma Client queries in wasm mode: unchanged application code (`new
PrismaClient()`), CommonJS and ESM importers, a custom and the default output, both backends.
The rows the client writes are read back with psycopg / sqlite3, not through the client."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from prisma_tasks.db.urls import sqlite_path
from prisma_tasks.prisma_client.preload import client_environment

from .conftest import BASES, BOTH_BACKENDS, IDENTITY, ORDERS, REPO, Monorepo, bare_monorepo

pytestmark = pytest.mark.e2e

ADAPTERS = '  previewFeatures = ["driverAdapters"]\n'

# What a team's code does with the client: the script is the same for CJS and ESM, only the
# import line differs. It prints what it saw; the test checks the database on its own.
SCRIPT = """
const prisma = new PrismaClient();
const seen = {};
async function main() {
  const user = await prisma.user.create({
    data: { email: "ada@example.com", orders: { create: [{}, {}] } },
    include: { orders: true },
  });
  seen.nestedOrders = user.orders.length;
  seen.defaultRole = user.role;
  await prisma.user.update({ where: { id: user.id }, data: { role: "ADMIN" } });
  await prisma.user.upsert({
    where: { email: "bob@example.com" }, create: { email: "bob@example.com" }, update: {},
  });
  try {
    await prisma.user.create({ data: { email: "ada@example.com" } });
  } catch (error) {
    seen.duplicate = error.code;
  }
  try {
    await prisma.$transaction(async (tx) => {
      await tx.user.create({ data: { email: "rolled-back@example.com" } });
      throw new Error("roll back");
    });
  } catch (error) {
    seen.rolledBack = error.message;
  }
  await prisma.$transaction([
    prisma.order.create({ data: { customerId: user.id } }),
    prisma.user.update({ where: { email: "bob@example.com" }, data: { role: "MEMBER" } }),
  ]);
  const raw = await prisma.$queryRaw`SELECT count(*) AS n FROM "Order"`;
  seen.rawOrders = Number(raw[0].n);
  const groups = await prisma.user.groupBy({
    by: ["role"], _count: true, orderBy: { role: "asc" },
  });
  seen.grouped = groups.map((group) => [group.role, group._count]);
  await prisma.$disconnect();
  // Nothing the engine armed may keep Node alive after the last query (no 5 s tail).
  seen.liveTimers = process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
  console.log(JSON.stringify(seen));
}
main().catch((error) => { console.error(error); process.exit(1); });
"""
IMPORTS = {
    "app.cjs": 'const {{ PrismaClient }} = require("{client}");\n',
    "app.mjs": 'import {{ PrismaClient }} from "{client}";\n',
}


def client_repo(root: Path, backend: str, url: str, output: str | None) -> Monorepo:
    repo = bare_monorepo(root, url)
    out = f'  output   = "{output}"\n' if output else ""
    repo.write(
        "prisma/base.prisma",
        BASES[backend]
        + '\ngenerator client {\n  provider = "prisma-client-js"\n'
        + ADAPTERS
        + out
        + "}\n",
    )
    repo.write("modules/identity/schema/models.prisma", IDENTITY)
    repo.write("modules/orders/schema/models.prisma", ORDERS)
    return repo


def own_prisma_client(root: Path) -> None:
    """node_modules whose @prisma/client is a copy, so the default output
    (node_modules/.prisma/client, beside the real @prisma/client) stays inside this repo."""
    (root / "node_modules").unlink()
    modules = root / "node_modules"
    modules.mkdir()
    for entry in (REPO / "node_modules").iterdir():
        if entry.name in ("@prisma", ".prisma"):
            continue
        (modules / entry.name).symlink_to(entry)
    (modules / "@prisma").mkdir()
    for entry in (REPO / "node_modules" / "@prisma").iterdir():
        if entry.name == "client":
            shutil.copytree(entry, modules / "@prisma" / "client", symlinks=True)
        else:
            (modules / "@prisma" / entry.name).symlink_to(entry)


def run_node(repo: Monorepo, script: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": repo.database_url}
    env.update(client_environment("wasm", env))
    return subprocess.run(
        ["node", script], cwd=repo.root, env=env, capture_output=True, text=True, timeout=120
    )


def database_rows(repo: Monorepo, backend: str) -> tuple[list[tuple[str, str]], int]:
    users_sql = 'SELECT email, role::text FROM "User" ORDER BY email'
    orders_sql = 'SELECT count(*) FROM "Order"'
    if backend == "sqlite":
        with sqlite3.connect(sqlite_path(repo.database_url, repo.root)) as connection:
            users = connection.execute(users_sql.replace("::text", "")).fetchall()
            return users, connection.execute(orders_sql).fetchone()[0]
    import psycopg

    with psycopg.connect(repo.database_url) as connection:
        users = connection.execute(users_sql).fetchall()
        return [tuple(row) for row in users], connection.execute(orders_sql).fetchone()[0]


def clear(repo: Monorepo, backend: str) -> None:
    statements = ['DELETE FROM "Order"', 'DELETE FROM "User"']
    if backend == "sqlite":
        with sqlite3.connect(sqlite_path(repo.database_url, repo.root)) as connection:
            for statement in statements:
                connection.execute(statement)
        return
    import psycopg

    with psycopg.connect(repo.database_url, autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)


def check_queries(repo: Monorepo, backend: str, client: str) -> None:
    for name, import_line in IMPORTS.items():
        clear(repo, backend)
        repo.write(name, import_line.format(client=client) + SCRIPT)
        result = run_node(repo, name)
        assert result.returncode == 0, f"{name}: {result.stdout}{result.stderr}"
        seen = json.loads(result.stdout.strip().splitlines()[-1])
        assert seen == {
            "nestedOrders": 2,
            "defaultRole": "MEMBER",
            "duplicate": "P2002",
            "rolledBack": "roll back",
            "rawOrders": 3,
            "grouped": [["ADMIN", 1], ["MEMBER", 1]],
            "liveTimers": 0,
        }, name
        users, orders = database_rows(repo, backend)
        assert users == [("ada@example.com", "ADMIN"), ("bob@example.com", "MEMBER")], name
        assert orders == 3, name


@BOTH_BACKENDS
def test_custom_output_client_queries_without_native_engines(
    tmp_path: Path, backend: str, prisma_tasks_provisioner
) -> None:
    repo = client_repo(tmp_path / "repo", backend, prisma_tasks_provisioner.clone(), "../generated")
    repo.ok("prisma.migrate", "--name", "init")
    assert (repo.root / "generated" / "wasm.js").exists()
    check_queries(repo, backend, "./generated/index.js")


@BOTH_BACKENDS
def test_default_output_client_queries_through_at_prisma_client(
    tmp_path: Path, backend: str, prisma_tasks_provisioner
) -> None:
    repo = client_repo(tmp_path / "repo", backend, prisma_tasks_provisioner.clone(), None)
    own_prisma_client(repo.root)
    repo.ok("prisma.migrate", "--name", "init")
    assert (repo.root / "node_modules" / ".prisma" / "client" / "wasm.js").exists()
    check_queries(repo, backend, "@prisma/client")


def test_a_client_without_driver_adapters_fails_with_the_line_to_add(
    tmp_path: Path, prisma_tasks_backend: str, prisma_tasks_provisioner
) -> None:
    backend = prisma_tasks_backend
    repo = client_repo(tmp_path / "repo", backend, prisma_tasks_provisioner.clone(), "../generated")
    base = repo.root / "prisma" / "base.prisma"
    base.write_text(base.read_text().replace(ADAPTERS, ""))
    out = repo.ok("prisma.migrate", "--name", "init")
    assert 'add `previewFeatures = ["driverAdapters"]`' in out
    assert "base.prisma:" in out  # names the file and line of the generator block
    repo.write("app.cjs", IMPORTS["app.cjs"].format(client="./generated/index.js") + SCRIPT)
    result = run_node(repo, "app.cjs")
    assert result.returncode != 0
    assert 'previewFeatures = ["driverAdapters"]' in result.stderr
    assert database_rows(repo, backend) == ([], 0)


@pytest.mark.backend("sqlite")
def test_a_relative_sqlite_url_is_the_file_prisma_migrated(tmp_path: Path) -> None:
    # `file:./app.db` is relative to the schema folder (prisma/), as native Prisma and the Client
    # resolve it; wasm-mode migrate once created it at the repository root instead, and the
    # application's Client then opened an empty prisma/app.db ("no such table").
    repo = client_repo(tmp_path / "repo", "sqlite", "file:./app.db", "../generated")
    repo.ok("prisma.migrate", "--name", "init")
    migrated = repo.root / "prisma" / "app.db"
    assert migrated.exists() and not (repo.root / "app.db").exists()

    repo.write("app.cjs", IMPORTS["app.cjs"].format(client="./generated/index.js") + SCRIPT)
    result = run_node(repo, "app.cjs")  # DATABASE_URL still the relative URL

    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["rawOrders"] == 3
    with sqlite3.connect(migrated) as connection:
        assert connection.execute('SELECT count(*) FROM "Order"').fetchone() == (3,)
    assert sorted(p.name for p in repo.root.rglob("app.db")) == ["app.db"]  # only prisma/'s
