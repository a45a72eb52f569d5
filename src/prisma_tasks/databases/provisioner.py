"""One run's databases: a backend chosen once, templates built once per content hash, a clone
per consumer, and everything removed again on close (or by a later run's reaper after a kill).

    with provisioned("postgres", settings) as databases:
        template = databases.template(content_hash, prepare=apply_migrations)
        url = databases.clone(template)
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from prisma_tasks.config import Settings
from prisma_tasks.databases import owners, shadows
from prisma_tasks.databases.pg_local import (
    LocalCluster,
    ProvisionError,
    find_binaries,
    install_hint,
    stop_and_remove,
)
from prisma_tasks.databases.pg_server import PostgresServer
from prisma_tasks.databases.sqlite_files import SqliteFolder
from prisma_tasks.db.urls import database_of, mask

BACKENDS = ("postgres", "sqlite")
TEMPLATE_PREFIX = "pt_tpl_"

Prepare = Callable[[str], None]


class Provisioner:
    def __init__(
        self,
        backend: str,
        settings: Settings,
        *,
        environ: dict[str, str] | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ProvisionError(
                f"unknown database backend {backend!r}; use one of {', '.join(BACKENDS)}"
            )
        self.backend = backend
        self.settings = settings
        self.environ = dict(os.environ) if environ is None else environ
        self.log = log or (lambda message: None)
        self.record = owners.OwnerRecord.new()
        self.cluster: LocalCluster | None = None
        self.server: PostgresServer | None = None
        self.sqlite: SqliteFolder | None = None
        self.sqlite_templates: SqliteFolder | None = None
        self.provider = ""
        self._created: list[str] = []
        self._kept: list[str] = []
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self.warm_clones = 2
        self._warm: dict[str, list[str]] = {}
        self._refilling: dict[str, bool] = {}
        self._workers: list[threading.Thread] = []
        self._closing = False

    # -- opening -------------------------------------------------------------------------
    def open(self) -> Provisioner:
        self.record.save()  # before anything exists, so a kill from here on is reapable
        # Every process started from here on (pytest under nox, xdist workers, Prisma, a test's
        # children) carries the token: the reaper spares the record while any of them lives.
        owners.work_for(self.record.token)
        try:
            if self.backend == "sqlite":
                self._open_sqlite()
            else:
                self._open_postgres()
            reap(self.server)
        except BaseException:
            self.close()
            raise
        return self

    def _open_sqlite(self) -> None:
        root = owners.state_root()
        directory = Path(tempfile.mkdtemp(prefix="sqlite-", dir=root))
        self.record.sqlite_dir = str(directory)
        self.record.save()
        self.sqlite = SqliteFolder(directory)
        self.sqlite_templates = SqliteFolder(root / "sqlite-templates")
        self.provider = f"sqlite files in {directory}"

    def _open_postgres(self) -> None:
        choice = self.settings.postgres_provider
        admin_url = self.environ.get(self.settings.admin_url_env, "")
        if choice == "server" and not admin_url:
            raise ProvisionError(
                f"postgres_provider = 'server' but {self.settings.admin_url_env} is not set; "
                "set it to an admin URL such as postgresql://user:password@host:5432/postgres"
            )
        if admin_url and choice in ("auto", "server"):
            self.server = PostgresServer(admin_url)
            self.server.check_can_create()
            self.provider = f"server {self.server.shown_url} (from {self.settings.admin_url_env})"
            return
        bindir = find_binaries()
        if bindir is None:
            raise ProvisionError(
                f"no PostgreSQL for the tests: {self.settings.admin_url_env} is not set and no "
                f"server binaries were found; {install_hint()}"
            )
        # Recorded before initdb, so a run killed during initdb is reaped too.
        directory = Path(tempfile.mkdtemp(prefix="pg-", dir=owners.state_root()))
        self.record.cluster_dir, self.record.pg_ctl = str(directory), str(bindir)
        self.record.save()
        cluster = LocalCluster.create(bindir=bindir, directory=directory)
        self.cluster = cluster
        self.record.cluster_dir, self.record.pg_ctl, self.record.run_as = (
            str(cluster.directory),
            str(bindir),
            cluster.run_as,
        )
        self.record.save()
        cluster.start()
        self.server = PostgresServer(cluster.url())
        self.provider = f"local cluster {cluster.directory} on port {cluster.port} ({bindir})"

    # -- databases -----------------------------------------------------------------------
    def _store(self) -> PostgresServer | SqliteFolder:
        store = self.server or self.sqlite
        if store is None:
            raise ProvisionError("the provisioner is not open")
        return store

    def _template_store(self) -> PostgresServer | SqliteFolder:
        return self.server or self.sqlite_templates  # type: ignore[return-value]

    def _new_name(self, label: str = "") -> str:
        with self._lock:
            number = next(self._counter)
        return f"{self.record.database_prefix()}{label}{number}"

    def template(self, content_hash: str, prepare: Prepare | None) -> str:
        """The name of a prepared template for this content hash, built now if missing."""
        name = f"{TEMPLATE_PREFIX}{content_hash[:24]}"
        store = self._template_store()
        if store.exists(name):
            self.log(f"template {name} is current, reused")
            return name
        building = self._new_name("build")
        self.log(f"building template {name} (migrations and seeds, once per content hash)")
        started = time.perf_counter()
        url = store.create(building)
        self._track(building)
        try:
            if prepare is not None:
                prepare(url)
        except BaseException:
            store.drop(building)
            self._untrack(building)
            raise
        if not store.rename(building, name):  # another run finished first: use theirs
            store.drop(building)
        self._untrack(building)
        self.log(f"built template {name} in {time.perf_counter() - started:.1f}s")
        return name

    def clone(self, template: str | None = None) -> str:
        """A new database copied from the template (empty without one).

        On PostgreSQL a few clones of each template are made ahead, in the background, while
        the caller works (`warm_clones`): a test then waits for a pop, not for the copy.
        """
        if template is not None and self.server is not None and self.warm_clones > 0:
            with self._lock:
                ready = self._warm.setdefault(template, [])
                name = ready.pop(0) if ready else None
            self._refill(template)
            if name is not None:
                return self._store().url_for(name)
        return self._clone_now(template)

    def _refill(self, template: str) -> None:
        with self._lock:
            if self._closing or self._refilling.get(template):
                return
            self._refilling[template] = True
        worker = threading.Thread(target=self._refill_worker, args=(template,), daemon=True)
        self._workers = [w for w in self._workers if w.is_alive()]
        self._workers.append(worker)
        worker.start()

    def _refill_worker(self, template: str) -> None:
        try:
            while True:
                with self._lock:
                    if self._closing or len(self._warm[template]) >= self.warm_clones:
                        return
                url = self._clone_now(template)
                with self._lock:
                    self._warm[template].append(_name_of(url))
        except Exception as exc:  # the foreground clone path still works; say why once
            self.log(f"could not prepare clones ahead: {mask(str(exc))}")
        finally:
            with self._lock:
                self._refilling[template] = False

    def _clone_now(self, template: str | None) -> str:
        name = self._new_name()
        store = self._store()
        if template is None:
            url = store.create(name)
        elif isinstance(store, SqliteFolder):
            assert self.sqlite_templates is not None
            if not self.sqlite_templates.exists(template):
                raise ProvisionError(f"no SQLite template {template!r}: build it with template()")
            SqliteFolder._copy(self.sqlite_templates.path_for(template), store.path_for(name))
            url = store.url_for(name)
        else:
            url = store.create(name, template=template)
        self._track(name)
        return url

    def drop(self, url: str) -> None:
        name = _name_of(url)
        self._store().drop(name)
        self._untrack(name)

    def keep(self, url: str) -> None:
        """Leave this database in place at close (a failing test's data, for a person to read)."""
        with self._lock:
            self._kept.append(_name_of(url))

    def _track(self, name: str) -> None:
        with self._lock:
            self._created.append(name)

    def _untrack(self, name: str) -> None:
        with self._lock:
            if name in self._created:
                self._created.remove(name)

    # -- closing -------------------------------------------------------------------------
    def close(self) -> list[str]:
        """Drop everything this run made except kept databases; returns the kept URLs (masked)."""
        with self._lock:
            self._closing = True
        for worker in self._workers:
            worker.join(timeout=60)
        kept_urls = []
        for name in list(self._created):
            if name in self._kept:
                continue
            try:
                self._store().drop(name)
            except Exception as exc:  # keep going: the rest must still go
                self.log(f"could not drop {name}: {mask(str(exc))}")
            self._untrack(name)
        for name in self._kept:
            kept_urls.append(self._kept_url(name))
        if self.server is not None:
            self.server.close()
        if not self._kept:
            if self.cluster is not None:
                self.cluster.remove()
            elif self.record.cluster_dir:  # failed before the cluster existed
                shutil.rmtree(self.record.cluster_dir, ignore_errors=True)
            if self.sqlite is not None:
                shutil.rmtree(self.sqlite.directory, ignore_errors=True)
            self.record.remove()
        owners.stop_working_for(self.record.token)
        return kept_urls

    def _kept_url(self, name: str) -> str:
        store = self._store()
        if isinstance(store, SqliteFolder):
            return store.url_for(name)
        url = store.url_for(name)
        shown = store.hide(url)  # also the pieces of the admin URL's password (see hide_password)
        if self.cluster is not None:
            secret_file = self.cluster.directory / "kept-urls.txt"
            fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as handle:
                handle.write(url + "\n")
            return f"{shown} (full URL in {secret_file}; removed by the next run)"
        return shown


def _name_of(url: str) -> str:
    if url.startswith("file:"):
        return Path(url[len("file:") :]).stem
    return database_of(url)


def reap(server: PostgresServer | None = None) -> list[str]:
    """Remove what killed runs on this host left behind; never touch a live run's things.

    A run is live while its creator or any process that uses what it made lives (see
    owners.py); on `server`, the shadow databases of Prisma processes that are gone go too.
    """
    reaped = []
    live_prefixes = []
    # Listed before the records are read: a run writes its record before its first database,
    # so a name seen here whose record is missing below belongs to a run that has ended.
    ours = f"{owners.DATABASE_PREFIX}{owners.scope_tag()}"
    names = server.names(ours) if server is not None else []
    records = owners.load_records()
    gone = {record.token for record in records if not record.creator_alive()}
    # One pass over the processes, and only when some creator is gone.
    used = owners.in_use([record for record in records if record.token in gone]) if gone else set()
    for record in records:
        if record.token not in gone or record.token in used:
            live_prefixes.append(record.database_prefix())
            continue
        if record.cluster_dir:
            stop_and_remove(record.cluster_dir, record.pg_ctl, record.run_as)
            reaped.append(record.cluster_dir)
        if record.sqlite_dir:
            shutil.rmtree(record.sqlite_dir, ignore_errors=True)
            reaped.append(record.sqlite_dir)
        # A template half-built by the dead run (SQLite templates outlive runs).
        for leftover in (owners.state_root() / "sqlite-templates").glob(
            f"{record.database_prefix()}*"
        ):
            leftover.unlink(missing_ok=True)
            reaped.append(str(leftover))
        record.remove()
    if server is not None:
        for name in names:
            if not any(name.startswith(prefix) for prefix in live_prefixes):
                server.drop(name)
                reaped.append(name)
        reaped += shadows.reap_on(server)
    return reaped


@contextmanager
def provisioned(
    backend: str,
    settings: Settings,
    *,
    environ: dict[str, str] | None = None,
    log: Callable[[str], None] | None = None,
) -> Iterator[Provisioner]:
    """Open a provisioner; close it on exit, exception, Ctrl-C or SIGTERM."""
    provisioner = Provisioner(backend, settings, environ=environ, log=log)
    with terminate_as_interrupt():
        provisioner.open()
        try:
            yield provisioner
        finally:
            for url in provisioner.close():
                print(f"kept database: {url}", file=sys.stderr, flush=True)


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Make SIGTERM unwind like Ctrl-C so `finally` blocks clean up (main thread only)."""
    installed = sigterm_as_interrupt()
    try:
        yield
    finally:
        if installed:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def sigterm_as_interrupt() -> bool:
    """Turn SIGTERM into KeyboardInterrupt unless someone else handles it; True if installed."""
    if threading.current_thread() is not threading.main_thread():
        return False
    if signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None):
        return False

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
    return True
