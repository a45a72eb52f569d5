"""Prisma as a dependency of one workspace package (packages/db, the Turborepo layout), with no
node_modules at the root: the CLI is found from package.json `workspaces`, and migrate and
generate work through it, also with `prisma_command` set to a command that sets up no
module path of its own (a plain `node .../prisma/build/index.js`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .conftest import GENERATOR, REPO, Monorepo

pytestmark = [pytest.mark.e2e, pytest.mark.backend("postgres")]

BASE = 'datasource db {\n  provider = "postgresql"\n  url      = env("DATABASE_URL")\n}\n'
USER = "model User {\n  id    Int    @id @default(autoincrement())\n  email String @unique\n}\n"


def workspace_repo(root: Path, database_url: str, extra: str = "") -> Monorepo:
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
    # output beside the package: the default would write into this repository's node_modules
    repo.write("packages/db/prisma/base.prisma", BASE + GENERATOR)
    repo.write("modules/identity/schema/models.prisma", USER)
    return repo


def test_the_cli_of_a_workspace_package_migrates_and_generates(
    tmp_path: Path, prisma_tasks_provisioner
) -> None:
    repo = workspace_repo(tmp_path / "repo", prisma_tasks_provisioner.clone())
    doctor = repo.ok("doctor")
    assert "packages/db/node_modules/.bin/prisma" in doctor
    repo.ok("prisma.migrate", "--name", "init")
    assert (repo.root / "packages/db/generated/client/index.js").is_file()
    assert (repo.root / "packages/db/.prisma-tasks/prisma/prisma.config.postgresql.mjs").is_file()
    assert not (repo.root / "node_modules").exists()
    assert "Database schema is up to date" in repo.ok("prisma.status")


def test_generate_works_with_prisma_command_set(tmp_path: Path, prisma_tasks_provisioner) -> None:
    command = 'prisma_command = "node packages/db/node_modules/prisma/build/index.js"\n'
    repo = workspace_repo(tmp_path / "repo", prisma_tasks_provisioner.clone(), command)
    assert "generated the client" in repo.ok("prisma.generate", "--force")
    assert (repo.root / "packages/db/generated/client/index.js").is_file()
