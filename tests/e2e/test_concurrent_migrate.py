"""Two `invoke prisma.migrate` at once after a schema change write one migration, not two."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import make_monorepo

pytestmark = pytest.mark.e2e


def test_two_migrates_at_once_write_one_migration(tmp_path: Path, prisma_tasks_provisioner) -> None:
    backend = prisma_tasks_provisioner.backend
    repo = make_monorepo(tmp_path / "repo", backend, prisma_tasks_provisioner.clone())
    repo.ok("prisma.migrate", "--name", "init")
    repo.write(
        "modules/identity/schema/audit.prisma",
        "model Audit {\n  id Int @id @default(autoincrement())\n}\n",
    )
    environment = {**os.environ, "DATABASE_URL": repo.database_url}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "invoke", "prisma.migrate", "--name", name],
            cwd=repo.root,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in ("audit_a", "audit_b")
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    added = [name for name in repo.migrations() if not name.endswith("_init")]
    assert len(added) == 1, (added, outputs)
    assert sum("no new migration" in out for out in outputs) == 1, outputs
    assert "up to date" in repo.ok("prisma.status")
