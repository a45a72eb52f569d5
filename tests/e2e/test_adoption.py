"""The README's "Use it in your monorepo", word for word, in a brand-new Node monorepo: a fresh
virtual environment, the npm packages from the registry, `prisma-tasks prisma.init`, the first
`invoke prisma.migrate` on the dev database, then the noxfile init wrote (gate, pytest with the
plugin, the package.json test script through db.run), the JS session twice."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import REPO

pytestmark = [pytest.mark.e2e, pytest.mark.backend("postgres")]

PACKAGE_JSON = """{
  "name": "acme-shop",
  "private": true,
  "scripts": { "test": "node --test tests-js/" }
}
"""
BASE = """datasource db {
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
PYTEST = """import psycopg


def test_the_users_table_is_migrated(database_url):
    with psycopg.connect(database_url) as connection:
        connection.execute("INSERT INTO \\"User\\" (email) VALUES ('py@example.com')")
        assert connection.execute('SELECT count(*) FROM "User"').fetchone()[0] == 1
"""
NODE_TEST = """const test = require("node:test");
const assert = require("node:assert");
const { PrismaClient } = require("@prisma/client");

test("writes and reads a user", async () => {
  const prisma = new PrismaClient();
  await prisma.user.create({ data: { email: "js@example.com" } });
  assert.strictEqual(await prisma.user.count(), 1);
  await prisma.$disconnect();
});
"""


def readme_block() -> list[str]:
    """The shell lines of the README's adoption section, as a newcomer would copy them."""
    text = (REPO / "README.md").read_text()
    section = text.split("## Use it in your monorepo", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the adoption section has no sh block"
    return [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line]


@pytest.fixture
def repo_root() -> Iterator[Path]:
    """A folder outside pytest's temp tree: pytest resets that tree to 0700 whenever a pytest
    starts (the adopting repo's own runs one), and the dev database's server, run as `postgres`
    when we are root (initdb refuses root), must be able to enter the repository."""
    folder = Path(tempfile.mkdtemp(prefix="prisma-tasks-adoption-"))
    folder.chmod(0o711)
    try:
        yield folder / "acme-shop"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_new_monorepo_adopts_prisma_tasks_as_the_readme_says(repo_root: Path) -> None:
    if shutil.which("npm") is None:
        pytest.fail("npm is needed (installed by .ci/run)")
    root = repo_root
    root.mkdir()
    (root / "package.json").write_text(PACKAGE_JSON)
    for relative, text in {
        "prisma/base.prisma": BASE,
        "modules/identity/schema/user.prisma": USER,
        "tests/test_users.py": PYTEST,
        "tests-js/users.test.js": NODE_TEST,
    }.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)

    # A machine of its own: none of this suite's session variables, its venv first on PATH.
    venv_bin = root / ".venv" / "bin"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PRISMA_TASKS_", "VIRTUAL_ENV", "NOX_")) and key != "DATABASE_URL"
    }
    env["PATH"] = f"{venv_bin}{os.pathsep}{env['PATH']}"
    timings: dict[str, float] = {}

    def step(name: str, command: str) -> str:
        command = command.replace("/path/to/prisma-tasks", str(REPO))
        if command.startswith("python3 -m venv"):
            command = command.replace("python3", sys.executable, 1)
        started = time.perf_counter()
        result = subprocess.run(
            command, shell=True, cwd=root, env=env, capture_output=True, text=True, timeout=600
        )
        timings[name] = time.perf_counter() - started
        assert result.returncode == 0, f"{name}: {command}\n{result.stdout}{result.stderr}"
        return result.stdout + result.stderr

    try:
        lines = readme_block()
        assert lines[0].startswith("python3 -m venv .venv")
        for number, line in enumerate(lines):
            # `. .venv/bin/activate` does nothing across separate shells: PATH has the venv
            line = line.replace(" && . .venv/bin/activate", "")
            output = step(f"readme line {number + 1}", line)
        assert "wrote tasks.py" in output and "wrote noxfile.py" in output
        assert "to do:" not in output, output  # everything the README lists is in place
        noxfile = (root / "noxfile.py").read_text()
        assert "def integration(" in noxfile and "def js(" in noxfile

        out = step("invoke prisma.migrate --name init", "invoke prisma.migrate --name init")
        assert "using the local dev database" in out
        assert (root / "node_modules" / ".prisma" / "client" / "wasm.js").exists()
        out = step("nox", "nox")
        assert "* gate: success" in out and "* integration: success" in out
        assert "* js: success" in out and "# pass 1" in out
        out = step("nox -s js (again)", "nox -s js")  # a fresh database: the row count is 1 again
        assert "# pass 1" in out and "# fail 0" in out
    finally:
        subprocess.run(
            [str(venv_bin / "invoke"), "db.down"], cwd=root, env=env, capture_output=True
        )
        print("adoption steps (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
