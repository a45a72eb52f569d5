"""The orders module's tables, shared by its seeds and its factories."""

from prisma_tasks.db.connection import Table

ORDER = Table("Order", key=("tenantId", "number"))
ORDER_LINE = Table("OrderLine", key=("orderId", "productId"))
