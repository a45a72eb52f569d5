"""invoke entry point: the tasks live in the prisma_tasks package (see README)."""

from prisma_tasks.tasks import ns

__all__ = ["ns"]
