"""The interface every backend implements, and the rule that picks one.

A backend knows where databases of its kind are made and how: create, clone a template, drop,
publish a template under its final name, say how a kept database is found, close, and reap what
a killed run's owner record left. Naming, templates per content hash, the warm pool, tracking and
keep/drop are the Provisioner's, the same for every backend (Django's per-backend creation
classes have the same split).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, Protocol

from prisma_tasks.databases.pg_local import ProvisionError

if TYPE_CHECKING:
    from prisma_tasks.config import Settings
    from prisma_tasks.databases.owners import OwnerRecord
    from prisma_tasks.databases.pg_local import LocalCluster
    from prisma_tasks.databases.pg_server import PostgresServer

KINDS = ("postgres", "sqlite")
TEMPLATE_PREFIX = "pt_tpl_"  # + a content hash: a migrated, seeded template (provisioner.py)


class Backend(Protocol):
    kind: ClassVar[str]  # "postgres" | "sqlite"
    #: worth cloning ahead in the background (a copy that takes a server round trip)
    clones_ahead: ClassVar[bool]
    description: str  # one line: where the databases are (no password)
    server: PostgresServer | None  # the admin connection nested runs may clone from
    cluster: LocalCluster | None  # the cluster this run started, if any

    def open(self, record: OwnerRecord) -> None:
        """Start or attach; fill the owner record before anything exists that needs reaping."""

    def url_for(self, name: str) -> str: ...
    def create(self, name: str) -> str: ...
    def clone(self, template: str, name: str) -> str: ...
    def drop(self, name: str) -> None: ...
    def template_exists(self, name: str) -> bool: ...
    def create_template_build(self, name: str) -> str: ...
    def publish_template(self, building: str, name: str) -> bool: ...
    def drop_template_build(self, name: str) -> None: ...
    def shown_url(self, name: str) -> str: ...
    def close(self, keep: bool) -> None: ...

    @staticmethod
    def reap(record: OwnerRecord) -> list[str]:
        """Remove what a dead run's record says it made; returns what was removed."""
        ...


def choose(
    kind: str,
    settings: Settings,
    environ: dict[str, str],
    log: Callable[[str], None] | None = None,
) -> Backend:
    """SQLite files; or for PostgreSQL an existing server when the admin URL is set (and
    postgres_provider allows it), else a local cluster of this run (`log` hears why the
    cluster cache was not used or not kept)."""
    from prisma_tasks.databases.backends.cluster import LocalClusterBackend
    from prisma_tasks.databases.backends.server import ServerBackend
    from prisma_tasks.databases.backends.sqlite import SqliteFiles

    if kind not in KINDS:
        raise ProvisionError(f"unknown database backend {kind!r}; use one of {', '.join(KINDS)}")
    if kind == "sqlite":
        return SqliteFiles()
    choice = settings.postgres_provider
    admin_url = environ.get(settings.admin_url_env, "")
    if choice == "server" and not admin_url:
        raise ProvisionError(
            f"postgres_provider = 'server' but {settings.admin_url_env} is not set; "
            "set it to an admin URL such as postgresql://user:password@host:5432/postgres"
        )
    if admin_url and choice in ("auto", "server"):
        return ServerBackend(admin_url, f"from {settings.admin_url_env}")
    return LocalClusterBackend(settings.admin_url_env, settings, log)


def reap_records(record: OwnerRecord) -> list[str]:
    """What every backend kind reaps of one dead run's record."""
    from prisma_tasks.databases.backends.cluster import LocalClusterBackend
    from prisma_tasks.databases.backends.sqlite import SqliteFiles

    return [*LocalClusterBackend.reap(record), *SqliteFiles.reap(record)]
