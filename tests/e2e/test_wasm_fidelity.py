"""Wasm mode applies and reads real migration histories as native Prisma does.

The corpus (tests/e2e/corpus, over 100 migrations per backend) is deployed with
`invoke prisma.deploy`, then checked three ways: `prisma.diff` finds no drift; the database's
catalog equals that of a database built from `prisma migrate diff --from-empty` of the final
schema (plus what only SQL can make: CHECK and exclusion constraints, functions, triggers);
and `prisma.check` is green, and red naming the migration once one is broken.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from prisma_tasks.config import load_settings
from prisma_tasks.db.urls import sqlite_path
from prisma_tasks.prisma_cli.runner import Prisma

from .catalog import postgres_catalog, sqlite_catalog
from .conftest import Monorepo, make_monorepo
from .corpus import corpus_monorepo

pytestmark = pytest.mark.e2e

POSTGRES_HISTORY_ONLY = {
    "checks": {
        ("Invoice_amount_nonnegative", "c"),
        ("Invoice_currency_iso", "c"),
        ("Invoice_no_overlap", "x"),
        ("Product_price_positive", "c"),
        *{(f"Feed{k}_label_length", "c") for k in range(10, 101, 10)},
    },
    "functions": {("public", "touch_updated_at"), ("billing", "refuse_paid_edit")},
    "triggers": {"User_touch", "Invoice_touch", "Invoice_paid_guard"},
}
SQLITE_HISTORY_ONLY = {
    "checks": {("Product",), *{(f"Feed{k}",) for k in range(10, 101, 10)}},
    "triggers": {"User_touch"},
}


def from_empty_script(repo: Monorepo, output: Path) -> str:
    """What Prisma itself says the final schema is, as SQL from an empty database."""
    environ = {**os.environ, "DATABASE_URL": repo.database_url}
    prisma = Prisma.for_settings(load_settings(repo.root, environ={}), environ=environ)
    schema = str(prisma.settings.schema_folder)
    prisma.run(
        "migrate", "diff", "--from-empty", "--to-schema-datamodel", schema, "--script",
        "--output", str(output), echo=False,
    )  # fmt: skip
    return output.read_text()


def deploy_and_compare(repo: Monorepo, backend: str, reference_url: str, tmp: Path) -> dict:
    out = repo.ok("prisma.deploy")
    assert "All migrations have been successfully applied" in out, out
    assert "no drift" in repo.ok("prisma.diff")
    script = from_empty_script(repo, tmp / "from-empty.sql")
    if backend == "postgres":
        import psycopg

        with psycopg.connect(reference_url, autocommit=True) as connection:
            connection.execute(script)
        deployed, history = postgres_catalog(repo.database_url)
        reference, reference_history = postgres_catalog(reference_url)
    else:
        with sqlite3.connect(sqlite_path(reference_url, repo.root)) as connection:
            connection.executescript(script)
        deployed, history = sqlite_catalog(sqlite_path(repo.database_url, repo.root))
        reference, reference_history = sqlite_catalog(sqlite_path(reference_url, repo.root))
    for kind, objects in reference.items():
        assert deployed[kind] == objects, (
            f"{kind}: only deployed {sorted(deployed[kind] - objects)[:5]}, "
            f"only from-empty {sorted(objects - deployed[kind])[:5]}"
        )
    assert not any(reference_history.values()), reference_history
    return history


@pytest.mark.backend("postgres")
def test_postgres_corpus_deploys_as_its_schema_says(tmp_path: Path, prisma_tasks_provisioner):
    corpus = corpus_monorepo(tmp_path / "repo", "postgres", prisma_tasks_provisioner.clone())
    assert len(corpus.migrations) >= 100
    history = deploy_and_compare(
        corpus.repo, "postgres", prisma_tasks_provisioner.clone(), tmp_path
    )
    assert history == POSTGRES_HISTORY_ONLY

    import psycopg

    with psycopg.connect(corpus.repo.database_url, autocommit=True) as connection:
        names = connection.execute('SELECT name FROM "public"."Product" ORDER BY sku').fetchall()
        assert names == [("It's a gadget;",), ("Widget; large",)]
        # The guard function's body (a `;` inside its message) arrived whole and runs.
        connection.execute('INSERT INTO "public"."User" (email) VALUES (\'a@example.com\')')
        connection.execute(
            'INSERT INTO "billing"."Invoice" ("userId", "amountCents", "state") '
            'SELECT id, 100, \'PAID\' FROM "public"."User"'
        )
        with pytest.raises(psycopg.errors.CheckViolation, match="is paid; its amount"):
            connection.execute('UPDATE "billing"."Invoice" SET "amountCents" = 5')


@pytest.mark.backend("sqlite")
def test_sqlite_corpus_deploys_as_its_schema_says(tmp_path: Path, prisma_tasks_provisioner):
    corpus = corpus_monorepo(tmp_path / "repo", "sqlite", prisma_tasks_provisioner.clone())
    assert len(corpus.migrations) >= 100
    history = deploy_and_compare(corpus.repo, "sqlite", prisma_tasks_provisioner.clone(), tmp_path)
    assert history == SQLITE_HISTORY_ONLY

    with sqlite3.connect(sqlite_path(corpus.repo.database_url, corpus.repo.root)) as connection:
        connection.execute("INSERT INTO \"User\" (email) VALUES ('a@example.com')")
        with pytest.raises(sqlite3.IntegrityError, match="needs an @; got none"):
            connection.execute("UPDATE \"User\" SET email = 'nobody'")


def test_the_gate_replays_the_corpus_as_deploy_does(
    tmp_path: Path, prisma_tasks_backend: str
) -> None:
    backend = prisma_tasks_backend
    corpus = corpus_monorepo(tmp_path / "repo", backend, "")
    repo = corpus.repo
    repo.ok("prisma.lock")
    assert "prisma.check passed" in repo.ok("prisma.check")

    broken = "20260103000000_touch_trigger"
    path = repo.root / "prisma" / "migrations" / broken / "migration.sql"
    path.write_text(path.read_text().replace("  RETURN NEW;\n", "  RETURN NEW\n", 1))
    if backend == "sqlite":
        path.write_text(path.read_text().replace('UPDATE "User" SET', 'UPDATE "User" SETT', 1))
    result = repo.invoke("prisma.check")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    drift = output.split("FAIL drift", 1)[1].split("FAIL ", 1)[0]
    assert f"migration {broken} failed to apply" in drift, output
    assert "syntax error" in drift, output


FAILING_HALFWAY = {
    "postgres": (
        'CREATE TABLE "Halfway" ("id" SERIAL PRIMARY KEY, "note" TEXT DEFAULT \'x;y\');\n'
        'CREATE INDEX "Halfway_note_idx" ON "Halfway"("note");\n'
        'ALTER TABLE "NoSuchTable" ADD COLUMN "x" INTEGER;\n'
    ),
    "sqlite": (
        'CREATE TABLE "Halfway" ("id" INTEGER PRIMARY KEY, "note" TEXT DEFAULT \'x;y\');\n'
        'CREATE INDEX "Halfway_note_idx" ON "Halfway"("note");\n'
        'ALTER TABLE "NoSuchTable" ADD COLUMN "x" INTEGER;\n'
    ),
}


def test_a_migration_failing_halfway_leaves_nothing_of_it(
    tmp_path: Path, prisma_tasks_backend: str, prisma_tasks_provisioner
) -> None:
    backend = prisma_tasks_backend
    repo = make_monorepo(tmp_path / "repo", backend, prisma_tasks_provisioner.clone())
    repo.ok("prisma.migrate", "--name", "init")
    name = "20991231000000_halfway"
    repo.write(f"prisma/migrations/{name}/migration.sql", FAILING_HALFWAY[backend])
    result = repo.invoke("prisma.deploy")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"migration {name} failed to apply" in output and "NoSuchTable" in output, output
    assert tables(repo, backend) >= {"User", "Order"}
    assert "Halfway" not in tables(repo, backend), "the failing migration left statements applied"
    assert failed_migrations(repo, backend) == [name]


def tables(repo: Monorepo, backend: str) -> set[str]:
    if backend == "sqlite":
        with sqlite3.connect(sqlite_path(repo.database_url, repo.root)) as connection:
            rows = connection.execute("SELECT name FROM sqlite_master WHERE type IN ('table')")
            return {name for (name,) in rows}
    import psycopg

    with psycopg.connect(repo.database_url) as connection:
        rows = connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {name for (name,) in rows}


def failed_migrations(repo: Monorepo, backend: str) -> list[str]:
    sql = 'SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NULL'
    if backend == "sqlite":
        with sqlite3.connect(sqlite_path(repo.database_url, repo.root)) as connection:
            return [name for (name,) in connection.execute(sql)]
    import psycopg

    with psycopg.connect(repo.database_url) as connection:
        return [name for (name,) in connection.execute(sql)]
