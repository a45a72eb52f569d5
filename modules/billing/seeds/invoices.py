"""The invoice of order A-1001, its total computed from the order lines."""

from modules.billing.tables import INVOICE


def seed(db) -> None:
    order = db.id_of("Order", tenantId="acme", number="A-1001")
    (total,) = db.one(
        'SELECT SUM(l."quantity" * p."priceCents") FROM "OrderLine" l '
        'JOIN "Product" p ON p."id" = l."productId" WHERE l."orderId" = ?',
        [order],
    )
    db.upsert(
        INVOICE, {"tenantId": "acme", "orderId": order, "totalCents": total, "status": "OPEN"}
    )
