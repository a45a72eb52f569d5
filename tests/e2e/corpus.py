"""A migration-history corpus written for this suite, laid out as a monorepo in a temp folder.

`corpus/<backend>/` holds the hand-written part: module schemas, base.prisma and migrations that
use what real histories use (functions, triggers, DO blocks, CHECK and exclusion constraints,
extensions, several schemas, enums changed over time, `;` in comments, strings, identifiers and
defaults). `bulk_history` adds a long tail of ordinary migrations (a table each, an index,
sometimes a CHECK), so the history is over 100 migrations long, as real ones are.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from .conftest import Monorepo, bare_monorepo

CORPUS = Path(__file__).parent / "corpus"
BULK_MIGRATIONS = 100
# Where the generated tail of the history starts: after every hand-written migration.
BULK_EPOCH = 20260201000000


@dataclass(frozen=True)
class Corpus:
    repo: Monorepo
    migrations: list[str]

    @property
    def statements(self) -> int:
        """Statements in the history, counted as PostgreSQL/SQLite would (a body is one)."""
        folder = self.repo.root / "prisma" / "migrations"
        return sum(
            count_statements((folder / name / "migration.sql").read_text())
            for name in self.migrations
        )


def corpus_monorepo(root: Path, backend: str, database_url: str) -> Corpus:
    repo = bare_monorepo(root, database_url)
    shutil.copytree(CORPUS / backend, root, dirs_exist_ok=True)
    schema, migrations = bulk_history(backend, BULK_MIGRATIONS)
    repo.write("modules/feeds/schema/feeds.prisma", schema)
    for name, sql in migrations.items():
        repo.write(f"prisma/migrations/{name}/migration.sql", sql)
    return Corpus(repo, repo.migrations())


def bulk_history(backend: str, count: int) -> tuple[str, dict[str, str]]:
    """A `feeds` module of `count` models, each added by a migration of its own."""
    models, migrations = [], {}
    for k in range(1, count + 1):
        table = f"Feed{k}"
        schema_line = '\n  @@schema("public")' if backend == "postgres" else ""
        models.append(
            f"model {table} {{\n"
            "  id      Int    @id @default(autoincrement())\n"
            f'  label   String @default("feed {k}; generated")\n'
            "  ownerId Int?\n\n"
            f"  @@index([label]){schema_line}\n"
            "}\n"
        )
        migrations[f"{BULK_EPOCH + k}_feed_{k}"] = _feed_migration(backend, table, k)
    return "\n".join(models), migrations


def _feed_migration(backend: str, table: str, k: int) -> str:
    if backend == "postgres":
        qualified = f'"public"."{table}"'
        body = (
            f"-- CreateTable\nCREATE TABLE {qualified} (\n"
            '    "id" SERIAL NOT NULL,\n'
            f"    \"label\" TEXT NOT NULL DEFAULT 'feed {k}; generated',\n"
            '    "ownerId" INTEGER,\n\n'
            f'    CONSTRAINT "{table}_pkey" PRIMARY KEY ("id")\n);\n\n'
        )
        check = f'ALTER TABLE {qualified} ADD CONSTRAINT "{table}_label_length" CHECK'
    else:
        qualified = f'"{table}"'
        check_column = ""
        if k % 10 == 0:
            check_column = f',\n    CONSTRAINT "{table}_label_length" CHECK (length("label") < 200)'
        body = (
            f"-- CreateTable\nCREATE TABLE {qualified} (\n"
            '    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,\n'
            f"    \"label\" TEXT NOT NULL DEFAULT 'feed {k}; generated',\n"
            f'    "ownerId" INTEGER{check_column}\n);\n\n'
        )
    body += f'-- CreateIndex\nCREATE INDEX "{table}_label_idx" ON {qualified}("label");\n'
    if backend == "postgres" and k % 10 == 0:
        body += f'\n-- Hand-written; keeps labels short.\n{check} (length("label") < 200);\n'
    return body


def count_statements(sql: str) -> int:
    """Top-level statements: `;` outside quotes, comments and dollar-quoted bodies."""
    count, i, pending = 0, 0, False
    while i < len(sql):
        rest = sql[i:]
        if rest.startswith("--"):
            i = _after(sql, "\n", i)
        elif rest.startswith("/*"):
            i = _after(sql, "*/", i + 2)
        elif sql[i] in "'\"":
            i = _after(sql, sql[i], i + 1)
            pending = True
        elif sql[i] == "$" and (tag := _dollar_tag(rest)):
            i = _after(sql, tag, i + len(tag))
            pending = True
        elif sql[i] == ";":
            count += pending
            pending = False
            i += 1
        else:
            pending = pending or not sql[i].isspace()
            i += 1
    return count + pending


def _after(sql: str, token: str, start: int) -> int:
    found = sql.find(token, start)
    return len(sql) if found < 0 else found + len(token)


def _dollar_tag(text: str) -> str | None:
    end = text.find("$", 1)
    tag = text[: end + 1] if end > 0 else ""
    return tag if tag and (tag == "$$" or tag[1:-1].replace("_", "a").isalnum()) else None
