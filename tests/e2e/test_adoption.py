"""The README's "Use it in your monorepo", word for word, in a brand-new Node monorepo: a fresh
virtual environment, the npm packages from the registry, `prisma-tasks prisma.init`, the first
`invoke prisma.migrate` on the dev database, then the noxfile init wrote (gate, pytest with the
plugin, the package.json test script through db.run), the JS session twice; a JS module seed
runs in the template both use. Then the same in a pnpm workspace with Prisma in packages/db
(pnpm itself installed from the npm registry)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .conftest import NODE_TEST, REPO, SEED, USER, WASM_BASE

pytestmark = [pytest.mark.e2e, pytest.mark.backend("postgres")]

PACKAGE_JSON = """{
  "name": "acme-shop",
  "private": true,
  "scripts": { "test": "node --test tests-js/" }
}
"""
PYTEST = """import psycopg


def test_the_users_table_is_migrated(database_url):
    with psycopg.connect(database_url) as connection:
        connection.execute("INSERT INTO \\"User\\" (email) VALUES ('py@example.com')")
        count = 'SELECT count(*) FROM "User" WHERE email = %s'
        assert connection.execute(count, ("py@example.com",)).fetchone()[0] == 1
        assert connection.execute(count, ("seed@example.com",)).fetchone()[0] == 1
"""
PNPM = "pnpm@10.34.9"


def readme_blocks() -> list[list[str]]:
    """The shell lines of each sh block of the README's adoption section, as a newcomer would
    copy them."""
    text = (REPO / "README.md").read_text()
    section = text.split("## Use it in your monorepo", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert blocks, "the adoption section has no sh block"
    return [
        [line.split("#", 1)[0].strip() for line in block.splitlines() if line] for block in blocks
    ]


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


@dataclass
class Adopter:
    """A machine of its own: none of this suite's session variables, its venv first on PATH
    (and `extra_path` after it); each step is a shell command at the repository root, timed."""

    root: Path
    extra_path: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def venv_bin(self) -> Path:
        return self.root / ".venv" / "bin"

    @property
    def env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PRISMA_TASKS_", "VIRTUAL_ENV", "NOX_"))
            and key != "DATABASE_URL"
        }
        env["PATH"] = os.pathsep.join(map(str, [self.venv_bin, *self.extra_path, env["PATH"]]))
        return env

    def write(self, files: dict[str, str]) -> None:
        for relative, text in files.items():
            (self.root / relative).parent.mkdir(parents=True, exist_ok=True)
            (self.root / relative).write_text(text)
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=self.root, check=True)

    def step(self, name: str, command: str) -> str:
        command = command.replace("/path/to/prisma-tasks", str(REPO))
        if command.startswith("python3 -m venv"):
            command = command.replace("python3", sys.executable, 1)
        # `. .venv/bin/activate` does nothing across separate shells: PATH has the venv
        command = command.replace(" && . .venv/bin/activate", "")
        started = time.perf_counter()
        result = subprocess.run(
            command,
            shell=True,
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        self.timings[name] = time.perf_counter() - started
        assert result.returncode == 0, f"{name}: {command}\n{result.stdout}{result.stderr}"
        return result.stdout + result.stderr

    def readme(self, lines: list[str]) -> str:
        assert lines[0].startswith("python3 -m venv .venv")
        output = ""
        for number, line in enumerate(lines):
            output = self.step(f"readme line {number + 1}", line)
        assert "wrote tasks.py" in output and "wrote noxfile.py" in output
        assert "to do:" not in output, output  # everything the README lists is in place
        return output

    def close(self) -> None:
        subprocess.run(
            [str(self.venv_bin / "invoke"), "db.down"],
            cwd=self.root,
            env=self.env,
            capture_output=True,
        )
        print("adoption steps (s): " + ", ".join(f"{k} {v:.1f}" for k, v in self.timings.items()))


def needs(program: str) -> None:
    if shutil.which(program) is None:
        pytest.fail(f"{program} is needed (installed by .ci/run)")


def test_a_new_monorepo_adopts_prisma_tasks_as_the_readme_says(repo_root: Path) -> None:
    needs("npm")
    repo_root.mkdir()
    adopter = Adopter(repo_root)
    adopter.write(
        {
            "package.json": PACKAGE_JSON,
            "prisma/base.prisma": WASM_BASE,
            "modules/identity/schema/user.prisma": USER,
            "modules/identity/seeds/01_users.mjs": SEED,
            "tests/test_users.py": PYTEST,
            "tests-js/users.test.js": NODE_TEST,
        }
    )
    try:
        adopter.readme(readme_blocks()[0])
        noxfile = (repo_root / "noxfile.py").read_text()
        assert "def integration(" in noxfile and "def js(" in noxfile

        out = adopter.step("invoke prisma.migrate --name init", "invoke prisma.migrate --name init")
        assert "using the local dev database" in out
        assert (repo_root / "node_modules" / ".prisma" / "client" / "wasm.js").exists()
        out = adopter.step("nox", "nox")
        assert "* gate: success" in out and "* integration: success" in out
        assert "* js: success" in out and "# pass 1" in out
        out = adopter.step("nox -s js (again)", "nox -s js")  # a fresh database: count is 1 again
        assert "# pass 1" in out and "# fail 0" in out
    finally:
        adopter.close()


def test_a_pnpm_workspace_with_prisma_in_packages_db_adopts_it(repo_root: Path) -> None:
    """The README's lines with its workspace note's `pnpm add` in place of `npm install`, pnpm
    installed from the npm registry; Prisma, the client and the adapters are dependencies of
    packages/db only, so nothing resolves from the root's node_modules."""
    needs("npm")
    repo_root.mkdir()
    tools = repo_root.parent / "tools"
    adopter = Adopter(repo_root, extra_path=[tools / "node_modules" / ".bin"])
    root_package = json.dumps(
        {
            "name": "acme",
            "private": True,
            "packageManager": PNPM,
            "scripts": {"test": "node --test"},
        }
    )
    adopter.write(
        {
            "package.json": root_package,
            "pnpm-workspace.yaml": "packages:\n  - 'packages/*'\n",
            "packages/db/package.json": '{ "name": "@acme/db", "private": true }\n',
            "packages/db/prisma/base.prisma": WASM_BASE,
            "modules/identity/schema/user.prisma": USER,
            "modules/identity/seeds/01_users.mjs": SEED,
            "tests/test_users.py": PYTEST,
            "packages/db/tests/users.test.js": NODE_TEST,
        }
    )
    try:
        adopter.step(
            f"npm install {PNPM}",
            f"npm install --prefix {tools} --no-audit --no-fund --loglevel=error {PNPM}",
        )
        first, workspace = readme_blocks()[:2]
        lines = [workspace[0] if line.startswith("npm install") else line for line in first]
        out = adopter.readme(lines)
        assert "packages/db/prisma/schemas" in (repo_root / "pyproject.toml").read_text()

        out = adopter.step("invoke prisma.install", "invoke prisma.install")
        assert "installed with pnpm (packageManager" in out and "--frozen-lockfile" in out
        out = adopter.step("invoke prisma.migrate --name init", "invoke prisma.migrate --name init")
        assert "using the local dev database" in out
        assert list(
            repo_root.glob(
                "node_modules/.pnpm/@prisma+client@*/node_modules/.prisma/client/wasm.js"
            )
        )
        assert json.loads((repo_root / "package.json").read_text()) == json.loads(root_package)
        out = adopter.step("nox -s integration", "nox -s integration")
        assert "Session integration was successful" in out and "1 passed" in out
        for run in ("", " (again)"):  # a fresh database each time: the row count is 1 again
            out = adopter.step(f"invoke db.run -- node --test{run}", "invoke db.run -- node --test")
            assert "# pass 1" in out and "# fail 0" in out
    finally:
        adopter.close()
