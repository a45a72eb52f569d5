"""One run's databases: a backend chosen once, templates built once per content hash, a clone
per consumer, and everything removed again on close (or by a later run's reaper after a kill).

    with provisioned("postgres", settings) as databases:
        template = databases.template(content_hash, prepare=apply_migrations)
        url = databases.clone(template)
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from prisma_tasks.config import Settings
from prisma_tasks.databases import backends, owners, runtime_root, shadows
from prisma_tasks.databases.backends.base import KINDS, TEMPLATE_PREFIX, Backend
from prisma_tasks.databases.backends.sqlite import SqliteFiles
from prisma_tasks.databases.pg_local import LocalCluster
from prisma_tasks.databases.pg_server import PostgresServer
from prisma_tasks.db.urls import database_of, mask

BACKENDS = KINDS
RETIRED = ".retired-"  # a retired runtime folder, set aside before it is deleted
__all__ = ["BACKENDS", "TEMPLATE_PREFIX", "Provisioner", "provisioned", "reap"]

Prepare = Callable[[str], None]


class Provisioner:
    """Generic over the backend (backends/): names, templates per content hash, the warm pool,
    tracking, keep and drop are the same wherever the databases live."""

    def __init__(
        self,
        backend: str,
        settings: Settings,
        *,
        environ: dict[str, str] | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.environ = dict(os.environ) if environ is None else environ
        self.log = log or (lambda message: None)
        self.store: Backend = backends.choose(backend, settings, self.environ, self.log)
        self.backend = backend
        self.settings = settings
        self.record = owners.OwnerRecord.new()
        self._created: list[str] = []
        self._kept: list[str] = []
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self.warm_clones = 2 if self.store.clones_ahead else 0
        self._warm: dict[str, list[str]] = {}
        self._asked: dict[str, int] = {}  # clones asked for, per template
        self._refilling: dict[str, bool] = {}
        self._workers: list[threading.Thread] = []
        self._closing = False

    # What callers read of the backend: where databases are, the server nested runs may use.
    @property
    def provider(self) -> str:
        return self.store.description

    @property
    def server(self) -> PostgresServer | None:
        return self.store.server

    @property
    def cluster(self) -> LocalCluster | None:
        return self.store.cluster

    @property
    def sqlite(self) -> SqliteFiles | None:
        return self.store if isinstance(self.store, SqliteFiles) else None

    # -- opening -------------------------------------------------------------------------
    def open(self) -> Provisioner:
        self.record.save()  # before anything exists, so a kill from here on is reapable
        # Every process started from here on (pytest under nox, xdist workers, Prisma, a test's
        # children) carries the token: the reaper spares the record while any of them lives.
        owners.work_for(self.record.token)
        try:
            self.store.open(self.record)
            reap(self.server)
        except BaseException:
            self.close()
            raise
        return self

    # -- databases -----------------------------------------------------------------------
    def _new_name(self, label: str = "") -> str:
        with self._lock:
            number = next(self._counter)
        return f"{self.record.database_prefix()}{label}{number}"

    def template(self, content_hash: str, prepare: Prepare | None) -> str:
        """The name of a prepared template for this content hash, built now if missing."""
        name = f"{TEMPLATE_PREFIX}{content_hash[:24]}"
        if self.store.template_exists(name):
            self.log(f"template {name} is current, reused")
            return name
        building = self._new_name("build")
        self.log(f"building template {name} (migrations and seeds, once per content hash)")
        started = time.perf_counter()
        url = self.store.create_template_build(building)
        try:
            if prepare is not None:
                prepare(url)
        except BaseException:
            self.store.drop_template_build(building)
            raise
        if not self.store.publish_template(building, name):  # another run won: use theirs
            self.store.drop_template_build(building)
        self.log(f"built template {name} in {time.perf_counter() - started:.1f}s")
        return name

    def clone(self, template: str | None = None) -> str:
        """A new database copied from the template (empty without one).

        Where a copy costs a server round trip, a few clones of each template are made ahead,
        in the background, while the caller works (`warm_clones`): a test then waits for a
        pop, not for the copy. The pool starts with the second clone of a template: a run that
        asks for one (a session's `database_url`, `db.run`) pays for no copies it never uses,
        and its first copy has the server to itself.
        """
        if template is None or self.warm_clones <= 0:
            return self._clone_now(template)
        with self._lock:
            ready = self._warm.setdefault(template, [])
            name = ready.pop(0) if ready else None
            self._asked[template] = self._asked.get(template, 0) + 1
            pool_wanted = self._asked[template] > 1
        url = self.store.url_for(name) if name is not None else self._clone_now(template)
        if pool_wanted:
            self._refill(template)
        return url

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
        url = self.store.create(name) if template is None else self.store.clone(template, name)
        self._track(name)
        return url

    def drop(self, url: str) -> None:
        name = _name_of(url)
        self.store.drop(name)
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
        for name in list(self._created):
            if name in self._kept:
                continue
            try:
                self.store.drop(name)
            except Exception as exc:  # keep going: the rest must still go
                self.log(f"could not drop {name}: {mask(str(exc))}")
            self._untrack(name)
        kept_urls = [self.store.shown_url(name) for name in self._kept]
        self.store.close(keep=bool(self._kept))
        if not self._kept:
            self.record.remove()
        owners.stop_working_for(self.record.token)
        return kept_urls


def _name_of(url: str) -> str:
    if url.startswith("file:"):
        return Path(url[len("file:") :]).stem
    return database_of(url)


def reap(server: PostgresServer | None = None) -> list[str]:
    """Remove what killed runs on this host left behind; never touch a live run's things.

    A run is live while its creator or any process that uses what it made lives (see
    owners.py); on `server`, the shadow databases of Prisma processes that are gone go too.
    The runtime folder of older versions (runtime_root.legacy_root) is reaped alike, then
    removed once no run there lives.
    """
    reaped = _reap_in(owners.state_root(), server)
    if server is not None:
        reaped += shadows.reap_on(server)
    legacy = runtime_root.legacy_root()
    if legacy is not None:
        reaped += retire(legacy, server)
    return reaped


def retire(folder: Path, server: PostgresServer | None = None) -> list[str]:
    """Reap a runtime folder that runs no longer use (the temp-folder default of versions
    before the RAM one), and once no record there is live, remove it: moved aside first (one
    rename, so no run ever sees it half-deleted), then deleted. A folder that is not this
    user's own (runtime_root.owned_by_me) is never read. On `server`, names with the folder's
    scope are swept even after the folder is gone (no record left: none is live)."""
    if os.path.lexists(folder) and not runtime_root.owned_by_me(folder):
        return []
    reaped = _reap_in(folder, server)
    if folder.is_dir() and not owners.load_records(folder):
        aside = folder.with_name(f"{folder.name}{RETIRED}{secrets.token_hex(3)}")
        try:
            folder.rename(aside)
            reaped.append(str(folder))
        except OSError:  # another run retired it first, or it cannot be moved: next time
            pass
        else:
            _give_back_records(aside, folder)
    # the folders set aside, this time or by a retirement interrupted mid-delete
    for leftover in sorted(folder.parent.glob(f"{folder.name}{RETIRED}*")):
        if runtime_root.owned_by_me(leftover):
            reaped += _reap_in(leftover, None)
            if not owners.load_records(leftover):
                shutil.rmtree(leftover, ignore_errors=True)
    return reaped


def _give_back_records(aside: Path, folder: Path) -> None:
    """A run that wrote its record between the check and the rename goes on in `folder` (it
    makes it again): its record goes back there, so it stays reapable and its things stay
    spared."""
    for record in sorted((aside / "owners").glob("*.json")):
        (folder / "owners").mkdir(parents=True, exist_ok=True, mode=0o700)
        record.rename(folder / "owners" / record.name)


def _reap_in(root: Path, server: PostgresServer | None) -> list[str]:
    """Reap the dead records of the runtime folder `root`, and on `server` the databases named
    with its scope that no live record there owns."""
    reaped = []
    live_prefixes = []
    # Listed before the records are read: a run writes its record before its first database,
    # so a name seen here whose record is missing below belongs to a run that has ended.
    ours = f"{owners.DATABASE_PREFIX}{owners.scope_tag(root)}"
    names = server.names(ours) if server is not None else []
    records = owners.load_records(root)
    gone = {record.token for record in records if not record.creator_alive()}
    # One pass over the processes, and only when some creator is gone.
    used = owners.in_use([record for record in records if record.token in gone]) if gone else set()
    for record in records:
        if record.token not in gone or record.token in used:
            live_prefixes.append(record.database_prefix())
            continue
        reaped += backends.reap_records(record)
        record.remove(root)
    for name in names:
        if server is not None and not any(name.startswith(p) for p in live_prefixes):
            server.drop(name)
            reaped.append(name)
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
