"""Placing an order: the reference cross-module workflow, run as a saga by the mediator.

    create order (orders)  -> undo: cancel the order
    reserve stock (catalog) -> undo: release the stock
    create invoice (billing) -> undo: void the invoice
    confirm order (orders)

Every step calls its module's own functions (each touches only its module's tables and
publishes its events through the outbox) with the saga's connection, so each step commits in
one transaction with the saga's state (the rule in prisma_tasks.data.saga). When billing
refuses (InvoiceRejected) or stock is short (OutOfStock), the completed steps are compensated
in reverse: the stock is released and the order cancelled.

The saga id derives from tenant and order number, so placing the same order again resumes (or
reports) the saga that exists instead of starting a second one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modules.billing.invoicing import create_invoice, void_invoice
from modules.catalog.stock import release_stock, reserve_stock
from modules.orders.lifecycle import cancel_order, confirm_order, create_order
from prisma_tasks.data.mediator import Mediator
from prisma_tasks.data.saga import SagaContext, SagaDefinition, SagaState, Step
from prisma_tasks.db.connection import Connection

SAGA_TYPE = "orders.place_order"


def _items(saga: SagaContext) -> dict[int, int]:
    return {int(line["productId"]): int(line["quantity"]) for line in saga.data["lines"]}


def _create_order(db: Connection, saga: SagaContext) -> dict[str, Any]:
    data = saga.data
    order_id = create_order(
        db, data["tenantId"], data["number"], int(data["customerId"]), _items(saga)
    )
    return {"orderId": order_id}


def _cancel_order(db: Connection, saga: SagaContext) -> None:
    cancel_order(
        db, saga.data["tenantId"], int(saga.data["orderId"]), reason=f"saga {saga.saga_id}"
    )


def _reserve_stock(db: Connection, saga: SagaContext) -> dict[str, Any]:
    reservation = reserve_stock(
        db, saga.data["tenantId"], _items(saga), reference=f"order:{saga.data['orderId']}"
    )
    return {"totalCents": reservation.total_cents}


def _release_stock(db: Connection, saga: SagaContext) -> None:
    release_stock(
        db, saga.data["tenantId"], _items(saga), reference=f"order:{saga.data['orderId']}"
    )


def _create_invoice(db: Connection, saga: SagaContext) -> dict[str, Any]:
    data = saga.data
    invoice_id = create_invoice(db, data["tenantId"], int(data["orderId"]), int(data["totalCents"]))
    return {"invoiceId": invoice_id}


def _void_invoice(db: Connection, saga: SagaContext) -> None:
    void_invoice(db, saga.data["tenantId"], int(saga.data["invoiceId"]))


def _confirm_order(db: Connection, saga: SagaContext) -> None:
    confirm_order(db, saga.data["tenantId"], int(saga.data["orderId"]))


PLACE_ORDER = SagaDefinition(
    SAGA_TYPE,
    (
        Step("create order", _create_order, compensation=_cancel_order),
        Step("reserve stock", _reserve_stock, compensation=_release_stock),
        Step("create invoice", _create_invoice, compensation=_void_invoice),
        Step("confirm order", _confirm_order),
    ),
)


def order_mediator(db: Connection) -> Mediator:
    """A mediator that knows the order saga (call `resume_pending()` on it at start-up)."""
    return Mediator(db, [PLACE_ORDER])


def saga_id_for(tenant_id: str, number: str) -> str:
    return f"{SAGA_TYPE}:{tenant_id}:{number}"


def place_order(
    mediator: Mediator,
    tenant_id: str,
    customer_id: int,
    number: str,
    items: Mapping[int, int],
) -> SagaState:
    """Run the order saga for `items` (product id -> quantity); COMPLETED or COMPENSATED."""
    lines = [{"productId": int(p), "quantity": int(q)} for p, q in sorted(items.items())]
    data = {"tenantId": tenant_id, "customerId": customer_id, "number": number, "lines": lines}
    return mediator.start(SAGA_TYPE, data, saga_id=saga_id_for(tenant_id, number))
