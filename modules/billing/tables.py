"""The billing module's tables, shared by its seeds and its factories."""

from prisma_tasks.db.connection import Table

INVOICE = Table("Invoice", key=("orderId",))
