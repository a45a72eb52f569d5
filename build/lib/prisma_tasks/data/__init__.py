"""The data rules the modules follow, as a small kit over `Connection` (PostgreSQL, SQLite).

- `unit_of_work`: one module's invariant in one transaction (commit or roll back as a whole).
- `outbox.publish`: an event written in the caller's transaction, beside its state change.
- `relay.Relay`: delivers outbox events to handlers at least once (several relays on
  PostgreSQL, one on SQLite); `consumer.consume` makes a handler idempotent.
- `saga` + `mediator`: ordered cross-module steps with compensations, state persisted per step.
"""

from prisma_tasks.data.consumer import consume
from prisma_tasks.data.mediator import Mediator
from prisma_tasks.data.outbox import OutboxEvent, publish
from prisma_tasks.data.relay import Relay
from prisma_tasks.data.saga import SagaContext, SagaDefinition, SagaState, SagaStatus, Step
from prisma_tasks.data.unit_of_work import in_transaction, unit_of_work

__all__ = [
    "Mediator",
    "OutboxEvent",
    "Relay",
    "SagaContext",
    "SagaDefinition",
    "SagaState",
    "SagaStatus",
    "Step",
    "consume",
    "in_transaction",
    "publish",
    "unit_of_work",
]
