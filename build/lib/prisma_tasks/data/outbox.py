"""The transactional outbox: a module publishes an event by writing an OutboxEvent row in the
same transaction as the state change the event announces.

    with unit_of_work(db):
        db.execute('UPDATE "Order" SET "status" = ? WHERE "id" = ?', ["CONFIRMED", order_id])
        publish(db, "orders.order_confirmed", f"order:{order_id}", {"orderId": order_id})

Both commit together or neither does, so an event is never lost after its change committed and
never announced for a change that rolled back. `publish` refuses to run outside a transaction
(NotInTransaction): an autocommitted event could outlive a state change that then failed.
Delivery is the relay's job (relay.py); consumers must be idempotent (consumer.py).

The table (OutboxEvent) belongs to the platform module; modules write it through `publish`
only and never read or write each other's tables.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from prisma_tasks.data.unit_of_work import require_transaction
from prisma_tasks.db.connection import Connection

TABLE = "OutboxEvent"


@dataclass(frozen=True)
class OutboxEvent:
    """An event as the relay hands it to handlers; `payload` is the decoded JSON."""

    id: int
    topic: str
    key: str
    payload: Any
    tenant_id: str | None = None
    attempts: int = 0


def encode(payload: Any) -> str:
    """Payloads are stored as JSON text (portable across PostgreSQL and SQLite)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def publish(
    db: Connection,
    topic: str,
    key: str,
    payload: Any,
    tenant_id: str | None = None,
) -> int:
    """Write an event inside the caller's transaction; returns its id.

    `topic` names what happened ("orders.order_confirmed"), `key` the aggregate it is about
    ("order:42"). The payload must be JSON-serialisable (checked before anything is written).
    """
    if not topic or not key:
        raise ValueError("publish needs a topic and a key")
    text = encode(payload)
    require_transaction(db, f"publish({topic!r})")
    (event_id,) = db.execute(
        'INSERT INTO "OutboxEvent" ("tenantId", "topic", "key", "payload") '
        'VALUES (?, ?, ?, ?) RETURNING "id"',
        [tenant_id, topic, key, text],
    )[0]
    return int(event_id)


def row_to_event(row: tuple[Any, ...]) -> OutboxEvent:
    """(id, topic, key, payload, tenantId, attempts) as selected by the relay."""
    event_id, topic, key, payload, tenant_id, attempts = row
    return OutboxEvent(
        id=int(event_id),
        topic=topic,
        key=key,
        payload=json.loads(payload),
        tenant_id=tenant_id,
        attempts=int(attempts),
    )
