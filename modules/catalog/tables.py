"""The catalog module's tables, shared by its seeds and its factories."""

from prisma_tasks.db.connection import Table

PRODUCT = Table("Product", key=("tenantId", "sku"))
