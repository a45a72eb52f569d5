"""The outbox relay: claims unpublished events in batches and hands them to handlers.

    relay = Relay(Connection.open(url), batch_size=50)
    relay.subscribe("orders.order_confirmed", consumer(billing_db, "billing", on_confirmed))
    relay.run(stop=stop_event)          # or run(until_empty=True), or run_once()

Delivery is at least once: an event is marked published (publishedAt) only after every handler
subscribed to its topic returned, so a relay that dies mid-batch leaves the batch unpublished
and the next relay delivers it again. Handlers must therefore be idempotent; `consumer.consume`
makes them so. Events are delivered in id order within a batch; with several relays, or after
a redelivery, there is no global order: consumers must not depend on one.

PostgreSQL: several relays can run at once. A batch is claimed with
`SELECT ... FOR UPDATE SKIP LOCKED` inside one transaction that stays open while the batch is
delivered and ends by stamping publishedAt: other relays skip the locked rows (no event is
handed to two relays), and a relay that dies releases its rows when its connection drops.
Handlers normally use their own connection (never to update a claimed OutboxEvent row: that
would wait for the relay forever). One that shares the relay's connection runs inside the
claim transaction and commits with the publishedAt stamp; it must go through `consume`, whose
savepoint keeps a failing handler from aborting the whole claim.

SQLite: one relay per database file, enforced with an exclusive lock on `<file>.relay.lock`
(RelayBusy for a second one; the kernel drops the lock when the process dies; the empty file
stays). The batch is
read without a transaction and marked published in a short one afterwards: holding SQLite's
single write lock during delivery would block every handler that writes.

A handler that raises leaves its event unpublished and adds one to OutboxEvent.attempts; the
event is retried with the next batches until `max_attempts`, then parked (left unpublished,
never claimed again) for a person to inspect: see `parked()`. A relay killed mid-delivery
counts no attempt: the batch simply comes again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from prisma_tasks.data.outbox import OutboxEvent, row_to_event
from prisma_tasks.data.unit_of_work import unit_of_work
from prisma_tasks.db.connection import Connection

log = logging.getLogger(__name__)

Handler = Callable[[OutboxEvent], None]

ALL_TOPICS = "*"

_COLUMNS = '"id", "topic", "key", "payload", "tenantId", "attempts"'
_CLAIM = (
    f'SELECT {_COLUMNS} FROM "OutboxEvent" '
    'WHERE "publishedAt" IS NULL AND "attempts" < ? ORDER BY "id" LIMIT ?'
)


class RelayBusy(RuntimeError):
    """Another relay already serves this SQLite database."""


@dataclass
class RelayStats:
    batches: int = 0
    claimed: int = 0
    delivered: int = 0
    failed: int = 0


class Relay:
    """Delivers outbox events from one database to the handlers subscribed to their topics."""

    def __init__(self, db: Connection, *, batch_size: int = 50, max_attempts: int = 10) -> None:
        if batch_size < 1 or max_attempts < 1:
            raise ValueError("batch_size and max_attempts must be at least 1")
        self.db = db
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.stats = RelayStats()
        self._handlers: dict[str, list[Handler]] = {}
        self._lock_file: IO[bytes] | None = None

    def subscribe(self, topic: str, handler: Handler) -> None:
        """Call `handler(event)` for every event of `topic` ("*": every topic)."""
        self._handlers.setdefault(topic, []).append(handler)

    def handlers_for(self, topic: str) -> list[Handler]:
        return [*self._handlers.get(topic, ()), *self._handlers.get(ALL_TOPICS, ())]

    def run_once(self) -> int:
        """Claim and deliver one batch; returns how many events it claimed (0: none ready)."""
        if self.db.dialect == "postgres":
            with unit_of_work(self.db):
                events = self._claim(" FOR UPDATE SKIP LOCKED")
                self._deliver_and_mark(events)
        else:
            self._hold_single_relay_lock()
            events = self._claim("")
            self._deliver_and_mark(events)
        return len(events)

    def run(
        self,
        *,
        stop: threading.Event | None = None,
        until_empty: bool = False,
        idle_seconds: float = 0.2,
    ) -> RelayStats:
        """Deliver batches until `stop` is set, or (until_empty) a claim finds nothing.

        On PostgreSQL rows another relay holds count as nothing: that relay delivers them.
        """
        stop = stop or threading.Event()
        while not stop.is_set():
            if self.run_once():
                continue
            if until_empty:
                break
            stop.wait(idle_seconds)
        return self.stats

    def close(self) -> None:
        """Release the SQLite single-relay lock (the connection stays the caller's)."""
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def __enter__(self) -> Relay:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- one batch --------------------------------------------------------------------------
    def _claim(self, locking: str) -> list[OutboxEvent]:
        rows = self.db.execute(_CLAIM + locking, [self.max_attempts, self.batch_size])
        self.stats.batches += 1 if rows else 0
        self.stats.claimed += len(rows)
        return [row_to_event(row) for row in rows]

    def _deliver_and_mark(self, events: Sequence[OutboxEvent]) -> None:
        if not events:
            return
        delivered: list[int] = []
        failed: list[int] = []
        for event in events:
            (delivered if self._deliver(event) else failed).append(event.id)
        with unit_of_work(self.db):
            if delivered:
                self._update('"publishedAt" = CURRENT_TIMESTAMP', delivered)
            if failed:
                self._update('"attempts" = "attempts" + 1', failed)
        self.stats.delivered += len(delivered)
        self.stats.failed += len(failed)

    def _deliver(self, event: OutboxEvent) -> bool:
        ok = True
        for handler in self.handlers_for(event.topic):
            try:
                handler(event)
            except Exception:
                ok = False
                log.exception(
                    "outbox event %s (%s) failed in %s, attempt %s of %s",
                    event.id,
                    event.topic,
                    getattr(handler, "__name__", handler),
                    event.attempts + 1,
                    self.max_attempts,
                )
        return ok

    def _update(self, assignment: str, ids: Sequence[int]) -> None:
        marks = ", ".join("?" for _ in ids)
        self.db.execute(f'UPDATE "OutboxEvent" SET {assignment} WHERE "id" IN ({marks})', ids)

    # -- SQLite: one relay per file -------------------------------------------------------------
    def _hold_single_relay_lock(self) -> None:
        if self._lock_file is not None:
            return
        path = _sqlite_file(self.db)
        if path is None:
            return  # an in-memory database: only this connection can see it
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no guard
            return
        handle = open(f"{path}.relay.lock", "ab")  # noqa: SIM115 - held until close()
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise RelayBusy(
                f"another relay serves {path}: SQLite supports one relay per database"
            ) from None
        self._lock_file = handle


def _sqlite_file(db: Connection) -> Path | None:
    for _, name, file in db.execute("PRAGMA database_list"):
        if name == "main":
            return Path(file) if file else None
    return None


def unpublished(db: Connection) -> int:
    """How many events wait for delivery (parked ones included)."""
    return int(db.execute('SELECT count(*) FROM "OutboxEvent" WHERE "publishedAt" IS NULL')[0][0])


def parked(db: Connection, max_attempts: int = 10) -> list[OutboxEvent]:
    """Events whose handlers failed `max_attempts` times: no relay claims them any more."""
    rows = db.execute(
        f'SELECT {_COLUMNS} FROM "OutboxEvent" '
        'WHERE "publishedAt" IS NULL AND "attempts" >= ? ORDER BY "id"',
        [max_attempts],
    )
    return [row_to_event(row) for row in rows]
