"""The transactional outbox, its relay and idempotent consumers on real databases.

Figures (printed; run with -s to see them): 2,000 events through a relay SIGKILLed at 25
random points, and the throughput of 1 and 4 concurrent relays on PostgreSQL.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest

from prisma_tasks.data.consumer import consume, consumer, processed
from prisma_tasks.data.outbox import OutboxEvent, publish
from prisma_tasks.data.relay import Relay, RelayBusy, parked, unpublished
from prisma_tasks.data.unit_of_work import NotInTransaction, unit_of_work
from prisma_tasks.db.connection import Connection

from .data_children import EFFECT_TABLE, TOPIC
from .data_support import (
    TENANT,
    Children,
    connect,
    count,
    make_shop,
    poll_until,
    sqlite_reference_url,
)


def events(db: Connection) -> list[tuple[str, str, str]]:
    return [
        (row[0], row[1], row[2])
        for row in db.execute('SELECT "topic", "key", "payload" FROM "OutboxEvent" ORDER BY "id"')
    ]


def publish_counted(db: Connection, total: int, per_transaction: int = 100) -> None:
    for start in range(0, total, per_transaction):
        with unit_of_work(db):
            for seq in range(start, min(start + per_transaction, total)):
                publish(db, TOPIC, f"item:{seq}", {"seq": seq})


# -- publish ---------------------------------------------------------------------------------
def test_an_event_commits_with_its_state_change(db: Connection) -> None:
    shop = make_shop(db, {"BOLT": (100, 10)})
    bolt = shop.products["BOLT"]
    with unit_of_work(db):
        db.execute('UPDATE "Product" SET "stock" = 7 WHERE "id" = ?', [bolt])
        event_id = publish(db, "catalog.stock_changed", f"product:{bolt}", {"stock": 7}, TENANT)
    assert events(db) == [("catalog.stock_changed", f"product:{bolt}", '{"stock":7}')]
    row = db.one(
        'SELECT "tenantId", "publishedAt", "attempts" FROM "OutboxEvent" WHERE "id" = ?', [event_id]
    )
    assert row == (TENANT, None, 0)


def test_an_event_rolls_back_with_its_state_change(db: Connection) -> None:
    shop = make_shop(db, {"BOLT": (100, 10)})
    with pytest.raises(RuntimeError), unit_of_work(db):
        db.execute('UPDATE "Product" SET "stock" = 7 WHERE "id" = ?', [shop.products["BOLT"]])
        publish(db, "catalog.stock_changed", "product:x", {"stock": 7})
        raise RuntimeError("the state change failed after the event was written")
    assert events(db) == []
    assert db.one('SELECT "stock" FROM "Product" WHERE "id" = ?', [shop.products["BOLT"]]) == (10,)


def test_publish_outside_a_transaction_is_refused(db: Connection) -> None:
    with pytest.raises(NotInTransaction, match="publish"):
        publish(db, "catalog.stock_changed", "product:1", {"stock": 1})
    with pytest.raises(TypeError), unit_of_work(db):
        publish(db, "catalog.stock_changed", "product:1", {"not json": object()})
    assert events(db) == []


# -- relay and consumers -----------------------------------------------------------------------
def test_every_subscriber_gets_every_event_and_a_redelivery_changes_nothing(
    db: Connection, url: str
) -> None:
    with unit_of_work(db):
        for seq in range(12):
            publish(db, "a" if seq % 2 else "b", f"item:{seq}", {"seq": seq})
    db.execute('CREATE TABLE "Seen" ("consumer" TEXT NOT NULL, "eventId" INTEGER NOT NULL)')
    calls: list[tuple[str, int]] = []

    def recorder(name: str):
        def effect(consumer_db: Connection, event: OutboxEvent) -> None:
            consumer_db.execute('INSERT INTO "Seen" VALUES (?, ?)', [name, event.id])

        def handler(event: OutboxEvent) -> None:
            calls.append((name, event.id))
            consume(consumer_db, name, event, effect)

        return handler

    with connect(url) as consumer_db:
        relay = Relay(db, batch_size=5)
        relay.subscribe("a", recorder("only-a"))
        relay.subscribe("*", recorder("all"))
        relay.run(until_empty=True)
        assert unpublished(db) == 0
        assert relay.stats.delivered == 12 and relay.stats.batches == 3
        # At least once: the same events come again (as after a relay crash) ...
        db.execute('UPDATE "OutboxEvent" SET "publishedAt" = NULL')
        relay.run(until_empty=True)
        relay.close()
    # ... and were handed over twice, but every effect exists once.
    assert len(calls) == 2 * (12 + 6)
    seen = db.execute(
        'SELECT "consumer", count(*), count(DISTINCT "eventId") FROM "Seen" '
        'GROUP BY "consumer" ORDER BY "consumer"'
    )
    assert [tuple(row) for row in seen] == [("all", 12, 12), ("only-a", 6, 6)]
    assert count(db, 'SELECT count(*) FROM "ProcessedMessage"') == 18


def test_a_failing_handler_rolls_back_its_effect_and_is_retried(db: Connection) -> None:
    with unit_of_work(db):
        first = publish(db, "t", "k:1", {"n": 1})
        poison = publish(db, "t", "k:2", {"n": 2})
    db.execute('CREATE TABLE "Seen" ("eventId" INTEGER NOT NULL)')
    failures = {first: 1}

    def effect(consumer_db: Connection, event: OutboxEvent) -> None:
        consumer_db.execute('INSERT INTO "Seen" VALUES (?)', [event.id])
        if event.id == poison or failures.get(event.id, 0) > 0:
            failures[event.id] = failures.get(event.id, 0) - 1
            raise ValueError(f"cannot handle {event.id} yet")

    relay = Relay(db, batch_size=10, max_attempts=3)
    relay.subscribe("t", consumer(db, "flaky", effect))
    relay.run(until_empty=True)
    relay.close()
    # The first event failed once and then went through; its failed attempt left no effect.
    assert processed(db, "flaky", first)
    assert db.execute('SELECT "eventId" FROM "Seen" ORDER BY "eventId"') == [(first,)]
    # The poison event was tried max_attempts times, then parked for a person.
    assert [event.id for event in parked(db, max_attempts=3)] == [poison]
    assert parked(db, max_attempts=3)[0].attempts == 3
    assert not processed(db, "flaky", poison)
    assert relay.stats.failed == 1 + 3


@pytest.mark.backend("postgres")
def test_relays_skip_each_others_locked_batches(fresh_database_url: str) -> None:
    with connect(fresh_database_url) as db:
        publish_counted(db, 20)
        ids = [row[0] for row in db.execute('SELECT "id" FROM "OutboxEvent" ORDER BY "id"')]
    holding, release = threading.Event(), threading.Event()
    first_batch: list[int] = []

    def slow(event: OutboxEvent) -> None:
        first_batch.append(event.id)
        holding.set()
        assert release.wait(30)

    def run_first() -> None:
        with connect(fresh_database_url) as relay_db:
            relay = Relay(relay_db, batch_size=5)
            relay.subscribe(TOPIC, slow)
            relay.run_once()

    thread = threading.Thread(target=run_first)
    thread.start()
    try:
        assert holding.wait(30)
        second_batch: list[int] = []
        with connect(fresh_database_url) as relay_db:
            relay = Relay(relay_db, batch_size=5)
            relay.subscribe(TOPIC, lambda event: second_batch.append(event.id))
            started = time.monotonic()
            assert relay.run_once() == 5
            assert time.monotonic() - started < 5, "the second relay waited for the first"
    finally:
        release.set()
        thread.join(30)
    assert first_batch == ids[:5]
    assert second_batch == ids[5:10]
    with connect(fresh_database_url) as db:
        assert unpublished(db) == 10


def test_sqlite_allows_one_relay_and_recovers_after_one_dies(
    tmp_path_factory, tmp_path: Path
) -> None:
    url = sqlite_reference_url(tmp_path_factory, tmp_path)
    with connect(url) as db, connect(url) as consumer_db, connect(url) as other_db:
        publish_counted(db, 30, per_transaction=30)
        db.execute(EFFECT_TABLE)
        handed: list[int] = []

        def effect(target: Connection, event: OutboxEvent) -> None:
            target.execute('INSERT INTO "ConsumerEffect" VALUES (?, ?)', [event.id, "sqlite"])

        def dies_at_the_fifteenth(event: OutboxEvent) -> None:
            handed.append(event.id)
            consume(consumer_db, "effects", event, effect)
            if len(handed) == 15:
                raise KeyboardInterrupt("the relay process dies")

        first = Relay(db, batch_size=10)
        first.subscribe(TOPIC, dies_at_the_fifteenth)
        with pytest.raises(KeyboardInterrupt):
            first.run(until_empty=True)

        def survives(event: OutboxEvent) -> None:
            handed.append(event.id)
            consume(consumer_db, "effects", event, effect)

        second = Relay(other_db, batch_size=10)
        second.subscribe(TOPIC, survives)
        with pytest.raises(RelayBusy, match="one relay"):
            second.run_once()
        first.close()  # what the kernel does for a relay process that died
        second.run(until_empty=True)
        second.close()
        assert unpublished(db) == 0
        assert len(handed) == 35, "the 5 events of the interrupted batch came again"
        assert db.execute('SELECT count(*), count(DISTINCT "eventId") FROM "ConsumerEffect"') == [
            (30, 30)
        ]


# -- reliability figures (PostgreSQL) ---------------------------------------------------------
KILL_EVENTS = 2000
KILLS = 25


@pytest.mark.backend("postgres")
def test_relay_killed_at_random_points_loses_nothing_and_doubles_nothing(
    fresh_database_url: str, children: Children, tmp_path: Path
) -> None:
    url = fresh_database_url
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    log = tmp_path / "deliveries.log"
    started = time.perf_counter()
    with connect(url) as db:
        publish_counted(db, KILL_EVENTS)
        db.execute(EFFECT_TABLE)

        def done() -> int:
            return count(
                db, 'SELECT count(*) FROM "ProcessedMessage" WHERE "consumer" = ?', ["effects"]
            )

        kill_points = []
        for kill in range(KILLS):
            target = done() + rng.randint(10, 60)
            child = children.start("relay", url, f"run{kill}", "25", str(log))
            child.wait_ready()
            assert poll_until(lambda t=target: done() >= t, timeout=30), child.stderr.read_text()
            time.sleep(rng.uniform(0, 0.01))
            assert child.kill(), "the relay finished before it could be killed"
            kill_points.append(done())
        restarts = 0
        while unpublished(db):
            restarts += 1
            assert restarts <= 5, "events stay unpublished after the relay ran to the end"
            child = children.start("relay", url, f"final{restarts}", "25", str(log))
            child.wait_ready()
            child.finish()
        elapsed = time.perf_counter() - started

        # 0 lost, every effect exactly once.
        assert unpublished(db) == 0
        assert db.execute('SELECT count(*), count(DISTINCT "eventId") FROM "ConsumerEffect"') == [
            (KILL_EVENTS, KILL_EVENTS)
        ]
        missing = db.execute(
            'SELECT count(*) FROM "OutboxEvent" e WHERE NOT EXISTS '
            '(SELECT 1 FROM "ConsumerEffect" c WHERE c."eventId" = e."id")'
        )
        assert missing == [(0,)]
        assert done() == KILL_EVENTS
        ids = {row[0] for row in db.execute('SELECT "id" FROM "OutboxEvent"')}
    deliveries = log.read_text().split()
    redelivered = len(deliveries) - KILL_EVENTS
    assert set(map(int, deliveries)) == ids
    assert redelivered > 0, "no kill landed after a consume and before its batch was marked"
    print(
        f"\n[figure] outbox: {KILL_EVENTS} events, relay SIGKILLed {len(kill_points)} times "
        f"(after {kill_points[0]}..{kill_points[-1]} consumed; seed {seed}), "
        f"{restarts} final run(s): 0 lost, every effect exactly once; {len(deliveries)} "
        f"deliveries, {redelivered} redeliveries skipped by the consumer; {elapsed:.1f}s"
    )


CONCURRENT_EVENTS = 4000


@pytest.mark.backend("postgres")
@pytest.mark.parametrize("relays", [1, 4])
def test_concurrent_relays_deliver_every_event_once(
    fresh_database_url: str, children: Children, tmp_path: Path, relays: int
) -> None:
    url = fresh_database_url
    log = tmp_path / "deliveries.log"
    with connect(url) as db:
        publish_counted(db, CONCURRENT_EVENTS, per_transaction=500)
        db.execute(EFFECT_TABLE)
    workers = [
        children.start("relay", url, f"relay{n}", "50", str(log), "--go") for n in range(relays)
    ]
    for worker in workers:
        worker.wait_ready()
    started = time.perf_counter()
    for worker in workers:
        worker.send("go")
    outputs = [worker.finish(timeout=120) for worker in workers]
    elapsed = time.perf_counter() - started
    delivered = [int(out.split("DONE", 1)[1].split()[0]) for out in outputs]
    with connect(url) as db:
        assert unpublished(db) == 0
        assert db.execute('SELECT count(*), count(DISTINCT "eventId") FROM "ConsumerEffect"') == [
            (CONCURRENT_EVENTS, CONCURRENT_EVENTS)
        ]
        share = db.execute(
            'SELECT "relay", count(*) FROM "ConsumerEffect" GROUP BY "relay" ORDER BY "relay"'
        )
    # No event was handed to two relays (SKIP LOCKED), so none was even redelivered.
    assert sum(delivered) == CONCURRENT_EVENTS
    assert len(log.read_text().split()) == CONCURRENT_EVENTS
    if relays > 1:
        assert len(share) >= 2, f"only one relay did any work: {share}"
    print(
        f"\n[figure] {relays} relay(s): {CONCURRENT_EVENTS} events in {elapsed:.2f}s = "
        f"{CONCURRENT_EVENTS / elapsed:.0f} events/s; per relay {dict(share)}"
    )
