"""invoke collections. A repository's tasks.py only needs: `from prisma_tasks.tasks import ns`.

`prisma-tasks TASK ...` (the console script) runs the same tasks with no tasks.py at all, which
is how `prisma-tasks prisma.init` writes one.
"""

from invoke import Collection, Program

from prisma_tasks import __version__
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


def main() -> None:
    Program(namespace=ns, version=__version__, name="prisma-tasks", binary="prisma-tasks").run()
