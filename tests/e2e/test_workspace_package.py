"""Prisma as a dependency of one workspace package (packages/db, the Turborepo layout), with no
node_modules at the root: the CLI is found from package.json `workspaces`, and migrate and
generate work through it, also with `prisma_command` set to a command that sets up no
module path of its own (a plain `node .../prisma/build/index.js`)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from prisma_tasks.db.urls import sqlite_path

from .conftest import (
    BASES,
    BOTH_BACKENDS,
    NODE_TEST,
    REPO,
    SEED,
    USER,
    WASM_BASE,
    Monorepo,
)

pytestmark = pytest.mark.e2e
# output beside the package: the default would write into this repository's node_modules
GENERATOR = (
    '\ngenerator client {\n  provider        = "prisma-client-js"\n'
    '  previewFeatures = ["driverAdapters"]\n  output          = "../generated/client"\n}\n'
)


def workspace_repo(
    root: Path, database_url: str, extra: str = "", backend: str = "postgres"
) -> Monorepo:
    if not (REPO / "node_modules" / ".bin" / "prisma").exists():
        pytest.fail("the pinned Prisma CLI is not installed: run `invoke prisma.install` (npm ci)")
    repo = Monorepo(root, database_url)
    repo.write(
        "pyproject.toml",
        "[tool.prisma-tasks]\nengine = 'wasm'\n"
        'base_schema = "packages/db/prisma/base.prisma"\n'
        f'collected_dir = "packages/db/prisma/schemas"\n{extra}',
    )
    repo.write("tasks.py", (REPO / "tasks.py").read_text())
    repo.write("package.json", json.dumps({"private": True, "workspaces": ["packages/*"]}))
    repo.write("packages/db/package.json", (REPO / "package.json").read_text())
    os.symlink(REPO / "node_modules", root / "packages" / "db" / "node_modules")
    repo.write("packages/db/prisma/base.prisma", BASES[backend] + GENERATOR)
    repo.write("modules/identity/schema/models.prisma", USER)
    return repo


@BOTH_BACKENDS
def test_the_cli_of_a_workspace_package_migrates_and_generates(
    tmp_path: Path, backend: str, prisma_tasks_provisioner
) -> None:
    """The wasm config imports prisma/config and the backend's driver adapter
    (adapter-pg + pg, adapter-libsql + @libsql/client) from packages/db's node_modules."""
    repo = workspace_repo(tmp_path / "repo", prisma_tasks_provisioner.clone(), backend=backend)
    doctor = repo.ok("doctor")
    assert "packages/db/node_modules/.bin/prisma; package packages/db" in doctor
    repo.ok("prisma.migrate", "--name", "init")
    assert (repo.root / "packages/db/generated/client/index.js").is_file()
    # a TypeScript seed: tsx is a dependency of packages/db, not of the root
    repo.write("modules/identity/seeds/01_users.ts", SEED.replace("(prisma)", "(prisma: any)"))
    assert "seeded identity" in repo.ok("db.seed")
    provider = "sqlite" if backend == "sqlite" else "postgresql"
    config = f"packages/db/.prisma-tasks/prisma/prisma.config.{provider}.cjs"
    assert (repo.root / config).is_file()
    assert not (repo.root / "node_modules").exists()
    assert "Database schema is up to date" in repo.ok("prisma.status")


@pytest.mark.backend("postgres")
def test_generate_works_with_prisma_command_set(tmp_path: Path, prisma_tasks_provisioner) -> None:
    command = 'prisma_command = "node packages/db/node_modules/prisma/build/index.js"\n'
    repo = workspace_repo(tmp_path / "repo", prisma_tasks_provisioner.clone(), command)
    assert "generated the client" in repo.ok("prisma.generate", "--force")
    assert (repo.root / "packages/db/generated/client/index.js").is_file()


YARN = "@yarnpkg/cli-dist@4.18.1"  # yarn berry, from the npm registry (corepack cannot download)
PNPM = "pnpm@10.34.9"


def npm_tool(prefix: Path, spec: str) -> Path:
    """A package manager installed from the npm registry into `prefix`; its bin folder."""
    subprocess.run(
        [
            "npm",
            "install",
            "--prefix",
            str(prefix),
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            spec,
        ],
        check=True,
    )
    return prefix / "node_modules" / ".bin"


def without_ci(env: dict[str, str]) -> dict[str, str]:
    """A laptop's environment: package managers create lockfiles only when CI is unset."""
    return {key: value for key, value in {**os.environ, **env}.items() if key != "CI"}


@pytest.mark.backend("postgres")
def test_pnpm_without_hoisting_queries_through_the_adapters_of_packages_db(
    tmp_path: Path, prisma_tasks_provisioner
) -> None:
    """pnpm with `hoist=false`: the generated client, inside node_modules/.pnpm, sees only its
    own dependencies; the wasm-mode client hook finds the driver adapters packages/db depends
    on (a JS seed and a node:test suite query through them)."""
    env = {"PATH": f"{npm_tool(tmp_path / 'tools', PNPM)}{os.pathsep}{os.environ['PATH']}"}
    root = tmp_path / "repo"
    repo = Monorepo(root, prisma_tasks_provisioner.clone())
    pins = json.loads((REPO / "package.json").read_text())["dependencies"]
    wanted = ("prisma", "@prisma/client", "@prisma/adapter-pg", "pg")
    repo.write("package.json", json.dumps({"private": True, "packageManager": PNPM}))
    repo.write("pnpm-workspace.yaml", "packages:\n  - 'packages/*'\n")
    repo.write(".npmrc", "hoist=false\n")
    repo.write(
        "packages/db/package.json",
        json.dumps({"name": "@acme/db", "dependencies": {name: pins[name] for name in wanted}}),
    )
    repo.write("packages/db/prisma/base.prisma", WASM_BASE)
    repo.write("packages/db/tests/users.test.js", NODE_TEST)
    repo.write("modules/identity/schema/models.prisma", USER)
    repo.write("modules/identity/seeds/01_users.mjs", SEED)
    repo.write("tasks.py", (REPO / "tasks.py").read_text())
    repo.write(
        "pyproject.toml",
        "[tool.prisma-tasks]\nengine = 'wasm'\n"
        'base_schema = "packages/db/prisma/base.prisma"\n'
        'collected_dir = "packages/db/prisma/schemas"\n',
    )
    subprocess.run(
        ["pnpm", "install"], cwd=root, env=without_ci(env), check=True, capture_output=True
    )
    assert not (root / "node_modules/.pnpm/node_modules").exists()  # nothing hoisted

    def run(*task: str) -> str:
        result = repo.invoke(*task, env=env)
        assert result.returncode == 0, f"{task}: {result.stdout}{result.stderr}"
        return result.stdout + result.stderr

    run("prisma.migrate", "--name", "init")
    assert "seeded identity" in run("db.seed")
    for _ in (1, 2):  # a fresh database each time: the count is 1 again
        out = run("db.run", "--", "node", "--test", "packages/db/tests/")
        assert "# pass 1" in out and "# fail 0" in out


@pytest.mark.backend("postgres")
def test_yarn_berry_plug_n_play_is_refused_and_node_modules_works(
    tmp_path: Path, prisma_tasks_provisioner
) -> None:
    """Yarn 4 with its default Plug'n'Play: every task says Prisma 6.7 cannot run there and
    what to do; with `nodeLinker: node-modules` the same workspace migrates and its node:test
    suite runs on throwaway databases. Installs go through `prisma.install` (berry: --immutable,
    on the lockfile committed beside the workspace)."""
    tools = npm_tool(tmp_path / "tools", YARN)
    registry = subprocess.run(
        ["npm", "config", "get", "registry"], capture_output=True, text=True, check=True
    ).stdout.strip()
    env = {
        "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}",
        "YARN_NPM_REGISTRY_SERVER": registry,  # the registry npm is set up with
        "YARN_ENABLE_TELEMETRY": "0",
    }
    root = tmp_path / "repo"
    repo = Monorepo(root, prisma_tasks_provisioner.clone())
    pins = json.loads((REPO / "package.json").read_text())["dependencies"]
    wanted = ("prisma", "@prisma/client", "@prisma/adapter-pg", "pg")
    repo.write(
        "package.json",
        json.dumps(
            {"private": True, "packageManager": "yarn@4.18.1", "workspaces": ["packages/*"]}
        ),
    )
    repo.write(
        "packages/db/package.json",
        json.dumps({"name": "@acme/db", "dependencies": {name: pins[name] for name in wanted}}),
    )
    repo.write("packages/db/prisma/base.prisma", WASM_BASE)
    repo.write("packages/db/tests/users.test.js", NODE_TEST)
    repo.write("modules/identity/schema/models.prisma", USER)
    repo.write("tasks.py", (REPO / "tasks.py").read_text())
    repo.write(
        "pyproject.toml",
        "[tool.prisma-tasks]\nengine = 'wasm'\n"
        'base_schema = "packages/db/prisma/base.prisma"\n'
        'collected_dir = "packages/db/prisma/schemas"\n',
    )

    def run(*task: str) -> subprocess.CompletedProcess[str]:
        return repo.invoke(*task, env=env)

    # The lockfile a team commits, made as on a laptop: with CI set, yarn berry refuses to create
    # one (YN0028), as an adopting repository's CI would with none committed.
    subprocess.run(
        ["yarn", "install"], cwd=root, env=without_ci(env), check=True, capture_output=True
    )
    installed = run("prisma.install")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert 'installed with yarn berry (2+) (packageManager "yarn@4.18.1")' in installed.stdout
    assert (root / ".pnp.cjs").is_file()
    for task in (("prisma.migrate", "--name", "init"), ("prisma.status",)):
        refused = run(*task)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "Plug'n'Play" in refused.stderr and "nodeLinker: node-modules" in refused.stderr
        assert "Traceback" not in refused.stderr
    assert not (root / "packages/db/prisma/migrations").exists()

    repo.write(".yarnrc.yml", "nodeLinker: node-modules\n")
    installed = run("prisma.install")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert "`yarn install --immutable`" in installed.stdout
    migrated = run("prisma.migrate", "--name", "init")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    for attempt in (1, 2):  # a fresh database each time: the count is 1 again
        result = run("db.run", "--", "node", "--test", "packages/db/tests/")
        assert result.returncode == 0, f"run {attempt}: {result.stdout}{result.stderr}"
        assert "# pass 1" in result.stdout and "# fail 0" in result.stdout


@pytest.mark.backend("sqlite")
def test_prisma_seed_of_the_workspace_package_runs_in_that_package(
    tmp_path: Path, prisma_tasks_provisioner
) -> None:
    """`prisma.seed` in packages/db/package.json (where the Turborepo layout keeps it) runs as
    `prisma db seed` run in packages/db would: its relative path only resolves there. Its files
    are template inputs, so a changed seed builds a new test template."""
    from prisma_tasks.commands.template import template_inputs
    from prisma_tasks.config import load_settings

    repo = workspace_repo(tmp_path / "repo", prisma_tasks_provisioner.clone(), backend="sqlite")
    manifest = repo.root / "packages/db/package.json"
    package = json.loads(manifest.read_text())
    package["prisma"] = {"seed": "node prisma/seed.mjs"}
    manifest.write_text(json.dumps(package, indent=2))
    repo.write(
        "packages/db/prisma/seed.mjs",
        'import { PrismaClient } from "../generated/client/index.js";\n'
        "const prisma = new PrismaClient();\n"
        'const email = "workspace-seed@example.com";\n'
        "await prisma.user.upsert({ where: { email }, create: { email }, update: {} });\n"
        "await prisma.$disconnect();\n",
    )
    repo.ok("prisma.migrate", "--name", "init")
    assert "ran `prisma db seed` (packages/db/package.json prisma.seed)" in repo.ok("db.seed")
    with sqlite3.connect(sqlite_path(repo.database_url, repo.root)) as connection:
        emails = [row[0] for row in connection.execute('SELECT email FROM "User"')]
    assert emails == ["workspace-seed@example.com"]
    inputs = template_inputs(load_settings(repo.root, environ={}))
    assert repo.root / "packages/db/prisma/seed.mjs" in inputs
    assert repo.root / "packages/db/package.json" in inputs
