"""What a database holds, read from its catalog, as sets that two databases can be compared by.

`schema_objects` is what a Prisma schema describes (tables, columns with types, nullability and
defaults, indexes, primary/unique/foreign keys, enums, extensions); `history_only` is what
only SQL in a migration can make (CHECK and exclusion constraints, functions, triggers).
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

SYSTEM_SCHEMAS = "('pg_catalog', 'information_schema', 'pg_toast')"
HISTORY_TABLE = "_prisma_migrations"
CHECK_CLAUSE = re.compile(r"\bCHECK\s*\(", re.I)


def postgres_catalog(url: str) -> tuple[dict[str, set], dict[str, set]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:

        def rows(sql: str) -> set[tuple]:
            return {tuple(row) for row in connection.execute(sql).fetchall()}

        exclusion = {
            name for (name,) in rows("SELECT conname FROM pg_constraint WHERE contype='x'")
        }
        schema_objects = {
            "tables": rows(
                "SELECT table_schema, table_name FROM information_schema.tables "
                f"WHERE table_schema NOT IN {SYSTEM_SCHEMAS} AND table_type = 'BASE TABLE' "
                f"AND table_name <> '{HISTORY_TABLE}'"
            ),
            # generation expressions are left out: a Prisma schema cannot describe them
            # (`@default(dbgenerated())` leaves a generated column to the database).
            "columns": rows(
                "SELECT table_schema, table_name, column_name, data_type, udt_schema, udt_name, "
                "is_nullable, coalesce(column_default, ''), character_maximum_length, "
                "numeric_precision, numeric_scale FROM information_schema.columns "
                f"WHERE table_schema NOT IN {SYSTEM_SCHEMAS} AND table_name <> '{HISTORY_TABLE}'"
            ),
            "indexes": {
                row
                for row in rows(
                    "SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes "
                    f"WHERE schemaname NOT IN {SYSTEM_SCHEMAS} AND tablename <> '{HISTORY_TABLE}'"
                )
                if row[2] not in exclusion
            },
            "keys": rows(
                "SELECT n.nspname, c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid) "
                "FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                f"WHERE k.contype IN ('p', 'u', 'f') AND c.relname <> '{HISTORY_TABLE}'"
            ),
            "enums": rows(
                "SELECT n.nspname, t.typname, "
                "string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e "
                "JOIN pg_type t ON t.oid = e.enumtypid "
                "JOIN pg_namespace n ON n.oid = t.typnamespace "
                "GROUP BY n.nspname, t.typname"
            ),
            "extensions": rows("SELECT extname FROM pg_extension WHERE extname <> 'plpgsql'"),
        }
        history_only = {
            "checks": rows(
                "SELECT conname, contype FROM pg_constraint k JOIN pg_namespace n "
                f"ON n.oid = k.connamespace WHERE contype IN ('c', 'x') AND n.nspname NOT IN "
                f"{SYSTEM_SCHEMAS}"
            ),
            "functions": rows(
                "SELECT n.nspname, p.proname FROM pg_proc p JOIN pg_namespace n "
                f"ON n.oid = p.pronamespace WHERE n.nspname NOT IN {SYSTEM_SCHEMAS} "
                "AND NOT EXISTS "
                "(SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')"
            ),
            "triggers": {
                name for (name,) in rows("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
            },
        }
    return schema_objects, history_only


def sqlite_catalog(path: Path) -> tuple[dict[str, set], dict[str, set]]:
    with sqlite3.connect(path) as connection:
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                f"AND name NOT LIKE 'sqlite_%' AND name <> '{HISTORY_TABLE}'"
            )
        ]
        columns, indexes, keys = set(), set(), set()
        for table in tables:
            for _, name, kind, notnull, default, pk in connection.execute(
                f'PRAGMA table_info("{table}")'
            ):
                columns.add((table, name, kind, notnull, default, pk))
            for _, name, unique, origin, _partial in connection.execute(
                f'PRAGMA index_list("{table}")'
            ):
                indexed = tuple(
                    column for *_, column in connection.execute(f'PRAGMA index_info("{name}")')
                )
                indexes.add((table, name, unique, origin, indexed))
            for row in connection.execute(f'PRAGMA foreign_key_list("{table}")'):
                keys.add((table, *row[2:]))
        schema_objects = {
            "tables": set(tables),
            "columns": columns,
            "indexes": indexes,
            "keys": keys,
        }
        history_only = {
            "checks": {
                (table,)
                for table, sql in connection.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'table'"
                )
                if sql and CHECK_CLAUSE.search(sql)
            },
            "triggers": {
                name
                for (name,) in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                )
            },
        }
    return schema_objects, history_only
