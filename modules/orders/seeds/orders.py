"""One confirmed order for acme's admin: two widgets and a gadget."""

from modules.orders.tables import ORDER, ORDER_LINE


def seed(db) -> None:
    customer = db.id_of("User", tenantId="acme", email="admin@acme.test")
    order = db.upsert(
        ORDER,
        {"tenantId": "acme", "number": "A-1001", "customerId": customer, "status": "CONFIRMED"},
    )
    for sku, quantity in (("WIDGET", 2), ("GADGET", 1)):
        product = db.id_of("Product", tenantId="acme", sku=sku)
        db.upsert(
            ORDER_LINE,
            {
                "tenantId": "acme",
                "orderId": order["id"],
                "productId": product,
                "quantity": quantity,
            },
        )
