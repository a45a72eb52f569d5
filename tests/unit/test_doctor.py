import os
from pathlib import Path

import pytest

from prisma_tasks.commands.doctor import diagnose
from prisma_tasks.config import load_settings


def statuses(tree, environ) -> dict[str, tuple[str, str]]:
    report = diagnose(load_settings(tree.root, environ={}), environ)
    return {topic: (status, detail) for status, topic, detail in report.lines}


def test_reports_a_missing_prisma_cli_with_the_install_command(tree) -> None:
    tree.module("a", "models.prisma", "model A {\n  id Int @id\n}\n")
    (tree.root / "package.json").write_text("{}")
    (tree.root / "package-lock.json").write_text("{}")
    found = statuses(tree, {"PATH": os.environ["PATH"]})
    assert found["prisma"][0] == "MISSING" and "invoke prisma.install" in found["prisma"][1]


def test_reports_missing_node(tree) -> None:
    tree.module("a", "models.prisma", "model A {\n  id Int @id\n}\n")
    found = statuses(tree, {"PATH": "/nonexistent"})
    assert found["node"] == (
        "MISSING",
        "not on PATH: install Node.js 20+ (needed by the Prisma CLI)",
    )


def test_reports_missing_postgres_with_the_install_hint(tree, monkeypatch, tmp_path) -> None:
    import prisma_tasks.databases.pg_binaries as pg_binaries

    tree.module("a", "models.prisma", "model A {\n  id Int @id\n}\n")
    monkeypatch.setattr(pg_binaries, "embedded", lambda: None)  # the extra may be installed
    hidden = {"PRISMA_TASKS_PG_SEARCH_PATH": str(tmp_path / "empty")}
    report = diagnose(load_settings(tree.root, environ=hidden), hidden)
    found = {topic: (status, detail) for status, topic, detail in report.lines}
    assert "postgres" not in found
    assert found["database"][0] == "MISSING"
    for alternative in ("prisma-tasks[embedded]", "apt-get install postgresql"):
        assert alternative in found["database"][1]
    assert "PRISMA_TASKS_PG_BINDIR" in found["database"][1]
    assert "PRISMA_TASKS_ADMIN_URL" in found["database"][1]


def test_names_the_binaries_it_found(tree) -> None:
    tree.module("a", "models.prisma", "model A {\n  id Int @id\n}\n")
    found = statuses(tree, {})
    if found["database"][0] == "MISSING":
        pytest.skip("no PostgreSQL binaries here")
    status, detail = found["postgres"]
    assert status == "ok" and detail.startswith("PostgreSQL ") and " from " in detail


def test_reports_a_stale_collection_and_unlocked_migrations(tree) -> None:
    tree.module("a", "models.prisma", "model A {\n  id Int @id\n}\n")
    migration = tree.root / "prisma/migrations/20260101000000_init"
    migration.mkdir(parents=True)
    (migration / "migration.sql").write_text("SELECT 1;\n")
    found = statuses(tree, {})
    assert found["modules"][0] == "stale"
    assert found["migrations"] == (
        "pending",
        "1 in prisma/migrations; not yet in migrations.lock: 20260101000000_init",
    )


def test_reports_no_module_schema_as_missing(tree) -> None:
    found = statuses(tree, {})
    assert found["modules"][0] == "MISSING" and "no module schema" in found["modules"][1]


def test_configuration_in_force_is_shown(tree) -> None:
    tree.write("pyproject.toml", '[tool.prisma-tasks]\nlink_mode = "copy"\n')
    tree.module("a", "models.prisma", "model A {\n  id Int @id\n}\n")
    assert "link_mode=copy" in statuses(tree, {})["config"][1]


def test_sqlite_needs_no_server(tree) -> None:
    base = Path(tree.root / "prisma/base.prisma")
    base.write_text(base.read_text().replace('"postgresql"', '"sqlite"'))
    tree.module("a", "models.prisma", "model A {\n  id Int @id\n}\n")
    assert statuses(tree, {})["database"] == ("ok", "SQLite files (nothing to install)")
