"""Child processes for the data-rule tests: `python -m tests.integration.data_children CMD ...`.

Each prints READY once connected, so a test kills it only after it started working.

- `relay URL NAME BATCH LOG [--go]`: one relay delivering every `test.counted` event to an
  idempotent consumer whose effect is a ConsumerEffect row (no unique key: an effect applied
  twice shows as two rows). Every delivery is appended to LOG with os.write, which survives a
  SIGKILL. With --go it waits for a line on stdin first (a start barrier for several relays).
  It ends when a claim finds nothing and prints `DONE <events delivered>`.
- `uow URL`: inserts rows into Ledger inside one unit of work, prints MIDWAY, sleeps.
- `sagas URL COUNT CUSTOMER P1 P2`: resumes pending order sagas, then places orders
  K-0000 .. K-<COUNT-1> (placing a finished one again only reads its state).
"""

from __future__ import annotations

import os
import sys
import time

from prisma_tasks.data.consumer import consume
from prisma_tasks.data.outbox import OutboxEvent
from prisma_tasks.data.relay import Relay
from prisma_tasks.data.unit_of_work import unit_of_work
from prisma_tasks.db.connection import Connection

TOPIC = "test.counted"
EFFECT_TABLE = 'CREATE TABLE "ConsumerEffect" ("eventId" INTEGER NOT NULL, "relay" TEXT NOT NULL)'


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def relay(url: str, name: str, batch: str, log: str, *flags: str) -> None:
    relay_db = Connection.open(url)
    consumer_db = Connection.open(url)
    deliveries = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def effect(db: Connection, event: OutboxEvent) -> None:
        db.execute(
            'INSERT INTO "ConsumerEffect" ("eventId", "relay") VALUES (?, ?)', [event.id, name]
        )

    def handler(event: OutboxEvent) -> None:
        os.write(deliveries, f"{event.id}\n".encode())
        consume(consumer_db, "effects", event, effect)

    worker = Relay(relay_db, batch_size=int(batch))
    worker.subscribe(TOPIC, handler)
    say("READY")
    if "--go" in flags:
        sys.stdin.readline()
    stats = worker.run(until_empty=True)
    say(f"DONE {stats.delivered}")


def uow(url: str) -> None:
    db = Connection.open(url)
    with unit_of_work(db):
        for number in range(100):
            db.execute('INSERT INTO "Ledger" ("id", "amount") VALUES (?, ?)', [number, 1])
        say("MIDWAY")
        time.sleep(60)


def order_items(index: int, first: int, second: int) -> dict[int, int]:
    """Mostly orders that complete; every 3rd also takes the scarce product (it runs out),
    every 7th is above billing's automated limit: both are compensated."""
    items = {first: 1 + index % 4}
    if index % 3 == 0:
        items[second] = 2
    if index % 7 == 3:
        items[first] = 150
    return items


def sagas(url: str, count: str, customer: str, first: str, second: str) -> None:
    from modules.orders.place_order import order_mediator, place_order

    db = Connection.open(url)
    mediator = order_mediator(db)
    say("READY")
    mediator.resume_pending()
    for index in range(int(count)):
        items = order_items(index, int(first), int(second))
        place_order(mediator, "acme", int(customer), f"K-{index:04d}", items)
    say("DONE")


COMMANDS = {"relay": relay, "uow": uow, "sagas": sagas}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]](*sys.argv[2:])
