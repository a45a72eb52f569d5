"""`invoke db.run -- COMMAND`: any command (here node:test with the Prisma Client) against
throwaway, migrated and seeded databases, in a monorepo built from scratch."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from .conftest import BASES, BOTH_BACKENDS, IDENTITY, ORDERS, Monorepo, bare_monorepo

pytestmark = pytest.mark.e2e
GENERATOR = (
    '\ngenerator client {\n  provider        = "prisma-client-js"\n'
    '  previewFeatures = ["driverAdapters"]\n  output          = "../generated"\n}\n'
)
SEED = (
    "INSERT INTO \"User\" (email, role) VALUES ('seeded@example.com', 'ADMIN')\n"
    "ON CONFLICT (email) DO NOTHING;\n"
)

# A team's JS test: writes through the client and reads back. It passes only on a database
# that is migrated, seeded and its own (run twice, the second run must not see the first's row).
NODE_TEST = """
const test = require("node:test");
const assert = require("node:assert");
const { PrismaClient } = require("../generated");

test("writes and reads users", async () => {
  const prisma = new PrismaClient();
  try {
    assert.deepStrictEqual(
      (await prisma.user.findMany({ select: { email: true } })).map((u) => u.email),
      ["seeded@example.com"],
    );
    await prisma.user.create({ data: { email: "from-test@example.com", orders: { create: {} } } });
    assert.strictEqual(await prisma.order.count(), 1);
  } finally {
    await prisma.$disconnect();
  }
});
"""
WORKERS = """
const { PrismaClient } = require("./generated");
async function main() {
  const seen = {};
  for (const id of ["1", "2"]) {
    process.env.JEST_WORKER_ID = id;  // what a runner's worker k has; read at construction
    const prisma = new PrismaClient();
    await prisma.user.create({ data: { email: `worker${id}@example.com` } });
    seen[id] = (await prisma.user.findMany({ orderBy: { email: "asc" } })).map((u) => u.email);
    await prisma.$disconnect();
  }
  const differ = process.env.DATABASE_URL_1 !== process.env.DATABASE_URL_2;
  console.log(JSON.stringify({ seen, differ }));
}
main();
"""


def run_repo(
    root: Path, backend: str, url: str, base: str | None = None, env: dict[str, str] | None = None
) -> Monorepo:
    repo = bare_monorepo(root, url)
    repo.write("prisma/base.prisma", (base or BASES[backend]) + GENERATOR)
    repo.write("modules/identity/schema/models.prisma", IDENTITY)
    repo.write("modules/identity/seeds/01_users.sql", SEED)
    repo.write("modules/orders/schema/models.prisma", ORDERS)
    repo.write("tests-js/users.test.js", NODE_TEST)
    migrated = repo.invoke("prisma.migrate", "--name", "init", env=env)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    return repo


@BOTH_BACKENDS
def test_a_node_test_suite_runs_on_a_fresh_database_each_time(
    tmp_path: Path, backend: str, prisma_tasks_provisioner
) -> None:
    repo = run_repo(tmp_path / "repo", backend, prisma_tasks_provisioner.clone())
    for attempt in (1, 2):
        result = repo.invoke("db.run", "--", "node", "--test", "tests-js/")
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"run {attempt}: {output}"
        assert "# pass 1" in result.stdout and "# fail 0" in result.stdout, output
    # the databases are gone: nothing of the runs is left beside the template
    assert "kept database" not in output


@pytest.mark.backend("sqlite")
def test_exit_codes_pass_through_and_kept_databases_are_printed(
    tmp_path: Path, prisma_tasks_provisioner
) -> None:
    repo = run_repo(tmp_path / "repo", "sqlite", prisma_tasks_provisioner.clone())
    result = repo.invoke("db.run", "--", "node", "-e", "process.exit(5)")
    assert result.returncode == 5, result.stdout + result.stderr
    failing = repo.invoke("db.run", "--keep", "--", "node", "-e", "process.exit(0)")
    assert failing.returncode == 0
    (kept,) = re.findall(r"kept database: (file:\S+)", failing.stderr)
    assert Path(kept.removeprefix("file:")).is_file()
    missing = repo.invoke("db.run", "--", "no-such-command-here")
    assert missing.returncode == 2 and "command not found: no-such-command-here" in missing.stderr


@pytest.mark.backend("postgres")
def test_every_datasource_variable_and_each_worker_get_their_database(
    tmp_path: Path, prisma_tasks_provisioner
) -> None:
    base = (
        'datasource db {\n  provider  = "postgresql"\n  url       = env("POSTGRES_PRISMA_URL")\n'
        '  directUrl = env("DIRECT_DATABASE_URL")\n}\n'
    )
    url = prisma_tasks_provisioner.clone()
    own = {"POSTGRES_PRISMA_URL": url, "DIRECT_DATABASE_URL": url}
    repo = run_repo(tmp_path / "repo", "postgres", url, base=base, env=own)
    variables = ["POSTGRES_PRISMA_URL", "DIRECT_DATABASE_URL", "DATABASE_URL"]
    show = f"console.log(JSON.stringify({variables}.map((name) => process.env[name])))"
    result = repo.invoke("db.run", "--", "node", "-e", show, env=own)
    assert result.returncode == 0, result.stdout + result.stderr
    prisma_url, direct, database = json.loads(result.stdout.strip().splitlines()[-1])
    assert prisma_url == direct == database and prisma_url != url  # a throwaway, not the dev DB

    repo.write("workers.js", WORKERS)
    result = repo.invoke("db.run", "--workers", "2", "--", "node", "workers.js", env=own)
    assert result.returncode == 0, result.stdout + result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {
        "differ": True,
        "seen": {
            "1": ["seeded@example.com", "worker1@example.com"],
            "2": ["seeded@example.com", "worker2@example.com"],
        },
    }


# Stands in for a test runner: on SIGTERM it notes it was asked to stop, and which database it
# still reaches, then exits; until then it holds the database open.
STOPPABLE = """
const fs = require("node:fs");
fs.writeFileSync("started", process.env.DATABASE_URL);
process.on("SIGTERM", () => { fs.writeFileSync("stopped", "yes"); process.exit(0); });
setInterval(() => {}, 1000);
"""


@pytest.mark.backend("sqlite")
def test_sigterm_stops_the_command_before_its_database_goes(
    tmp_path: Path, prisma_tasks_provisioner
) -> None:
    import signal
    import subprocess
    import sys
    import time

    repo = run_repo(tmp_path / "repo", "sqlite", prisma_tasks_provisioner.clone())
    repo.write("stoppable.js", STOPPABLE)
    process = subprocess.Popen(
        [sys.executable, "-m", "invoke", "db.run", "--", "node", "stoppable.js"],
        cwd=repo.root,
        env={**os.environ, "DATABASE_URL": repo.database_url},
        stderr=subprocess.PIPE,
        text=True,
    )
    started = repo.root / "started"
    deadline = time.monotonic() + 120
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.exists(), "the command never started"
    database = Path(started.read_text().removeprefix("file:"))
    assert database.is_file()
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert (repo.root / "stopped").read_text() == "yes"  # asked to stop, and it did
    assert not database.exists()  # then its database was removed
