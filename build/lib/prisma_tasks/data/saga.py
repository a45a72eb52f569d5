"""Sagas: ordered steps across modules, each with a compensation, and their persisted state.

A saga definition is data; the mediator (mediator.py) runs it:

    PLACE_ORDER = SagaDefinition("orders.place_order", (
        Step("create order", create_order, compensation=cancel_order),
        Step("reserve stock", reserve_stock, compensation=release_stock),
        Step("create invoice", create_invoice, compensation=void_invoice),
        Step("confirm order", confirm_order),
    ))

A step is `action(db, saga) -> updates | None`: it does its module's work through `db` (calling
the module's own functions, which touch the module's own tables only and publish events
through the outbox) and may return a mapping merged into the saga's data (e.g. the id it
created), which later steps and compensations read from `saga.data`. A compensation
`compensation(db, saga)` semantically undoes its step (release the stock, void the invoice).

State (SagaInstance): status, completedSteps (how many steps are done; compensation walks back
from there), data (JSON) and the last error. It is written after every step.

THE RULE FOR STEPS (and compensations)
--------------------------------------
The crash that matters is the one between a step's effect and the state write that records
it: on resume the step would run again. The mediator closes that window for everything that
goes through `db`: it runs the step and the state write in ONE transaction (the step in a
savepoint of it), so after any crash either both are in the database or neither is, and a
resumed saga never repeats a committed step nor skips one. Hence:

1. A step does all its database work through the `db` it is given. It never opens another
   connection or commits on its own (module functions open `unit_of_work(db)`, which becomes
   a savepoint here), and it publishes events with `outbox.publish(db, ...)` so they commit
   with the step, never by calling another service directly.
2. Anything a step does outside that transaction (an HTTP call, another database, a file) can
   happen again after a crash: it must be idempotent, keyed by `saga.key(step_name)` (the
   saga id plus the step name), e.g. as the provider's idempotency key.
3. A failing step raises. Its savepoint rolls back (no partial effect), the saga turns
   COMPENSATING, and the completed steps are compensated in reverse order, each compensation
   again in one transaction with the state write. A step's own failure is never compensated:
   it left nothing.
4. Compensations must not fail for business reasons (releasing stock always succeeds). One
   that raises anyway parks the saga as FAILED with the error; `Mediator.resume(id,
   retry_failed=True)` carries on from the same step once the cause is fixed.
5. Steps keep their own guards anyway where the data gives one cheaply (an invoice is unique
   per order, an order is confirmed only from PENDING), so a step called twice by mistake, or
   outside a saga, does no harm.

Process death (SIGKILL, power loss, KeyboardInterrupt, SystemExit) is not a step failure: the
open transaction rolls back and the saga stays where its last committed state says; a later
`resume()` or `resume_pending()` continues forward (RUNNING) or keeps compensating
(COMPENSATING). A saga therefore always ends fully COMPLETED or fully COMPENSATED.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from prisma_tasks.db.connection import Connection


class SagaStatus(str, Enum):
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    COMPENSATING = "COMPENSATING"
    COMPENSATED = "COMPENSATED"
    FAILED = "FAILED"


FINISHED = frozenset({SagaStatus.COMPLETED, SagaStatus.COMPENSATED})
PENDING = frozenset({SagaStatus.RUNNING, SagaStatus.COMPENSATING})


@dataclass(frozen=True)
class SagaContext:
    """What a step sees: the saga's id, type and data so far (read-only)."""

    saga_id: str
    type: str
    data: Mapping[str, Any]

    def key(self, step_name: str) -> str:
        """An idempotency key for work a step does outside the database (rule 2)."""
        return f"{self.saga_id}:{step_name}"


StepAction = Callable[[Connection, SagaContext], Mapping[str, Any] | None]
Compensation = Callable[[Connection, SagaContext], None]


@dataclass(frozen=True)
class Step:
    name: str
    action: StepAction
    compensation: Compensation | None = None


@dataclass(frozen=True)
class SagaDefinition:
    type: str
    steps: tuple[Step, ...]

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError(f"saga {self.type!r} has no steps")
        names = [step.name for step in self.steps]
        if len(set(names)) != len(names):
            raise ValueError(f"saga {self.type!r} has duplicate step names: {names}")


@dataclass(frozen=True)
class SagaState:
    id: str
    type: str
    status: SagaStatus
    completed_steps: int
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def context(self) -> SagaContext:
        return SagaContext(self.id, self.type, dict(self.data))


class SagaConflict(RuntimeError):
    """The saga's stored state changed under us (another mediator advanced it)."""


# -- persistence (SagaInstance, owned by the platform module) -------------------------------
_COLUMNS = '"id", "type", "status", "completedSteps", "data", "error"'


def encode(data: Mapping[str, Any]) -> str:
    return json.dumps(dict(data), sort_keys=True, separators=(",", ":"))


def insert(db: Connection, saga_id: str, saga_type: str, data: Mapping[str, Any]) -> bool:
    """Create a RUNNING saga; False when a saga with this id exists already."""
    created = db.execute(
        'INSERT INTO "SagaInstance" ("id", "type", "status", "completedSteps", "data", '
        '"updatedAt") VALUES (?, ?, ?, 0, ?, CURRENT_TIMESTAMP) '
        'ON CONFLICT ("id") DO NOTHING RETURNING "id"',
        [saga_id, saga_type, SagaStatus.RUNNING.value, encode(data)],
    )
    return bool(created)


def load(db: Connection, saga_id: str, *, for_update: bool = False) -> SagaState | None:
    """The saga's state; `for_update` locks its row on PostgreSQL until the transaction ends."""
    lock = " FOR UPDATE" if for_update and db.dialect == "postgres" else ""
    row = db.one(f'SELECT {_COLUMNS} FROM "SagaInstance" WHERE "id" = ?{lock}', [saga_id])
    if row is None:
        return None
    saga_id, saga_type, status, completed, data, error = row
    return SagaState(
        saga_id, saga_type, SagaStatus(status), int(completed), json.loads(data), error
    )


def save(
    db: Connection,
    previous: SagaState,
    *,
    status: SagaStatus | None = None,
    completed_steps: int | None = None,
    data: Mapping[str, Any] | None = None,
    error: str | None = None,
) -> SagaState:
    """Write the next state, guarded: only if the stored state is still `previous`."""
    state = SagaState(
        previous.id,
        previous.type,
        status or previous.status,
        previous.completed_steps if completed_steps is None else completed_steps,
        dict(previous.data if data is None else data),
        error if error is not None else previous.error,
    )
    updated = db.execute(
        'UPDATE "SagaInstance" SET "status" = ?, "completedSteps" = ?, "data" = ?, "error" = ?, '
        '"updatedAt" = CURRENT_TIMESTAMP '
        'WHERE "id" = ? AND "status" = ? AND "completedSteps" = ? RETURNING "id"',
        [
            state.status.value,
            state.completed_steps,
            encode(state.data),
            state.error,
            previous.id,
            previous.status.value,
            previous.completed_steps,
        ],
    )
    if not updated:
        raise SagaConflict(
            f"saga {previous.id} is no longer {previous.status.value} after "
            f"{previous.completed_steps} steps: another mediator advanced it"
        )
    return state


def pending_ids(db: Connection, types: Iterable[str]) -> list[str]:
    """Ids of RUNNING or COMPENSATING sagas of these types, oldest first."""
    types = list(types)
    if not types:
        return []
    rows = db.execute(
        'SELECT "id" FROM "SagaInstance" WHERE "status" IN (?, ?) '
        f'AND "type" IN ({", ".join("?" for _ in types)}) ORDER BY "createdAt", "id"',
        [SagaStatus.RUNNING.value, SagaStatus.COMPENSATING.value, *types],
    )
    return [row[0] for row in rows]
