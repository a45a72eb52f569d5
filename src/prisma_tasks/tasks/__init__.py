"""invoke collections. A repository's tasks.py only needs: `from prisma_tasks.tasks import ns`."""

from invoke import Collection

from prisma_tasks.tasks import (
    db_tasks_collection,
    doctor_task,
    prisma_tasks_collection,
    tenant_tasks_collection,
)

ns = Collection()
ns.add_collection(Collection.from_module(prisma_tasks_collection, name="prisma"))
ns.add_collection(Collection.from_module(db_tasks_collection, name="db"))
ns.add_task(doctor_task.doctor)
ns.add_collection(Collection.from_module(tenant_tasks_collection, name="tenant"))
