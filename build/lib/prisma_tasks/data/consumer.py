"""Idempotent consumers: a redelivered event is recognised and skipped.

The relay delivers at least once, so a handler can see the same event twice (a relay died
after the handler committed but before the event was marked published). `consume` makes that
harmless: it records ProcessedMessage(consumer, eventId) in the consumer's own transaction,
together with the handler's effect:

    def add_points(db: Connection, event: OutboxEvent) -> None:
        db.execute('UPDATE "Points" SET "total" = "total" + ? WHERE ...', [...])

    relay.subscribe("orders.order_confirmed", consumer(billing_db, "loyalty", add_points))

The record is inserted first (ON CONFLICT DO NOTHING): when it already exists the event was
processed and the handler is not called; when two deliveries race, the second insert waits for
the first transaction and then finds the record. If the handler raises, the record rolls back
with the effect and the next delivery tries again. Each consumer name keeps its own records,
so several consumers of one event are independent.
"""

from __future__ import annotations

from collections.abc import Callable

from prisma_tasks.data.outbox import OutboxEvent
from prisma_tasks.data.unit_of_work import unit_of_work
from prisma_tasks.db.connection import Connection

Effect = Callable[[Connection, OutboxEvent], None]


def consume(db: Connection, consumer_name: str, event: OutboxEvent, handler: Effect) -> bool:
    """Apply `handler(db, event)` once per (consumer, event); False when already processed."""
    with unit_of_work(db):
        claimed = db.execute(
            'INSERT INTO "ProcessedMessage" ("consumer", "eventId") VALUES (?, ?) '
            'ON CONFLICT ("consumer", "eventId") DO NOTHING RETURNING "eventId"',
            [consumer_name, event.id],
        )
        if not claimed:
            return False
        handler(db, event)
        return True


def consumer(db: Connection, consumer_name: str, handler: Effect) -> Callable[[OutboxEvent], None]:
    """A relay handler that runs `handler` through `consume` on the consumer's connection."""

    def deliver(event: OutboxEvent) -> None:
        consume(db, consumer_name, event, handler)

    deliver.__name__ = f"consumer[{consumer_name}]"
    return deliver


def processed(db: Connection, consumer_name: str, event_id: int) -> bool:
    """Whether `consumer_name` has processed the event."""
    return bool(
        db.execute(
            'SELECT 1 FROM "ProcessedMessage" WHERE "consumer" = ? AND "eventId" = ?',
            [consumer_name, event_id],
        )
    )
