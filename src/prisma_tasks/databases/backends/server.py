"""An existing PostgreSQL server, reached through an admin URL (CI services, a team server)."""

from __future__ import annotations

from typing import ClassVar

from prisma_tasks.databases import owners
from prisma_tasks.databases.pg_local import ProvisionError
from prisma_tasks.databases.pg_server import PostgresServer


class ServerBackend:
    kind: ClassVar[str] = "postgres"
    clones_ahead: ClassVar[bool] = True

    def __init__(self, admin_url: str | None = None, source: str = "") -> None:
        self._admin_url = admin_url
        self._source = source
        self.server: PostgresServer | None = None
        self.cluster = None
        self.description = ""

    def open(self, record: owners.OwnerRecord) -> None:
        assert self._admin_url is not None
        self.attach(self._admin_url)
        self.description = f"server {self._server().shown_url}" + (
            f" ({self._source})" if self._source else ""
        )

    def attach(self, admin_url: str) -> None:
        self.server = PostgresServer(admin_url)
        self.server.check_can_create()

    def _server(self) -> PostgresServer:
        if self.server is None:
            raise ProvisionError("the provisioner is not open")
        return self.server

    def url_for(self, name: str) -> str:
        return self._server().url_for(name)

    def create(self, name: str) -> str:
        return self._server().create(name)

    def clone(self, template: str, name: str) -> str:
        return self._server().create(name, template=template)

    def drop(self, name: str) -> None:
        self._server().drop(name)

    # A server keeps its templates between runs: the template area is the server itself.
    def template_exists(self, name: str) -> bool:
        return self._server().exists(name)

    def create_template_build(self, name: str) -> str:
        return self._server().create(name)

    def publish_template(self, building: str, name: str) -> bool:
        return self._server().rename(building, name)

    def drop_template_build(self, name: str) -> None:
        self._server().drop(name)

    def shown_url(self, name: str) -> str:
        # hide, not mask: also the pieces of the admin URL's password (see hide_password)
        return self._server().hide(self.url_for(name))

    def close(self, keep: bool) -> None:
        if self.server is not None:
            self.server.close()

    @staticmethod
    def reap(record: owners.OwnerRecord) -> list[str]:
        return []  # a server outlives runs; its leftover databases are swept by name
