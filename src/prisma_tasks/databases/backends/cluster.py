"""A local PostgreSQL cluster started for one run (initdb + pg_ctl), removed when it ends."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from prisma_tasks.databases import owners, pg_binaries
from prisma_tasks.databases.backends.server import ServerBackend
from prisma_tasks.databases.pg_local import (
    LocalCluster,
    ProvisionError,
    stop_and_remove,
    unprivileged_user,
)

if TYPE_CHECKING:
    from prisma_tasks.config import Settings


class LocalClusterBackend(ServerBackend):
    clones_ahead: ClassVar[bool] = True

    def __init__(
        self, admin_url_env: str = "PRISMA_TASKS_ADMIN_URL", settings: Settings | None = None
    ) -> None:
        super().__init__()
        self._admin_url_env = admin_url_env
        self._settings = settings
        self.cluster: LocalCluster | None = None  # type: ignore[assignment]
        self._directory: Path | None = None

    def open(self, record: owners.OwnerRecord) -> None:
        found = pg_binaries.locate(self._settings)
        if found is None:
            raise ProvisionError(pg_binaries.missing_for_tests(self._admin_url_env, self._settings))
        found = pg_binaries.reachable(found, unprivileged_user())
        bindir = found.bindir
        # Recorded before initdb, so a run killed during initdb is reaped too.
        self._directory = Path(tempfile.mkdtemp(prefix="pg-", dir=owners.state_root()))
        record.cluster_dir, record.pg_ctl = str(self._directory), str(bindir)
        record.save()
        cluster = LocalCluster.create(bindir=bindir, directory=self._directory)
        self.cluster = cluster
        record.cluster_dir, record.pg_ctl, record.run_as = (
            str(cluster.directory),
            str(bindir),
            cluster.run_as,
        )
        record.save()
        cluster.start()
        self.attach(cluster.url())
        self.description = (
            f"local cluster {cluster.directory} on port {cluster.port}, {found.describe()}"
        )

    def shown_url(self, name: str) -> str:
        """The masked URL, and where the full one is: the cluster's password is its own."""
        shown = super().shown_url(name)
        if self.cluster is None:
            return shown
        secret_file = self.cluster.directory / "kept-urls.txt"
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(self.url_for(name) + "\n")
        return f"{shown} (full URL in {secret_file}; removed by the next run)"

    def close(self, keep: bool) -> None:
        super().close(keep)
        if keep:
            return
        if self.cluster is not None:
            self.cluster.remove()
        elif self._directory is not None:  # failed before the cluster existed
            shutil.rmtree(self._directory, ignore_errors=True)

    @staticmethod
    def reap(record: owners.OwnerRecord) -> list[str]:
        if not record.cluster_dir:
            return []
        stop_and_remove(record.cluster_dir, record.pg_ctl, record.run_as)
        return [record.cluster_dir]
