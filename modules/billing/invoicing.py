"""Invoicing, the billing module's part of placing an order.

Touches the billing module's own table (Invoice) only and announces every change through the
outbox, in the same transaction. Automated checkout refuses invoices above
INVOICE_LIMIT_CENTS (they need a person's approval): the reference order saga's real,
non-injected failure, compensated by releasing the stock and cancelling the order.
"""

from __future__ import annotations

from prisma_tasks.data.outbox import publish
from prisma_tasks.data.unit_of_work import unit_of_work
from prisma_tasks.db.connection import Connection

INVOICE_LIMIT_CENTS = 100_000


class InvoiceRejected(Exception):
    """Billing refuses to invoice this order."""


def create_invoice(db: Connection, tenant_id: str, order_id: int, total_cents: int) -> int:
    """Open the order's invoice and return its id.

    Guarded: an order has at most one invoice (Invoice.orderId is unique). Asking again for
    the same order and total returns the open invoice; anything else is refused.
    """
    if total_cents < 0:
        raise ValueError(f"negative total {total_cents}")
    if total_cents > INVOICE_LIMIT_CENTS:
        raise InvoiceRejected(
            f"order {order_id}: {total_cents} cents is above the automated limit of "
            f"{INVOICE_LIMIT_CENTS}; it needs manual approval"
        )
    with unit_of_work(db):
        created = db.one(
            'INSERT INTO "Invoice" ("tenantId", "orderId", "totalCents", "status") '
            'VALUES (?, ?, ?, \'OPEN\') ON CONFLICT ("orderId") DO NOTHING RETURNING "id"',
            [tenant_id, order_id, total_cents],
        )
        if created is None:
            return _existing_open_invoice(db, tenant_id, order_id, total_cents)
        invoice_id = int(created[0])
        publish(
            db,
            "billing.invoice_created",
            f"invoice:{invoice_id}",
            {"invoiceId": invoice_id, "orderId": order_id, "totalCents": total_cents},
            tenant_id=tenant_id,
        )
    return invoice_id


def void_invoice(db: Connection, tenant_id: str, invoice_id: int) -> bool:
    """Void an open invoice (the compensation of `create_invoice`); False if it was not open."""
    with unit_of_work(db):
        voided = db.one(
            'UPDATE "Invoice" SET "status" = \'VOID\' '
            'WHERE "id" = ? AND "tenantId" = ? AND "status" = \'OPEN\' RETURNING "id"',
            [invoice_id, tenant_id],
        )
        if voided is None:
            return False
        publish(
            db,
            "billing.invoice_voided",
            f"invoice:{invoice_id}",
            {"invoiceId": invoice_id},
            tenant_id=tenant_id,
        )
    return True


def _existing_open_invoice(db: Connection, tenant_id: str, order_id: int, total_cents: int) -> int:
    row = db.one(
        'SELECT "id", "tenantId", "totalCents", "status" FROM "Invoice" WHERE "orderId" = ?',
        [order_id],
    )
    if row is None or (row[1], int(row[2]), str(row[3])) != (tenant_id, total_cents, "OPEN"):
        raise InvoiceRejected(f"order {order_id} is invoiced already")
    return int(row[0])
