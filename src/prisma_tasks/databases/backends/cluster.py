"""A local PostgreSQL cluster started for one run (initdb + pg_ctl), removed when it ends, or
given to the cluster cache (cluster_cache.py) when the run left it as it found it; a run takes
one from there instead of running initdb when it can."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from prisma_tasks.databases import owners, pg_binaries
from prisma_tasks.databases.backends.base import TEMPLATE_PREFIX
from prisma_tasks.databases.backends.server import ServerBackend
from prisma_tasks.databases.cluster_cache import (
    MAX_TEMPLATES,
    ClusterCache,
    EntryMeta,
    cache_key,
    describe,
)
from prisma_tasks.databases.pg_local import (
    INITDB_OPTIONS,
    LocalCluster,
    ProvisionError,
    stop_and_remove,
    unprivileged_user,
)
from prisma_tasks.databases.runtime_root import in_ram

if TYPE_CHECKING:
    import psycopg

    from prisma_tasks.config import Settings


class LocalClusterBackend(ServerBackend):
    clones_ahead: ClassVar[bool] = True

    def __init__(
        self,
        admin_url_env: str = "PRISMA_TASKS_ADMIN_URL",
        settings: Settings | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self._admin_url_env = admin_url_env
        self._settings = settings
        self._log = log or (lambda message: None)  # one line when the cache fails, else silent
        self.cluster: LocalCluster | None = None  # type: ignore[assignment]
        self._directory: Path | None = None
        self._cache: ClusterCache | None = None
        self._entry: EntryMeta | None = None  # what the cache keeps of this cluster
        self._used_templates: list[str] = []

    def template_exists(self, name: str) -> bool:
        exists = super().template_exists(name)
        if exists:
            self._used_templates.append(name)
        return exists

    def publish_template(self, building: str, name: str) -> bool:
        published = super().publish_template(building, name)
        self._used_templates.append(name)
        return published

    def open(self, record: owners.OwnerRecord) -> None:
        found = pg_binaries.locate(self._settings)
        if found is None:
            raise ProvisionError(pg_binaries.missing_for_tests(self._admin_url_env, self._settings))
        run_as = unprivileged_user()
        found = pg_binaries.reachable(found, run_as)
        bindir = found.bindir
        # Recorded before initdb (or the cache's rename onto it), so a run killed from here on
        # is reaped too.
        self._directory = Path(tempfile.mkdtemp(prefix="pg-", dir=owners.state_root()))
        record.cluster_dir, record.pg_ctl, record.run_as = str(self._directory), str(bindir), run_as
        record.save()
        if self._settings is not None and self._settings.cluster_cache:
            key = cache_key(bindir, run_as, INITDB_OPTIONS)
            self._cache = ClusterCache(owners.state_root(), key, log=self._log)
        cluster = self._from_cache(bindir, run_as)
        origin = "from the cluster cache"
        if cluster is None:
            cluster = LocalCluster.create(bindir=bindir, directory=self._directory)
            self._entry = EntryMeta(password="", project=self._project())
            self.cluster = cluster  # before start: an interrupted start is stopped by close()
            cluster.start()
            origin = "new"
        self.attach(cluster.url())
        if in_ram(self._directory) and self.server is not None:
            # On tmpfs FILE_COPY's file copy and checkpoints cost little: 12.6 ms against
            # WAL_LOG's 17 ms for the bench's template; on disk neither wins clearly.
            self.server.clone_strategy = "FILE_COPY"
        self.description = (
            f"local cluster {cluster.directory} on port {cluster.port} ({origin}), "
            f"{found.describe()}"
        )

    def _project(self) -> str:
        return str(self._settings.root) if self._settings is not None else ""

    def _from_cache(self, bindir: Path, run_as: str | None) -> LocalCluster | None:
        """A cached cluster, started with a new password; None on a miss. An entry that does
        not start is removed and the run goes on as a miss: the cache never costs a run."""
        if self._cache is None or self._directory is None:
            return None
        entry = self._cache.take(self._directory, self._project())
        if entry is None:
            return None
        cluster = LocalCluster(self._directory, bindir, 0, entry.password, run_as)
        self.cluster = cluster  # before start: an interrupted start is stopped by close()
        try:
            cluster.start()
            cluster.rotate_password()
        except BaseException as exc:
            cluster.remove()
            self.cluster = None
            if not isinstance(exc, Exception):  # Ctrl-C, SIGTERM: stopped, and passed on
                raise
            self._log(f"cluster cache: a cached cluster did not start ({describe(exc)})")
            self._directory.mkdir(mode=0o700, exist_ok=True)
            return None
        entry.uses += 1
        entry.project = self._project()
        self._entry = entry
        return cluster

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
        cached = not keep and self._give_to_cache()
        super().close(keep)
        if keep or cached:
            return
        if self.cluster is not None:
            self.cluster.remove()
        elif self._directory is not None:  # failed before the cluster existed
            shutil.rmtree(self._directory, ignore_errors=True)

    def _give_to_cache(self) -> bool:
        """Stop the cluster and move it into the cache if this run left it as it found it;
        False (nothing changed: the caller removes it) otherwise, or on any error, which is
        logged in one line."""
        cluster, entry, cache = self.cluster, self._entry, self._cache
        if cluster is None or entry is None or cache is None or self.server is None:
            return False
        try:
            templates, leftover = self._inspect()
            if leftover:
                self._log(f"cluster cache: not kept ({leftover})")
                return False
            templates = self._prune(templates, entry.templates)
            self.server.close()
            if not cluster.stop("fast"):
                self._log("cluster cache: not kept (the cluster did not stop)")
                return False
            for scratch in ("server.log", "kept-urls.txt"):
                (cluster.directory / scratch).unlink(missing_ok=True)
            entry.password, entry.templates = cluster.password, templates
            return cache.give_back(cluster.directory, entry)
        except Exception as exc:
            self._log(f"cluster cache: not kept ({describe(exc)})")
            return False

    def _prune(self, present: list[str], earlier: list[str]) -> list[str]:
        """Keep the MAX_TEMPLATES most recently used templates (a schema that changes often
        would otherwise pile them up); drop the rest. Most recent first."""
        order = [*reversed(self._used_templates), *earlier, *present]
        recent = [name for name in dict.fromkeys(order) if name in present]
        for name in recent[MAX_TEMPLATES:]:
            self.drop(name)
        return recent[:MAX_TEMPLATES]

    def _inspect(self) -> tuple[list[str], str]:
        """(the cluster's templates, what the run left behind: "" when nothing). Anything that
        would reach the next run counts: a database (a clone, a shadow, one a test made) that is
        not a template, a role, a changed superuser, a lasting setting, a tablespace, a
        replication slot, origin or subscription, and any object made in the `postgres` or
        `template1` database or in a shared catalog. (Prepared transactions cannot exist: the
        clusters run with max_prepared_transactions = 0, PostgreSQL's default.)"""
        assert self.server is not None and self.cluster is not None
        with self.server.connect() as connection:
            databases = [
                row[0]
                for row in connection.execute(
                    "SELECT datname FROM pg_database WHERE datname NOT IN "
                    "('postgres', 'template0', 'template1') ORDER BY datname"
                ).fetchall()
            ]
            if not all(name.startswith(TEMPLATE_PREFIX) for name in databases):
                return databases, "a database was left behind"
            leftover = _first_leftover(connection) or _user_objects(connection, "postgres")
        if not leftover:
            with _connect(self.cluster.url("template1")) as connection:
                leftover = _user_objects(connection, "template1")
        return databases, leftover

    @staticmethod
    def reap(record: owners.OwnerRecord) -> list[str]:
        if not record.cluster_dir:
            return []
        stop_and_remove(record.cluster_dir, record.pg_ctl, record.run_as)
        return [record.cluster_dir]


# What a fresh initdb has none of (after the roles check, so a role is named as one); each
# query is true when the run left some. Run as the superuser, in the `postgres` database.
_LASTING_STATE = (
    (
        "a role was left behind",
        "SELECT count(*) > 0 FROM pg_roles"
        " WHERE rolname <> current_user AND NOT starts_with(rolname, 'pg_')",
    ),
    (
        "the superuser was changed",
        "SELECT NOT (rolconnlimit = -1 AND rolvaliduntil IS NULL AND rolcanlogin)"
        " FROM pg_roles WHERE rolname = current_user",
    ),
    (
        "a role was granted to the superuser",
        "SELECT count(*) > 0 FROM pg_auth_members"
        " WHERE member = (SELECT oid FROM pg_roles WHERE rolname = current_user)",
    ),
    (
        "ALTER SYSTEM settings were left behind",
        "SELECT count(*) > 0 FROM pg_file_settings WHERE sourcefile LIKE '%/postgresql.auto.conf'",
    ),
    (
        "ALTER ROLE/DATABASE ... SET settings were left behind",
        "SELECT count(*) > 0 FROM pg_db_role_setting",
    ),
    ("a tablespace was left behind", "SELECT count(*) > 2 FROM pg_tablespace"),
    ("a replication slot was left behind", "SELECT count(*) > 0 FROM pg_replication_slots"),
    ("a subscription was left behind", "SELECT count(*) > 0 FROM pg_subscription"),
    ("a replication origin was left behind", "SELECT count(*) > 0 FROM pg_replication_origin"),
)
_FIRST_NORMAL_OBJECT_ID = 16384  # PostgreSQL's FirstNormalObjectId: initdb's objects are below


def _first_leftover(connection: psycopg.Connection) -> str:
    for reason, query in _LASTING_STATE:
        row = connection.execute(query).fetchone()
        if row is None or row[0]:
            return reason
    return ""


def _user_objects(connection: psycopg.Connection, database: str) -> str:
    """Which catalog of `database` holds an object made after initdb (a table, a function, an
    extension, a schema, a default privilege...); "" when none. Shared catalogs (pg_authid,
    pg_tablespace, ...) are looked at from `postgres` only, pg_database not at all (the
    templates and the run's databases are checked by name)."""
    from psycopg import sql

    shared = database == "postgres"
    catalogs = [
        row[0]
        for row in connection.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid"
            " WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relkind = 'r'"
            " AND a.attname = 'oid' AND a.atttypid = 'oid'::regtype"
            " AND (NOT c.relisshared OR %s) AND c.relname <> 'pg_database'"
            " ORDER BY c.relname",
            (shared,),
        ).fetchall()
    ]
    probes = [
        sql.SQL("(SELECT {} FROM pg_catalog.{} WHERE oid >= {} LIMIT 1)").format(
            sql.Literal(name), sql.Identifier(name), sql.Literal(_FIRST_NORMAL_OBJECT_ID)
        )
        for name in catalogs
    ]
    row = connection.execute(sql.SQL(" UNION ALL ").join(probes) + sql.SQL(" LIMIT 1")).fetchone()
    return f"objects were left in {database} ({row[0]})" if row else ""


@contextlib.contextmanager
def _connect(url: str) -> Iterator[psycopg.Connection]:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as connection:
        yield connection
