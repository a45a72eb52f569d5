"""A database that cannot be connected to is reported as that: exit 2, the database named with
its password masked, the database's (or Prisma's) own words. No Prisma process is started."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from prisma_tasks.commands.doctor import diagnose
from prisma_tasks.config import load_settings
from prisma_tasks.db.connection import Connection, connection_problem
from prisma_tasks.errors import DatabaseUnreachable
from prisma_tasks.prisma_cli.locate import PrismaInstall
from prisma_tasks.prisma_cli.runner import Prisma

URL = "postgresql://app:s3cret-pw@db.example.invalid:5432/app"


def prisma_in(tree) -> Prisma:
    settings = load_settings(tree.root, environ={})
    return Prisma.for_settings(
        settings, {"PATH": "/usr/bin"}, install=PrismaInstall(("prisma",), "6.7.0", None)
    )


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        # native engines print the code ...
        (
            "Error: P1001: Can't reach database server at `db.example.invalid:5432`\n\n"
            "Please make sure your database server is running at `db.example.invalid:5432`.",
            "P1001: Can't reach database server at `db.example.invalid:5432`",
        ),
        (
            "Error: P1000: Authentication failed against database server at "
            "`db.example.invalid`, the provided database credentials for `app` are not valid.",
            "P1000: Authentication failed against database server at `db.example.invalid`, "
            "the provided database credentials for `app` are not valid.",
        ),
        (
            "Error: P1003: Database `app` does not exist on the database server at "
            "`db.example.invalid:5432`.",
            "P1003: Database `app` does not exist on the database server at "
            "`db.example.invalid:5432`.",
        ),
        # ... wasm mode the same words without it
        (
            "Error: Authentication failed against database server, the provided database "
            "credentials for `app` are not valid.\n\nPlease make sure to provide valid ...",
            "Authentication failed against database server, the provided database credentials "
            "for `app` are not valid.",
        ),
        ("Error: Database `app` does not exist", "Database `app` does not exist"),
    ],
)
def test_prismas_connection_errors_are_mapped(tree, output: str, reason: str) -> None:
    failure = prisma_in(tree).unreachable(output, URL)
    assert isinstance(failure, DatabaseUnreachable) and failure.exit_code == 2
    assert failure.reason == reason
    assert str(failure) == (
        f"cannot connect to the database postgresql://app:***@db.example.invalid:5432/app: {reason}"
    )


def test_a_failed_migration_and_other_errors_are_not_connection_failures(tree) -> None:
    prisma = prisma_in(tree)
    failed = (
        "Error: P3018\n\nA migration failed to apply.\n\nMigration name: 20260101000000_init\n\n"
        "Database error code: 42P01\n\nDatabase error:\nERROR: relation does not exist"
    )
    assert prisma.unreachable(failed, URL) is None
    assert prisma.unreachable("Error: P1012 schema validation", URL) is None


def test_an_opaque_adapter_error_is_explained_by_connecting(tree, tmp_path: Path) -> None:
    # wasm mode: "External error id#0" is all Prisma says of a refused connection or a SQLite
    # file it cannot open; the suite's own driver then says what it was.
    prisma = prisma_in(tree)
    url = f"file:{tmp_path}/missing/dev.db"
    failure = prisma.unreachable("Error: External error id#0", url)
    assert failure is not None
    assert failure.reason == f"the folder {tmp_path}/missing does not exist"
    # ... but not for the placeholder URL of commands that never connect
    assert (
        prisma.unreachable("Error: External error id#0", prisma.command()[1]["DATABASE_URL"])
        is None
    )
    # ... nor when a connection opens (then it was something else)
    sqlite3.connect(tmp_path / "dev.db").close()
    assert prisma.unreachable("Error: External error id#0", f"file:{tmp_path}/dev.db") is None


def test_sqlite_connection_problems_create_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "missing" / "dev.db"
    problem = connection_problem(f"file:{missing}")
    assert problem is not None and "does not exist" in problem.reason
    assert not missing.parent.exists()
    assert "unable to open" in connection_problem(f"file:{tmp_path}").reason
    garbage = tmp_path / "notes.txt"
    garbage.write_text("not a database, but long enough to have a header " * 4)
    assert "not a database" in connection_problem(f"file:{garbage}").reason
    # a file not created yet, in a folder that exists: Prisma creates it, so it is no problem
    # for open_existing (None: nothing to read), but a probe says it is not there
    fresh = tmp_path / "fresh.db"
    assert Connection.open_existing(f"file:{fresh}") is None and not fresh.exists()
    assert connection_problem(f"file:{fresh}").reason == "the database does not exist"
    sqlite3.connect(fresh).close()
    assert connection_problem(f"file:{fresh}") is None


def test_an_unreachable_postgres_names_the_host_and_hides_the_password() -> None:
    problem = connection_problem("postgresql://app:s3cret-pw@127.0.0.1:1/app?connect_timeout=2")
    assert problem is not None
    assert "s3cret-pw" not in str(problem)
    assert str(problem).startswith(
        "cannot connect to the database postgresql://app:***@127.0.0.1:1/"
    )


def test_doctor_connects_to_the_configured_database(tree, tmp_path: Path) -> None:
    base = tree.root / "prisma/base.prisma"
    base.write_text(base.read_text().replace('"postgresql"', '"sqlite"'))
    tree.module("a", "models.prisma", "model A {\n  id Int @id\n}\n")
    settings = load_settings(tree.root, environ={})

    def connection(url: str) -> tuple[str, str]:
        report = diagnose(settings, {"PATH": "/nonexistent", "DATABASE_URL": url})
        (line,) = [
            (status, detail) for status, topic, detail in report.lines if topic == "connection"
        ]
        return line

    status, detail = connection(f"file:{tmp_path}/missing/dev.db")
    assert status == "FAILED" and "cannot connect to the database" in detail
    assert connection(f"file:{tmp_path}/new.db")[0] == "pending"  # prisma.migrate creates it
    sqlite3.connect(tmp_path / "dev.db").close()
    assert connection(f"file:{tmp_path}/dev.db") == ("ok", f"file:{tmp_path}/dev.db: connected")
    # without DATABASE_URL, the dev database only while it exists (doctor starts nothing)
    report = diagnose(settings, {"PATH": "/nonexistent"})
    assert "connection" not in [topic for _, topic, _ in report.lines]
