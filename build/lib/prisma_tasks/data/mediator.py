"""The mediator: runs sagas step by step, persisting their state, and resumes them after a crash.

    mediator = Mediator(db, [PLACE_ORDER])
    state = mediator.start("orders.place_order", {"tenantId": "acme", ...}, saga_id="po:A-7")
    state.status                       # COMPLETED, or COMPENSATED when a step failed
    mediator.resume_pending()          # at start-up: finish what a crashed process left

Each move of a saga is one transaction on `db` (see the rule in saga.py): lock the saga's row,
re-read its state, run one step (or one compensation) in a savepoint, write the new state,
commit. A step that raises an Exception turns the saga COMPENSATING (its own savepoint rolled
back) and the completed steps are compensated in reverse order; anything else escaping
(KeyboardInterrupt, SystemExit, a dying process) rolls the open transaction back and leaves
the saga to `resume()`. Finishing publishes `<type>.completed` or `<type>.compensated` through
the outbox, in the same transaction as the final state.

The steps' modules share the mediator's database (one database, as in this monorepo), which is
what makes a step and its state write atomic; a step whose effect lives elsewhere falls under
rule 2 of saga.py (idempotent, keyed by `saga.key(step)`).

`start` with an explicit saga id is idempotent: starting a saga that exists already resumes
it, or returns its final state (the stored data wins over the data passed). Two mediators
advancing the same saga serialise on its row lock (PostgreSQL) or on SQLite's write lock; the
state write is also guarded (SagaConflict).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from prisma_tasks.data import saga as store
from prisma_tasks.data.outbox import publish
from prisma_tasks.data.saga import FINISHED, SagaDefinition, SagaState, SagaStatus, Step
from prisma_tasks.data.unit_of_work import unit_of_work
from prisma_tasks.db.connection import Connection

log = logging.getLogger(__name__)

_ERROR_LIMIT = 2000


class UnknownSaga(LookupError):
    """No saga with that id, or no definition registered for its type."""


class Mediator:
    def __init__(self, db: Connection, definitions: Iterable[SagaDefinition] = ()) -> None:
        self.db = db
        self._definitions: dict[str, SagaDefinition] = {}
        for definition in definitions:
            self.register(definition)

    def register(self, definition: SagaDefinition) -> None:
        if definition.type in self._definitions:
            raise ValueError(f"saga type {definition.type!r} is registered already")
        self._definitions[definition.type] = definition

    def definition(self, saga_type: str) -> SagaDefinition:
        try:
            return self._definitions[saga_type]
        except KeyError:
            raise UnknownSaga(f"no saga definition registered for {saga_type!r}") from None

    # -- public operations ----------------------------------------------------------------------
    def start(
        self, saga_type: str, data: Mapping[str, Any], *, saga_id: str | None = None
    ) -> SagaState:
        """Create the saga (unless `saga_id` exists already) and run it to its end."""
        self.definition(saga_type)
        saga_id = saga_id or f"{saga_type}:{uuid.uuid4().hex}"
        with unit_of_work(self.db):
            created = store.insert(self.db, saga_id, saga_type, data)
        if not created:
            existing = self.state(saga_id)
            if existing.type != saga_type:
                raise ValueError(f"saga {saga_id} exists with type {existing.type!r}")
        return self._advance(saga_id, retry_failed=False)

    def resume(self, saga_id: str, *, retry_failed: bool = False) -> SagaState:
        """Continue a RUNNING saga or finish compensating a COMPENSATING one.

        A FAILED saga (a compensation raised) is left alone unless `retry_failed`.
        """
        return self._advance(saga_id, retry_failed=retry_failed)

    def resume_pending(self) -> list[SagaState]:
        """Resume every RUNNING or COMPENSATING saga of the registered types."""
        return [self.resume(saga_id) for saga_id in store.pending_ids(self.db, self._definitions)]

    def abort(self, saga_id: str, reason: str) -> SagaState:
        """Stop a RUNNING saga and compensate what it completed (e.g. a timeout)."""
        with unit_of_work(self.db):
            state = self._locked(saga_id)
            if state.status is SagaStatus.RUNNING:
                store.save(self.db, state, status=SagaStatus.COMPENSATING, error=reason)
        return self._advance(saga_id, retry_failed=False)

    def state(self, saga_id: str) -> SagaState:
        state = store.load(self.db, saga_id)
        if state is None:
            raise UnknownSaga(f"no saga {saga_id!r}")
        return state

    # -- the engine -----------------------------------------------------------------------------
    def _advance(self, saga_id: str, *, retry_failed: bool) -> SagaState:
        while True:
            with unit_of_work(self.db):
                state, more = self._move(self._locked(saga_id), retry_failed)
            if not more:
                return state

    def _locked(self, saga_id: str) -> SagaState:
        state = store.load(self.db, saga_id, for_update=True)
        if state is None:
            raise UnknownSaga(f"no saga {saga_id!r}")
        return state

    def _move(self, state: SagaState, retry_failed: bool) -> tuple[SagaState, bool]:
        """One move inside the caller's transaction; (new state, whether to move again)."""
        if state.status in FINISHED:
            return state, False
        if state.status is SagaStatus.FAILED:
            if not retry_failed:
                return state, False
            return store.save(self.db, state, status=SagaStatus.COMPENSATING), True
        steps = self.definition(state.type).steps
        if state.status is SagaStatus.RUNNING:
            if state.completed_steps >= len(steps):
                return self._finish(state, SagaStatus.COMPLETED), False
            return self._forward(state, steps[state.completed_steps]), True
        if state.completed_steps == 0:
            return self._finish(state, SagaStatus.COMPENSATED), False
        return self._backward(state, steps[state.completed_steps - 1])

    def _forward(self, state: SagaState, step: Step) -> SagaState:
        try:
            with unit_of_work(self.db):
                updates = step.action(self.db, state.context())
        except Exception as error:
            log.warning("saga %s: step %r failed, compensating: %s", state.id, step.name, error)
            return store.save(
                self.db, state, status=SagaStatus.COMPENSATING, error=_describe(step, error)
            )
        data = {**state.data, **(updates or {})}
        return store.save(self.db, state, completed_steps=state.completed_steps + 1, data=data)

    def _backward(self, state: SagaState, step: Step) -> tuple[SagaState, bool]:
        try:
            with unit_of_work(self.db):
                if step.compensation is not None:
                    step.compensation(self.db, state.context())
        except Exception as error:
            log.error("saga %s: compensation of %r failed: %s", state.id, step.name, error)
            failed = store.save(
                self.db, state, status=SagaStatus.FAILED, error=_describe(step, error, "undo ")
            )
            return failed, False
        return store.save(self.db, state, completed_steps=state.completed_steps - 1), True

    def _finish(self, state: SagaState, status: SagaStatus) -> SagaState:
        final = store.save(self.db, state, status=status)
        publish(
            self.db,
            f"{state.type}.{status.value.lower()}",
            state.id,
            {"sagaId": state.id, "data": final.data, "error": final.error},
        )
        return final


def _describe(step: Step, error: Exception, prefix: str = "") -> str:
    return f"{prefix}{step.name}: {type(error).__name__}: {error}"[:_ERROR_LIMIT]
