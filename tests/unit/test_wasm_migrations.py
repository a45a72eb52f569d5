"""Wasm-mode migration handling that is pure logic: datasource settings, which URL each Prisma
command gets, how a failed migration is reported, and where SQLite says a statement ends."""

from __future__ import annotations

import json
import shutil
import subprocess
from importlib import resources

import pytest

from prisma_tasks.config import load_settings
from prisma_tasks.prisma_cli import migrations
from prisma_tasks.prisma_cli.datasource import UrlSetting, read_datasource
from prisma_tasks.prisma_cli.engines import choose
from prisma_tasks.prisma_cli.locate import PrismaInstall
from prisma_tasks.prisma_cli.runner import Prisma, failed_migration

DATASOURCE = """// url = env("COMMENTED_OUT")
datasource db {
  provider          = "postgresql" // postgres, pooled
  url               = env("POSTGRES_PRISMA_URL")
  directUrl         = env("DIRECT_DATABASE_URL")
  /* shadowDatabaseUrl = env("NOT_THIS") */
  shadowDatabaseUrl = env("SHADOW_URL")
}
"""


def prisma_with(tree, datasource: str, mode: str, environ: dict[str, str]) -> Prisma:
    tree.write("prisma/base.prisma", datasource)
    settings = load_settings(tree.root, environ={})
    install = PrismaInstall(("prisma",), "6.7.0", None)
    prisma = Prisma.for_settings(settings, environ, install=install)
    prisma.engine = (
        choose("wasm", None, {}) if mode == "wasm" else prisma.engine.__class__(mode, "")
    )
    return prisma


def test_the_datasource_reader_understands_comments_and_env(tree) -> None:
    datasource = read_datasource(tree.write("prisma/base.prisma", DATASOURCE))
    assert datasource.provider == "postgresql"
    assert datasource.url == UrlSetting(env="POSTGRES_PRISMA_URL")
    assert datasource.url_variable == "POSTGRES_PRISMA_URL"
    assert datasource.direct_url == UrlSetting(env="DIRECT_DATABASE_URL")
    assert datasource.shadow_database_url == UrlSetting(env="SHADOW_URL")


def test_a_literal_url_and_the_postgres_alias(tree) -> None:
    text = 'datasource db {\n  provider = "postgres"\n  url = "postgresql://u@h/db"\n}\n'
    datasource = read_datasource(tree.write("prisma/base.prisma", text))
    assert datasource.provider == "postgresql"
    assert datasource.url == UrlSetting(literal="postgresql://u@h/db")
    assert datasource.url_variable == "DATABASE_URL" and datasource.direct_url is None


@pytest.mark.parametrize("mode", ["wasm", "native"])
def test_direct_url_is_honoured_for_the_users_own_database(tree, mode: str) -> None:
    environ = {
        "POSTGRES_PRISMA_URL": "postgresql://pooler/db",
        "DIRECT_DATABASE_URL": "postgresql://direct/db",
    }
    prisma = prisma_with(tree, DATASOURCE, mode, environ)
    _, env = prisma.command("migrate", "deploy")
    assert env["POSTGRES_PRISMA_URL"] == env["DATABASE_URL"] == "postgresql://pooler/db"
    assert env["DIRECT_DATABASE_URL"] == "postgresql://direct/db"
    assert env.get("PRISMA_TASKS_DIRECT_URL") == (
        "postgresql://direct/db" if mode == "wasm" else None
    )


@pytest.mark.parametrize("mode", ["wasm", "native"])
def test_a_database_the_suite_chose_is_never_bypassed_through_direct_url(tree, mode) -> None:
    environ = {
        "POSTGRES_PRISMA_URL": "postgresql://pooler/db",
        "DIRECT_DATABASE_URL": "postgresql://prod/db",
    }
    prisma = prisma_with(tree, DATASOURCE, mode, environ)
    _, env = prisma.command("migrate", "deploy", database_url="postgresql://127.0.0.1/throwaway")
    for variable in ("DATABASE_URL", "POSTGRES_PRISMA_URL", "DIRECT_DATABASE_URL"):
        assert env[variable] == "postgresql://127.0.0.1/throwaway"
    assert "PRISMA_TASKS_DIRECT_URL" not in env


def test_wasm_mode_says_once_that_shadow_database_url_is_not_used(tree) -> None:
    wasm = prisma_with(tree, DATASOURCE, "wasm", {})
    assert "shadowDatabaseUrl is not used in wasm mode" in wasm.describe()
    native = prisma_with(tree, DATASOURCE, "native", {})
    assert "shadowDatabaseUrl" not in native.describe()


def test_wasm_diff_goes_through_the_deploy_path(tree, monkeypatch) -> None:
    prisma = prisma_with(tree, DATASOURCE, "wasm", {})
    seen = {}

    def fake_run(*args, **kwargs):
        seen.update(kwargs)
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(prisma, "run", fake_run)
    assert migrations._diff(prisma, "postgresql://127.0.0.1/x", None).empty
    assert seen["extra_env"] == {"PRISMA_TASKS_DIFF_VIA_DEPLOY": "1"}


WASM_FAILURE = """Error: external connector error
Error querying the database: ERROR: relation "t1" already exists
   0: sql_schema_connector::apply_migration::apply_script
           with migration_name="20261202050000_bad"
"""
NATIVE_FAILURE = """Error: P3018

A migration failed to apply. New migrations cannot be applied before the error is recovered from.

Migration name: 20261202050000_bad

Database error code: 42P07

Database error:
ERROR: relation "t1" already exists
"""


def test_a_failed_migration_is_named_with_the_database_error() -> None:
    assert failed_migration(WASM_FAILURE) == (
        'migration 20261202050000_bad failed to apply: ERROR: relation "t1" already exists'
    )
    assert failed_migration(NATIVE_FAILURE).startswith("migration 20261202050000_bad failed")
    assert failed_migration("Error: P1001 Can't reach database server") is None


SPLITTER = """
const statements = sqliteStatements(process.env.SQL_UNDER_TEST);
console.log(JSON.stringify(statements.map((s) => [s.keyword, s.text])));
"""


def sqlite_statements(sql: str) -> list[list[str]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    template = resources.files("prisma_tasks.prisma_cli").joinpath("templates", "sqlite.cjs")
    source = template.read_text(encoding="utf-8").split("\n", 1)[1]  # drop the adapter require
    result = subprocess.run(
        [node, "-e", source + SPLITTER],
        env={"SQL_UNDER_TEST": sql},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_sqlite_statements_end_where_sqlite_says() -> None:
    sql = (
        "-- a; comment\nCREATE TABLE \"a;b\" (x TEXT DEFAULT 'p;q', [c;d] INT, `e;f` INT);\n"
        "/* block; comment */ INSERT INTO t VALUES ('it''s; fine');\n"
        "CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN\n"
        "  UPDATE t SET x = CASE WHEN 1 THEN 'y' END;\n"
        "  SELECT RAISE(ABORT, 'no; way');\nEND;\n"
        "PRAGMA foreign_keys=OFF"
    )
    keywords = [keyword for keyword, _ in sqlite_statements(sql)]
    assert keywords == ["CREATE", "INSERT", "CREATE", "PRAGMA"]
    trigger = sqlite_statements(sql)[2][1]
    assert trigger.startswith("CREATE TEMP TRIGGER") and trigger.endswith("END;")


def test_a_script_with_its_own_transaction_is_recognised() -> None:
    keywords = {k for k, _ in sqlite_statements("BEGIN; CREATE TABLE x (a); COMMIT;")}
    assert {"BEGIN", "COMMIT"} <= keywords
    assert sqlite_statements("-- only a comment\n;;") == []


def test_a_shadow_replay_failure_is_named_too() -> None:
    output = (
        "Error: Migration `20260103000000_touch_trigger` failed to apply cleanly to the shadow "
        'database. \nError:\nSQLITE_ERROR: near "SETT": syntax error\n'
    )
    assert failed_migration(output) == (
        'migration 20260103000000_touch_trigger failed to apply: near "SETT": syntax error'
    )
