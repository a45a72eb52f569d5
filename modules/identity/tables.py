"""The identity module's tables, shared by its seeds and its factories."""

from prisma_tasks.db.connection import Table

USER = Table("User", key=("tenantId", "email"))
