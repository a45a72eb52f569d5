"""Fixtures for the database integration tests: real PostgreSQL clusters and SQLite files.

Every test gets its own PRISMA_TASKS_RUNTIME_DIR (in a scratch folder beside tmp_path, see
`scratch`), so owner records never leak between tests, and a teardown that stops any cluster
still running there (a failing test must not leave postgres processes behind).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from prisma_tasks.config import Settings
from prisma_tasks.databases import runtime_root
from prisma_tasks.databases.pg_local import (
    LocalCluster,
    find_binaries,
    stop_and_remove,
    unprivileged_user,
)
from prisma_tasks.db.connection import Connection

WAIT_SECONDS = 20.0


# -- small helpers (imported by the tests) -----------------------------------------------------
def wait_for(predicate: Callable[[], bool], timeout: float = WAIT_SECONDS) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def port_refuses(port: int) -> bool:
    """True when nothing accepts TCP connections on 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(2)
        try:
            probe.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return True
        except OSError:
            return False
    return False


def pid_running(pid: int) -> bool:
    """True for a live process; a zombie (exited, not yet waited for) counts as gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def postgres_pids(directory: Path | str) -> list[int]:
    """Live postgres processes whose command line names `directory` (its postmaster)."""
    needle = str(directory).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and b"postgres" in argv[0] and any(needle in arg for arg in argv):
            pid = int(entry.name)
            if pid_running(pid):
                found.append(pid)
    return found


def record_files(runtime: Path) -> list[Path]:
    return sorted((runtime / "owners").glob("*.json")) if (runtime / "owners").exists() else []


def cluster_dirs(runtime: Path) -> list[Path]:
    return sorted(runtime.glob("pg-*"))


def dead_pid() -> int:
    """The pid of a process that has exited and been waited for."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def _stop_leftovers(folder: Path) -> None:
    """Stop every cluster below `folder` and kill any postgres process naming it."""
    bindir = find_binaries()
    run_as = unprivileged_user()
    for pid_file in list(folder.glob("**/data/postmaster.pid")):
        stop_and_remove(str(pid_file.parent.parent), str(bindir), run_as)
    for pid in postgres_pids(folder):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


# -- fixtures ------------------------------------------------------------------------------------
@pytest.fixture
def needs_postgres() -> None:
    """Skip (not fail) where PostgreSQL's server binaries are not installed."""
    if find_binaries() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")


@pytest.fixture
def scratch(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """A folder for clusters; afterwards nothing of ours may still run below it.

    Where runs put their clusters (RAM when it has room, runtime_root.py); on the temp
    folder's disk when a test parametrizes it indirectly with "disk".
    Not under tmp_path: as root the clusters run as `postgres`, which must traverse every parent
    folder, and pytest resets its basetemp (/tmp/pytest-of-root) to 0700 whenever any pytest
    session starts, so a cluster there breaks as soon as another test run begins.
    """
    on_disk = getattr(request, "param", "default") == "disk"
    parent = None if on_disk else runtime_root.default_root().parent
    folder = Path(tempfile.mkdtemp(prefix="prisma-tasks-it-", dir=parent))
    os.chmod(folder, 0o711)  # search only: the unprivileged user reaches its own cluster folder
    (tmp_path / "scratch").symlink_to(folder)  # for a person reading a failed test's tmp_path
    try:
        yield folder
    finally:
        _stop_leftovers(folder)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def runtime_dir(scratch: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own PRISMA_TASKS_RUNTIME_DIR: owner records never cross tests."""
    runtime = scratch / "runtime"
    runtime.mkdir()
    monkeypatch.setenv("PRISMA_TASKS_RUNTIME_DIR", str(runtime))
    monkeypatch.delenv("PRISMA_TASKS_ADMIN_URL", raising=False)
    return runtime


@pytest.fixture
def settings(tmp_path: Path, runtime_dir: Path) -> Settings:
    return Settings(root=tmp_path)


@pytest.fixture
def pg_server(scratch: Path, runtime_dir: Path) -> Iterator[LocalCluster]:
    """A PostgreSQL 'server' of the test's own, outside the provisioner's runtime dir."""
    parent = scratch / "server"
    parent.mkdir()
    cluster = LocalCluster.create(parent=parent)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


CHILD = """
import sys, time
from pathlib import Path

from prisma_tasks.config import Settings
from prisma_tasks.databases.provisioner import provisioned

settings = Settings(root=Path(sys.argv[1]), postgres_provider="local")
with provisioned("postgres", settings, environ={}) as databases:
    url = databases.clone()
    print("READY", databases.cluster.directory, databases.cluster.port, url, flush=True)
    time.sleep(120)
"""


class Child:
    def __init__(self, process: subprocess.Popen[str], stderr: Path) -> None:
        self.process = process
        self.stderr = stderr
        self.cluster_dir = Path()
        self.port = 0
        self.clone_url = ""
        self.extra: list[str] = []  # what a script prints after the clone URL

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, timeout: float = 60) -> Child:
        """Read the READY line (bounded by `timeout`), or fail with the child's stderr."""
        import selectors

        assert self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                pytest.fail(f"child did not get ready in {timeout}s: {self.stderr.read_text()}")
        line = self.process.stdout.readline()
        if not line.startswith("READY "):
            self.process.wait(timeout=WAIT_SECONDS)
            pytest.fail(f"child failed ({line!r}): {self.stderr.read_text()}")
        _, directory, port, self.clone_url, *self.extra = line.split()
        self.cluster_dir, self.port = Path(directory), int(port)
        return self


@pytest.fixture
def spawn_child(tmp_path: Path, runtime_dir: Path) -> Iterator[Callable[..., Child]]:
    """Start child Pythons that provision a local cluster and sleep (`script`, CHILD by
    default, prints the READY line); all killed at the end."""
    children: list[Child] = []

    def spawn(script: str = CHILD, *args: str, runtime: Path | None = None) -> Child:
        """`runtime`: the child's PRISMA_TASKS_RUNTIME_DIR (default: the test's)."""
        stderr = tmp_path / f"child-{len(children)}.err"
        with open(stderr, "w", encoding="utf-8") as err:
            process = subprocess.Popen(
                [sys.executable, "-c", script, str(tmp_path), *args],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                env={**os.environ, "PRISMA_TASKS_RUNTIME_DIR": str(runtime or runtime_dir)},
            )
        child = Child(process, stderr)
        children.append(child)
        return child

    try:
        yield spawn
    finally:
        for child in children:
            if child.process.poll() is None:
                child.process.kill()
            child.process.wait(timeout=WAIT_SECONDS)
            if child.process.stdout is not None:
                child.process.stdout.close()


from .data_support import Children  # noqa: E402  (below the helpers it builds on)

# -- the data-rules tests (outbox, sagas, unit of work) share these -----------------------
BOTH_BACKENDS = [pytest.param("postgres", marks=pytest.mark.backend("postgres")), "sqlite"]


@pytest.fixture(params=BOTH_BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path_factory, tmp_path: Path) -> str:
    """The migrated reference schema: a PostgreSQL template clone, or SQLite via Prisma."""
    from .data_support import sqlite_reference_url

    if request.param == "postgres":
        return request.getfixturevalue("fresh_database_url")
    return sqlite_reference_url(tmp_path_factory, tmp_path)


@pytest.fixture
def db(url: str) -> Iterator[Connection]:
    from .data_support import connect

    with connect(url) as connection:
        yield connection


@pytest.fixture
def children(tmp_path: Path) -> Iterator[Children]:
    from .data_support import children_in

    with children_in(tmp_path) as started:
        yield started
