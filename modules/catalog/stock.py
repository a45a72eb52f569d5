"""Stock reservations, the catalog module's part of placing an order.

Touches the catalog's own table (Product) only and announces every change through the outbox,
in the same transaction. Both functions open their own unit of work, so they keep the stock
consistent alone, and inside a saga step they become a savepoint of the step's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from prisma_tasks.data.outbox import publish
from prisma_tasks.data.unit_of_work import unit_of_work
from prisma_tasks.db.connection import Connection


class OutOfStock(Exception):
    """A product has less stock than asked for, or does not exist for this tenant."""


@dataclass(frozen=True)
class Reservation:
    reference: str
    items: dict[int, int]
    total_cents: int


def reserve_stock(
    db: Connection, tenant_id: str, items: Mapping[int, int], reference: str
) -> Reservation:
    """Take `items` (product id -> quantity) out of stock, all or nothing; prices the lot.

    Rows are updated in product-id order, so concurrent reservations lock them in one order
    and cannot deadlock. `reference` names what the stock is for (e.g. "order:42").
    """
    wanted = _validated(items)
    total = 0
    with unit_of_work(db):
        for product_id, quantity in wanted.items():
            row = db.one(
                'UPDATE "Product" SET "stock" = "stock" - ? '
                'WHERE "id" = ? AND "tenantId" = ? AND "stock" >= ? RETURNING "priceCents"',
                [quantity, product_id, tenant_id, quantity],
            )
            if row is None:
                raise OutOfStock(f"product {product_id}: fewer than {quantity} in stock")
            total += int(row[0]) * quantity
        publish(
            db,
            "catalog.stock_reserved",
            reference,
            {"reference": reference, "items": _as_json(wanted), "totalCents": total},
            tenant_id=tenant_id,
        )
    return Reservation(reference, wanted, total)


def release_stock(db: Connection, tenant_id: str, items: Mapping[int, int], reference: str) -> None:
    """Put reserved items back into stock (the compensation of `reserve_stock`)."""
    wanted = _validated(items)
    with unit_of_work(db):
        for product_id, quantity in wanted.items():
            row = db.one(
                'UPDATE "Product" SET "stock" = "stock" + ? '
                'WHERE "id" = ? AND "tenantId" = ? RETURNING "id"',
                [quantity, product_id, tenant_id],
            )
            if row is None:
                raise LookupError(f"product {product_id} of {tenant_id} is gone")
        publish(
            db,
            "catalog.stock_released",
            reference,
            {"reference": reference, "items": _as_json(wanted)},
            tenant_id=tenant_id,
        )


def stock_of(db: Connection, tenant_id: str, product_id: int) -> int:
    row = db.one(
        'SELECT "stock" FROM "Product" WHERE "id" = ? AND "tenantId" = ?', [product_id, tenant_id]
    )
    if row is None:
        raise LookupError(f"no product {product_id} for {tenant_id}")
    return int(row[0])


def _validated(items: Mapping[int, int]) -> dict[int, int]:
    if not items:
        raise ValueError("no items")
    if any(quantity <= 0 for quantity in items.values()):
        raise ValueError(f"quantities must be positive: {dict(items)}")
    return {int(product_id): int(items[product_id]) for product_id in sorted(items)}


def _as_json(items: Mapping[int, int]) -> list[dict[str, int]]:
    return [{"productId": product, "quantity": quantity} for product, quantity in items.items()]
