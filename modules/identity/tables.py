"""The identity module's tables, shared by its seeds and its factories."""

from prisma_tasks.seeding.connection import Table

USER = Table("User", key=("tenantId", "email"))
