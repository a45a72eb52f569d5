"""invoke collections. A repository's tasks.py only needs: `from prisma_tasks.tasks import ns`."""

from invoke import Collection

from . import prisma_tasks_collection as prisma

ns = Collection()
ns.add_collection(Collection.from_module(prisma, name="prisma"))
