"""The billing module's tables, shared by its seeds and its factories."""

from prisma_tasks.seeding.connection import Table

INVOICE = Table("Invoice", key=("orderId",))
