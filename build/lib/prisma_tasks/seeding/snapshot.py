"""Every table's row count and a content digest, to prove that seeding twice changes nothing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from prisma_tasks.db.connection import Connection, quote


@dataclass(frozen=True)
class TableState:
    rows: int
    digest: str


def snapshot(connection: Connection) -> dict[str, TableState]:
    state = {}
    for table in connection.tables():
        rows = connection.execute(f"SELECT * FROM {quote(table)}")
        # Order-independent: the same rows in another physical order are the same content.
        encoded = sorted(repr(row) for row in rows)
        state[table] = TableState(
            len(rows), hashlib.sha256("\n".join(encoded).encode()).hexdigest()
        )
    return state


def differences(before: dict[str, TableState], after: dict[str, TableState]) -> list[str]:
    found = []
    for table in sorted(before.keys() | after.keys()):
        old, new = before.get(table), after.get(table)
        if old == new:
            continue
        if old is None or new is None:
            found.append(f"table {table} {'appeared' if old is None else 'disappeared'}")
        elif old.rows != new.rows:
            found.append(f"table {table}: {old.rows} rows became {new.rows}")
        else:
            found.append(f"table {table}: same {old.rows} rows, different content")
    return found
