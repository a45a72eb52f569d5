"""Where a run's databases live, one class per kind, behind one small interface (base.Backend):
SQLite files, an existing PostgreSQL server (an admin URL), a local cluster started for the run.
The Provisioner is generic over them; choose() picks one from the settings."""

from prisma_tasks.databases.backends.base import Backend, choose, reap_records

__all__ = ["Backend", "choose", "reap_records"]
