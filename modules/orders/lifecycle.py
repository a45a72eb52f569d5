"""An order's life in the orders module: PENDING -> CONFIRMED, or PENDING -> CANCELLED.

Touches the orders module's own tables (Order, OrderLine) only and announces every change
through the outbox, in the same transaction. Status changes are guarded transitions, so a
repeated call changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from prisma_tasks.data.outbox import publish
from prisma_tasks.data.unit_of_work import unit_of_work
from prisma_tasks.db.connection import Connection


class OrderNumberTaken(Exception):
    """The tenant has an order with this number already."""


class OrderStateError(Exception):
    """The order is not in a state that allows this change."""


def create_order(
    db: Connection,
    tenant_id: str,
    number: str,
    customer_id: int,
    items: Mapping[int, int],
) -> int:
    """A PENDING order with one line per product (product id -> quantity); returns its id."""
    if not items or any(quantity <= 0 for quantity in items.values()):
        raise ValueError(f"order {number}: needs items with positive quantities: {dict(items)}")
    with unit_of_work(db):
        created = db.one(
            'INSERT INTO "Order" ("tenantId", "number", "customerId", "status") '
            "VALUES (?, ?, ?, 'PENDING') "
            'ON CONFLICT ("tenantId", "number") DO NOTHING RETURNING "id"',
            [tenant_id, number, customer_id],
        )
        if created is None:
            raise OrderNumberTaken(f"{tenant_id} has an order {number} already")
        order_id = int(created[0])
        for product_id in sorted(items):
            db.execute(
                'INSERT INTO "OrderLine" ("tenantId", "orderId", "productId", "quantity") '
                "VALUES (?, ?, ?, ?)",
                [tenant_id, order_id, product_id, items[product_id]],
            )
        publish(
            db,
            "orders.order_placed",
            f"order:{order_id}",
            {"orderId": order_id, "number": number, "customerId": customer_id},
            tenant_id=tenant_id,
        )
    return order_id


def confirm_order(db: Connection, tenant_id: str, order_id: int) -> None:
    """PENDING -> CONFIRMED; a CONFIRMED order stays as it is; anything else is refused."""
    _transition(db, tenant_id, order_id, "PENDING", "CONFIRMED", "orders.order_confirmed")


def cancel_order(db: Connection, tenant_id: str, order_id: int, reason: str) -> None:
    """PENDING -> CANCELLED; a CANCELLED order stays as it is; a CONFIRMED one is refused."""
    _transition(
        db, tenant_id, order_id, "PENDING", "CANCELLED", "orders.order_cancelled", reason=reason
    )


def status_of(db: Connection, tenant_id: str, order_id: int) -> str:
    row = db.one(
        'SELECT "status" FROM "Order" WHERE "id" = ? AND "tenantId" = ?', [order_id, tenant_id]
    )
    if row is None:
        raise LookupError(f"no order {order_id} for {tenant_id}")
    return str(row[0])


def _transition(
    db: Connection,
    tenant_id: str,
    order_id: int,
    source: str,
    target: str,
    topic: str,
    **details: str,
) -> None:
    with unit_of_work(db):
        changed = db.one(
            'UPDATE "Order" SET "status" = ? '
            'WHERE "id" = ? AND "tenantId" = ? AND "status" = ? RETURNING "id"',
            [target, order_id, tenant_id, source],
        )
        if changed is None:
            current = status_of(db, tenant_id, order_id)
            if current == target:
                return
            raise OrderStateError(f"order {order_id} is {current}, cannot become {target}")
        publish(
            db,
            topic,
            f"order:{order_id}",
            {"orderId": order_id, "status": target, **details},
            tenant_id=tenant_id,
        )
