"""A provider wasm mode cannot serve (Prisma 6.7 has no driver adapter for it) stops every task
before anything starts, with one line saying why; native mode is not affected."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import IDENTITY, bare_monorepo

pytestmark = pytest.mark.e2e

MYSQL = (
    'datasource db {\n  provider = "mysql"\n  url      = env("DATABASE_URL")\n}\n\n'
    'generator client {\n  provider = "prisma-client-js"\n  output   = "../generated"\n}\n'
)


def test_mysql_in_wasm_mode_exits_2_before_anything_starts(tmp_path: Path) -> None:
    repo = bare_monorepo(tmp_path / "repo", "")
    repo.write("prisma/base.prisma", MYSQL)
    repo.write("modules/identity/schema/models.prisma", IDENTITY)
    for task in (
        ("prisma.migrate", "--name", "init"),
        ("prisma.status",),
        ("db.run", "--", "true"),
    ):
        result = repo.invoke(*task, env={"DATABASE_URL": ""})
        assert result.returncode == 2, (task, result.stdout + result.stderr)
        assert "provider 'mysql' cannot run in wasm mode" in result.stderr, task
        assert "Traceback" not in result.stderr
    assert not (repo.root / ".prisma-tasks" / "dev-db").exists()  # no dev database was started
    doctor = repo.invoke("doctor")
    assert doctor.returncode != 0
    assert "provider 'mysql' cannot run in wasm mode" in doctor.stdout + doctor.stderr
