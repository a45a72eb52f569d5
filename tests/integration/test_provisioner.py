"""The provisioner against real PostgreSQL 15 clusters and real SQLite files; no mocks.

Each test has its own PRISMA_TASKS_RUNTIME_DIR (fixture `runtime_dir`), so owner records and
reaping never cross tests, and its own clusters, which the fixtures stop even when a test fails.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import threading
from dataclasses import asdict
from pathlib import Path

import psycopg
import pytest

from prisma_tasks.config import Settings
from prisma_tasks.databases import owners, runtime_root
from prisma_tasks.databases.pg_local import LocalCluster, ProvisionError
from prisma_tasks.databases.pg_server import PostgresServer
from prisma_tasks.databases.provisioner import (
    TEMPLATE_PREFIX,
    Provisioner,
    provisioned,
    reap,
)
from prisma_tasks.databases.runtime_root import in_ram
from prisma_tasks.db.urls import database_of, postgres_url, with_database
from prisma_tasks.errors import EXIT_USAGE

from .conftest import (
    WAIT_SECONDS,
    Child,
    cluster_dirs,
    dead_pid,
    pid_running,
    port_refuses,
    postgres_pids,
    record_files,
    wait_for,
)

# The provisioner is tested for both backends explicitly, whatever backend the session runs
# with; marking the module runs it once, in the postgres session, instead of twice.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.usefixtures("needs_postgres"),
    pytest.mark.backend("postgres"),
]

HASH_A = "a" * 64
HASH_B = "b" * 64


class Prepare:
    """A `prepare(url)` that applies plain SQL and counts its calls."""

    def __init__(self, rows: tuple[str, ...] = ("from-template",)) -> None:
        self.urls: list[str] = []
        self.rows = rows

    def __call__(self, url: str) -> None:
        self.urls.append(url)
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("CREATE TABLE item (name text NOT NULL)")
            for row in self.rows:
                connection.execute("INSERT INTO item (name) VALUES (%s)", (row,))


def items(url: str) -> list[str]:
    with psycopg.connect(url, connect_timeout=10) as connection:
        return [row[0] for row in connection.execute("SELECT name FROM item ORDER BY name")]


def add_item(url: str, name: str) -> None:
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as connection:
        connection.execute("INSERT INTO item (name) VALUES (%s)", (name,))


def database_names(admin_url: str) -> set[str]:
    with psycopg.connect(admin_url, connect_timeout=10) as connection:
        return {row[0] for row in connection.execute("SELECT datname FROM pg_database")}


def postmaster_pid(cluster: LocalCluster) -> int:
    return int((cluster.data_dir / "postmaster.pid").read_text().splitlines()[0])


def assert_cluster_gone(directory: Path, port: int) -> None:
    assert wait_for(lambda: port_refuses(port)), f"port {port} still accepts connections"
    assert wait_for(lambda: not postgres_pids(directory)), postgres_pids(directory)
    assert not directory.exists()


def record_of(pid: int) -> owners.OwnerRecord:
    matches = [record for record in owners.load_records() if record.pid == pid]
    assert len(matches) == 1, matches
    return matches[0]


# -- 1. local cluster --------------------------------------------------------------------------
@pytest.mark.parametrize("scratch", ["default", "disk"], indirect=True)
def test_local_cluster_template_clones_and_cleanup(settings: Settings, runtime_dir: Path) -> None:
    prepare = Prepare()
    with provisioned("postgres", settings, environ={}) as databases:
        cluster = databases.cluster
        assert cluster is not None and databases.server is not None
        assert cluster.directory.parent == runtime_dir
        # FILE_COPY in RAM (the faster there), the server's default (WAL_LOG) on disk
        expected = "FILE_COPY" if in_ram(runtime_dir) else None
        assert databases.server.clone_strategy == expected
        assert "local cluster" in databases.provider
        (record_path,) = record_files(runtime_dir)
        assert json.loads(record_path.read_text())["cluster_dir"] == str(cluster.directory)
        postmaster = postmaster_pid(cluster)
        assert pid_running(postmaster)

        template = databases.template(HASH_A, prepare)
        assert template == TEMPLATE_PREFIX + HASH_A[:24]
        assert len(prepare.urls) == 1
        first, second = databases.clone(template), databases.clone(template)
        assert first != second
        assert items(first) == items(second) == ["from-template"]

        add_item(first, "only-in-first")
        assert items(first) == ["from-template", "only-in-first"]
        assert items(second) == ["from-template"]
        assert items(cluster.url(template)) == ["from-template"]
        port, directory = cluster.port, cluster.directory

    assert_cluster_gone(directory, port)
    assert wait_for(lambda: not pid_running(postmaster))
    assert record_files(runtime_dir) == []
    assert cluster_dirs(runtime_dir) == []


# -- 2. template reuse ---------------------------------------------------------------------------
def test_same_hash_reuses_template_and_new_hash_builds_one(settings: Settings) -> None:
    prepare = Prepare()
    with provisioned("postgres", settings, environ={}) as databases:
        assert databases.server is not None
        first = databases.template(HASH_A, prepare)
        again = databases.template(HASH_A, prepare)
        assert first == again
        assert len(prepare.urls) == 1

        other = databases.template(HASH_B, prepare)
        assert other != first
        assert len(prepare.urls) == 2
        assert prepare.urls[0] != prepare.urls[1]

        names = database_names(databases.server.admin_url)
        assert {first, other} <= names
        # the build databases were renamed into templates, not left beside them
        assert not [name for name in names if "build" in name]
        assert items(databases.clone(other)) == ["from-template"]


# -- 3. a server from an admin URL ---------------------------------------------------------------
def test_server_provider_drops_run_databases_and_keeps_templates(
    settings: Settings, runtime_dir: Path, pg_server: LocalCluster
) -> None:
    admin_url = pg_server.url()
    before = database_names(admin_url)
    prepare = Prepare()
    with provisioned(
        "postgres", settings, environ={"PRISMA_TASKS_ADMIN_URL": admin_url}
    ) as databases:
        assert databases.cluster is None
        assert databases.server is not None and databases.server.admin_url == admin_url
        assert pg_server.password not in databases.provider
        prefix = databases.record.database_prefix()
        template = databases.template(HASH_A, prepare)
        clones = [databases.clone(template) for _ in range(3)]
        empty = databases.clone()
        assert all(items(url) == ["from-template"] for url in clones)
        during = database_names(admin_url)
        assert {database_of(url) for url in [*clones, empty]} <= during
        assert len(record_files(runtime_dir)) == 1

    after = database_names(admin_url)
    assert not [name for name in after if name.startswith(prefix)]
    assert after == before | {template}
    assert template.startswith(TEMPLATE_PREFIX)
    assert record_files(runtime_dir) == []
    assert cluster_dirs(runtime_dir) == []

    # a second run on the kept server reuses the template without preparing again
    with provisioned("postgres", settings, environ={"PRISMA_TASKS_ADMIN_URL": admin_url}) as again:
        assert again.template(HASH_A, prepare) == template
        assert len(prepare.urls) == 1
    assert database_names(admin_url) == after


# -- 4. SQLite -----------------------------------------------------------------------------------
def test_sqlite_template_and_clones_are_files(settings: Settings, runtime_dir: Path) -> None:
    prepared: list[str] = []

    def prepare(url: str) -> None:
        prepared.append(url)
        assert url.startswith("file:")
        with sqlite3.connect(url.removeprefix("file:")) as connection:
            connection.execute("CREATE TABLE item (name TEXT NOT NULL)")
            connection.execute("INSERT INTO item VALUES ('from-template')")
        connection.close()

    def rows(url: str) -> list[str]:
        connection = sqlite3.connect(url.removeprefix("file:"))
        try:
            return [row[0] for row in connection.execute("SELECT name FROM item ORDER BY name")]
        finally:
            connection.close()

    with provisioned("sqlite", settings) as databases:
        assert databases.sqlite is not None
        folder = databases.sqlite.directory
        assert folder.parent == runtime_dir and folder.is_dir()
        template = databases.template(HASH_A, prepare)
        assert databases.template(HASH_A, prepare) == template
        assert len(prepared) == 1
        template_file = runtime_dir / "sqlite-templates" / f"{template}.db"
        assert template_file.is_file()

        first, second = databases.clone(template), databases.clone(template)
        for url in (first, second):
            path = Path(url.removeprefix("file:"))
            assert path.is_file() and path.parent == folder
        assert rows(first) == rows(second) == ["from-template"]
        connection = sqlite3.connect(first.removeprefix("file:"))
        with connection:
            connection.execute("INSERT INTO item VALUES ('only-in-first')")
        connection.close()
        assert rows(first) == ["from-template", "only-in-first"]
        assert rows(second) == ["from-template"]
        assert rows(f"file:{template_file}") == ["from-template"]
        assert len(record_files(runtime_dir)) == 1

    assert not folder.exists()
    assert template_file.is_file()
    assert sorted(p.name for p in template_file.parent.iterdir()) == [template_file.name]
    assert record_files(runtime_dir) == []

    # the next run finds the template and does not prepare again
    with provisioned("sqlite", settings) as databases:
        assert databases.template(HASH_A, prepare) == template
        assert rows(databases.clone(template)) == ["from-template"]
    assert len(prepared) == 1


# -- 5. exceptions -------------------------------------------------------------------------------
@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()], ids=type)
def test_exception_inside_provisioned_still_cleans_up(
    settings: Settings, runtime_dir: Path, error: BaseException
) -> None:
    with pytest.raises(type(error)), provisioned("postgres", settings, environ={}) as databases:
        assert databases.cluster is not None
        template = databases.template(HASH_A, Prepare())
        databases.clone(template)
        directory, port = databases.cluster.directory, databases.cluster.port
        assert not port_refuses(port)
        raise error

    assert_cluster_gone(directory, port)
    assert record_files(runtime_dir) == []
    assert cluster_dirs(runtime_dir) == []


# -- 6. SIGTERM ----------------------------------------------------------------------------------
def test_sigterm_cleans_up(spawn_child, runtime_dir: Path) -> None:
    child: Child = spawn_child().wait_ready()
    assert child.cluster_dir.is_dir()
    assert postgres_pids(child.cluster_dir)
    assert len(record_files(runtime_dir)) == 1

    child.process.send_signal(signal.SIGTERM)
    child.process.wait(timeout=WAIT_SECONDS)
    assert child.process.returncode != 0  # it was interrupted, not finished

    assert_cluster_gone(child.cluster_dir, child.port)
    assert record_files(runtime_dir) == []
    assert cluster_dirs(runtime_dir) == []


# -- 7. SIGKILL, then a later run reaps --------------------------------------------------------
def test_sigkill_leftovers_are_reaped_but_live_runs_are_not(
    spawn_child, settings: Settings, runtime_dir: Path
) -> None:
    killed, alive = spawn_child(), spawn_child()
    killed.wait_ready()
    alive.wait_ready()

    killed.process.kill()
    killed.process.wait(timeout=WAIT_SECONDS)
    # a SIGKILLed run cannot clean up: its cluster keeps running and its record stays
    assert killed.cluster_dir.is_dir()
    assert not port_refuses(killed.port)
    killed_record = record_of(killed.pid)
    assert killed_record.cluster_dir == str(killed.cluster_dir)
    alive_record = record_of(alive.pid)

    # any later run reaps on open (SQLite is enough: reaping does not depend on the backend)
    with provisioned("sqlite", settings):
        pass

    assert_cluster_gone(killed.cluster_dir, killed.port)
    assert not killed_record.path.exists()
    # ... but never a live run's cluster
    assert alive.process.poll() is None
    assert alive.cluster_dir.is_dir()
    assert not port_refuses(alive.port)
    assert alive_record.path.exists()
    with psycopg.connect(alive.clone_url, connect_timeout=10) as connection:
        assert connection.execute("SELECT current_database()").fetchone() == (
            database_of(alive.clone_url),
        )

    alive.process.kill()
    alive.process.wait(timeout=WAIT_SECONDS)
    assert str(alive.cluster_dir) in reap()
    assert_cluster_gone(alive.cluster_dir, alive.port)
    assert record_files(runtime_dir) == []
    assert cluster_dirs(runtime_dir) == []


# -- 7b. a dead creator's cluster stays while its users live ------------------------------------
# The creator starts its user the way nox starts pytest: once it is open, with its environment.
# "pytest": a Python that provisions on the exported admin URL (server mode) and holds a
# connection to its clone; "plain": any process at all (a test's subprocess, a Node);
# "url-only": one started with nothing of the creator's environment but DATABASE_URL.
PYTEST_LIKE_USER = """
import sys, time
from pathlib import Path

import psycopg
from prisma_tasks.config import Settings
from prisma_tasks.databases.provisioner import provisioned

with provisioned("postgres", Settings(root=Path(sys.argv[1]))) as databases:
    url = databases.clone()
    with psycopg.connect(url, autocommit=True) as connection:
        print("USING", url, flush=True)
        time.sleep(120)
"""
CREATOR_WITH_USER = """
import os, subprocess, sys, time
from pathlib import Path

from prisma_tasks.config import Settings
from prisma_tasks.databases.provisioner import provisioned

settings = Settings(root=Path(sys.argv[1]), postgres_provider="local")
with provisioned("postgres", settings, environ={}) as databases:
    url = databases.clone()
    env = {**os.environ, "PRISMA_TASKS_ADMIN_URL": databases.server.admin_url}
    if sys.argv[2] == "plain":
        argv = ["sh", "-c", "echo USING -; exec sleep 120"]
    elif sys.argv[2] == "url-only":  # a hand-built environment: PATH and the URL, nothing else
        argv = ["sh", "-c", "echo USING -; exec sleep 120"]
        env = {"PATH": os.environ["PATH"], "DATABASE_URL": url}
    else:
        argv = [sys.executable, "-c", sys.argv[2], sys.argv[1]]
    user = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env)
    using = user.stdout.readline().split()[1]
    print("READY", databases.cluster.directory, databases.cluster.port, url, user.pid, using,
          flush=True)
    time.sleep(120)
"""


@pytest.mark.parametrize("user", ["pytest", "plain", "url-only"])
def test_cluster_of_a_dead_creator_is_not_reaped_while_a_user_lives(
    spawn_child, settings: Settings, runtime_dir: Path, user: str
) -> None:
    script = PYTEST_LIKE_USER if user == "pytest" else user
    creator: Child = spawn_child(CREATOR_WITH_USER, script).wait_ready()
    user_pid, user_url = int(creator.extra[0]), creator.extra[1]
    try:
        creator.process.kill()  # nox alone, killed; its pytest goes on
        creator.process.wait(timeout=WAIT_SECONDS)
        creator_record = record_of(creator.pid)
        assert not creator_record.creator_alive()
        assert pid_running(user_pid)

        # any later run reaps on open, and so does the reaper with the cluster as its server
        with provisioned("sqlite", settings):
            pass
        admin = PostgresServer(with_database(creator.clone_url, "postgres"))
        try:
            assert reap(admin) == []
        finally:
            admin.close()

        assert creator.cluster_dir.is_dir()
        assert not port_refuses(creator.port)
        assert creator_record.path.exists()
        # the database the creator made for its user, and the user's own, are still there
        for url in [creator.clone_url] + ([user_url] if user == "pytest" else []):
            with psycopg.connect(url, connect_timeout=10) as connection:
                assert connection.execute("SELECT 1").fetchone() == (1,)
    finally:
        os.kill(user_pid, signal.SIGKILL)
    assert wait_for(lambda: not pid_running(user_pid))

    # now nothing uses the cluster: the next run reaps it
    assert str(creator.cluster_dir) in reap()
    assert_cluster_gone(creator.cluster_dir, creator.port)
    assert record_files(runtime_dir) == []
    assert cluster_dirs(runtime_dir) == []


# -- 8. server reaping ---------------------------------------------------------------------------
def test_server_reap_drops_only_dead_owners_databases(
    runtime_dir: Path, pg_server: LocalCluster
) -> None:
    dead = owners.OwnerRecord.new()
    dead.pid, dead.started = dead_pid(), "12345"
    dead.save()
    sleeper = subprocess.Popen(["sleep", "120"])
    try:
        live = owners.OwnerRecord.new()
        live.pid, live.started = sleeper.pid, owners.process_start_time(sleeper.pid)
        live.save()
        assert not dead.is_alive() and live.is_alive()

        server = PostgresServer(pg_server.url())
        try:
            dead_db, live_db = f"{dead.database_prefix()}1", f"{live.database_prefix()}1"
            for name in (dead_db, live_db, f"{TEMPLATE_PREFIX}{HASH_A[:24]}", "app_data"):
                server.create(name)

            reaped = reap(server)

            assert dead_db in reaped
            names = database_names(pg_server.url())
            assert dead_db not in names
            assert {live_db, f"{TEMPLATE_PREFIX}{HASH_A[:24]}", "app_data"} <= names
            assert not dead.path.exists()
            assert live.path.exists()
        finally:
            server.close()
    finally:
        sleeper.kill()
        sleeper.wait()
        live.remove()


# -- 8b. the runtime folder of older versions (the temp folder, before the RAM default) ---------
# Stands in for `<tmp>/prisma-tasks-<uid>`: runtime_root.legacy_root() is pointed at it.
@pytest.fixture
def legacy(scratch: Path, runtime_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = scratch / "prisma-tasks-legacy"
    monkeypatch.setattr(runtime_root, "legacy_root", lambda: folder)
    return folder


def test_an_older_versions_runtime_folder_is_reaped_then_removed(
    spawn_child, settings: Settings, legacy: Path
) -> None:
    killed = spawn_child(runtime=legacy).wait_ready()
    alive = spawn_child(runtime=legacy).wait_ready()
    killed.process.kill()
    killed.process.wait(timeout=WAIT_SECONDS)
    assert killed.cluster_dir.parent == legacy and not port_refuses(killed.port)

    with provisioned("sqlite", settings):  # any run of today's version reaps on open
        pass

    assert_cluster_gone(killed.cluster_dir, killed.port)
    # a live run there keeps its cluster, and so the folder stays
    assert alive.process.poll() is None and not port_refuses(alive.port)
    assert len(record_files(legacy)) == 1
    with psycopg.connect(alive.clone_url, connect_timeout=10) as connection:
        assert connection.execute("SELECT 1").fetchone() == (1,)

    alive.process.kill()
    alive.process.wait(timeout=WAIT_SECONDS)
    reaped = reap()

    assert str(alive.cluster_dir) in reaped and str(legacy) in reaped
    assert_cluster_gone(alive.cluster_dir, alive.port)
    assert not legacy.exists()
    assert list(legacy.parent.glob(f"{legacy.name}*")) == []  # nothing set aside is left


def old_record(folder: Path, token: str, pid: int, **made: str) -> owners.OwnerRecord:
    """A record as an older version wrote it into its runtime folder `folder`."""
    started = owners.process_start_time(pid) or "12345"
    record = owners.OwnerRecord(token, pid, started, owners.host_tag(), **made)
    (folder / "owners").mkdir(parents=True, exist_ok=True)
    (folder / "owners" / f"{token}.json").write_text(json.dumps(asdict(record)))
    return record


def test_server_databases_of_an_older_versions_runtime_folder_are_swept(
    runtime_dir: Path, pg_server: LocalCluster, legacy: Path
) -> None:
    # records as an older version wrote them: in its folder, tokens with that folder's scope
    scope = owners.scope_tag(legacy)
    assert scope != owners.scope_tag()
    dead = old_record(legacy, f"{scope}dead01", dead_pid())
    live = old_record(legacy, f"{scope}live01", os.getpid())
    server = PostgresServer(pg_server.url())
    try:
        dead_db, live_db = f"{dead.database_prefix()}1", f"{live.database_prefix()}1"
        orphan_db = f"{owners.DATABASE_PREFIX}{scope}gone01_1"  # its record is already gone
        for name in (dead_db, live_db, orphan_db, "app_data"):
            server.create(name)

        reaped = reap(server)

        assert {dead_db, orphan_db} <= set(reaped)
        names = database_names(pg_server.url())
        assert not {dead_db, orphan_db} & names and {live_db, "app_data"} <= names
        assert record_files(legacy) == [legacy / "owners" / f"{live.token}.json"]

        live.remove(legacy)  # that run ends
        reaped = reap(server)

        assert live_db in reaped and live_db not in database_names(pg_server.url())
        assert not legacy.exists()
        # names of its scope are still swept once the folder is gone (no record: none lives)
        late_db = f"{owners.DATABASE_PREFIX}{scope}late01_1"
        server.create(late_db)
        assert late_db in reap(server) and late_db not in database_names(pg_server.url())
    finally:
        server.close()


def test_folders_set_aside_are_deleted_unless_a_live_record_is_in_them(legacy: Path) -> None:
    interrupted = legacy.with_name(f"{legacy.name}.retired-aaaaaa")  # a delete cut short
    (interrupted / "pg-x" / "data").mkdir(parents=True)
    holding = legacy.with_name(f"{legacy.name}.retired-bbbbbb")  # a run raced the rename
    old_record(holding, "livetoken01", os.getpid())

    reap()

    assert not interrupted.exists()
    assert record_files(holding) == [holding / "owners" / "livetoken01.json"]


def test_an_old_folder_someone_else_could_write_is_never_read(legacy: Path, scratch: Path) -> None:
    victim = scratch / "victim"
    victim.mkdir()
    old_record(legacy, "planted0001", dead_pid(), sqlite_dir=str(victim))
    legacy.chmod(0o777)  # any local user could have made or filled it

    reap()

    assert victim.is_dir() and len(record_files(legacy)) == 1


# -- 9. bad settings -----------------------------------------------------------------------------
def assert_clean_failure(error: ProvisionError, runtime_dir: Path, *secrets: str) -> None:
    assert error.exit_code == EXIT_USAGE == 2
    for secret in secrets:
        assert secret not in str(error)
    assert record_files(runtime_dir) == []
    assert cluster_dirs(runtime_dir) == []


def test_unreachable_server(settings: Settings, runtime_dir: Path) -> None:
    secret = "Unreachable-S3cret"
    # a bound socket that does not listen: connections to it are refused, and no one can
    # start listening there while we hold it
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        admin_url = f"postgresql://admin:{secret}@127.0.0.1:{port}/postgres"
        with pytest.raises(ProvisionError) as caught:
            Provisioner("postgres", settings, environ={"PRISMA_TASKS_ADMIN_URL": admin_url}).open()
    message = str(caught.value)
    assert "cannot connect to the PostgreSQL admin URL" in message
    assert f"postgresql://admin:***@127.0.0.1:{port}/postgres" in message
    assert_clean_failure(caught.value, runtime_dir, secret)


def test_wrong_password(settings: Settings, runtime_dir: Path, pg_server: LocalCluster) -> None:
    secret = "Wrong-S3cret"
    admin_url = postgres_url(
        user="postgres", password=secret, host="127.0.0.1", port=pg_server.port, database="postgres"
    )
    with pytest.raises(ProvisionError) as caught:
        Provisioner("postgres", settings, environ={"PRISMA_TASKS_ADMIN_URL": admin_url}).open()
    message = str(caught.value)
    assert "cannot connect to the PostgreSQL admin URL" in message
    assert "password authentication failed" in message
    assert_clean_failure(caught.value, runtime_dir, secret, pg_server.password)


def test_user_without_createdb(
    settings: Settings, runtime_dir: Path, pg_server: LocalCluster
) -> None:
    secret = "Pl@in S3cret/:?#"
    with psycopg.connect(pg_server.url(), autocommit=True) as connection:
        connection.execute(
            psycopg.sql.SQL("CREATE ROLE plain LOGIN NOCREATEDB PASSWORD {}").format(
                psycopg.sql.Literal(secret)
            )
        )
    admin_url = postgres_url(
        user="plain", password=secret, host="127.0.0.1", port=pg_server.port, database="postgres"
    )
    before = database_names(pg_server.url())
    with pytest.raises(ProvisionError) as caught:
        Provisioner("postgres", settings, environ={"PRISMA_TASKS_ADMIN_URL": admin_url}).open()
    message = str(caught.value)
    assert "may not create databases" in message
    assert "CREATEDB" in message
    assert "postgresql://plain:***@" in message
    encoded = admin_url.split("plain:", 1)[1].split("@127.0.0.1", 1)[0]
    assert_clean_failure(caught.value, runtime_dir, secret, encoded, pg_server.password)
    assert database_names(pg_server.url()) == before


def test_server_provider_without_admin_url(settings: Settings, runtime_dir: Path) -> None:
    server_only = Settings(root=settings.root, postgres_provider="server")
    with pytest.raises(ProvisionError) as caught:
        Provisioner("postgres", server_only, environ={}).open()
    message = str(caught.value)
    assert "postgres_provider = 'server'" in message
    assert "PRISMA_TASKS_ADMIN_URL is not set" in message
    assert_clean_failure(caught.value, runtime_dir)


# -- 10. parallel clones ---------------------------------------------------------------------
def test_the_warm_pool_starts_with_the_second_clone_of_a_template(settings: Settings) -> None:
    with provisioned("postgres", settings, environ={}) as databases:
        assert databases.server is not None and databases.warm_clones > 0
        template = databases.template(HASH_A, Prepare())
        prefix = databases.record.database_prefix()

        def ours() -> set[str]:
            names = database_names(databases.server.admin_url)  # type: ignore[union-attr]
            return {name for name in names if name.startswith(prefix)}

        first = databases.clone(template)
        assert ours() == {database_of(first)}, "one clone asked for, one made"
        second = databases.clone(template)
        assert wait_for(lambda: len(ours()) == 2 + databases.warm_clones), ours()
        third = databases.clone(template)  # a pop from the pool
        assert database_of(third) in ours() - {database_of(first), database_of(second)}
        assert items(third) == ["from-template"]


def test_parallel_clones_from_one_template(settings: Settings) -> None:
    threads, per_thread = 4, 5
    with provisioned("postgres", settings, environ={}) as databases:
        template = databases.template(HASH_A, Prepare())
        start = threading.Barrier(threads)
        results: list[list[str]] = [[] for _ in range(threads)]
        errors: list[BaseException] = []

        def work(index: int) -> None:
            try:
                start.wait(timeout=WAIT_SECONDS)
                for _ in range(per_thread):
                    results[index].append(databases.clone(template))
            except BaseException as exc:
                errors.append(exc)

        workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert not any(worker.is_alive() for worker in workers)
        assert errors == []

        urls = [url for result in results for url in result]
        assert len(urls) == threads * per_thread == len(set(urls))
        names = {database_of(url) for url in urls}
        assert len(names) == 20
        assert databases.server is not None
        assert names <= database_names(databases.server.admin_url)
        for index, url in enumerate(urls):
            add_item(url, f"row-{index}")
            assert items(url) == ["from-template", f"row-{index}"]


# -- 11. keep --------------------------------------------------------------------------------
def test_keep_leaves_database_after_close(settings: Settings, runtime_dir: Path) -> None:
    databases = Provisioner("postgres", settings, environ={}).open()
    try:
        cluster = databases.cluster
        assert cluster is not None
        template = databases.template(HASH_A, Prepare())
        kept, dropped = databases.clone(template), databases.clone(template)
        add_item(kept, "evidence")
        databases.keep(kept)
    finally:
        kept_urls = databases.close()

    assert len(kept_urls) == 1
    (shown,) = kept_urls
    assert cluster.password not in shown
    assert "***" in shown
    assert database_of(kept) in shown
    # the kept database survives, the other one does not
    assert cluster.directory.is_dir()
    assert items(kept) == ["evidence", "from-template"]
    names = database_names(cluster.url())
    assert database_of(kept) in names and database_of(dropped) not in names
    secret_file = cluster.directory / "kept-urls.txt"
    assert secret_file.read_text().split() == [kept]
    assert secret_file.stat().st_mode & 0o777 == 0o600
    # the record stays, so a later run removes the cluster once this owner is gone
    (record_path,) = record_files(runtime_dir)

    record = databases.record
    record.pid, record.started = dead_pid(), "12345"
    record.save()
    assert reap() == [str(cluster.directory)]
    assert_cluster_gone(cluster.directory, cluster.port)
    assert not record_path.exists()


def test_kept_url_printed_by_provisioned_is_masked(
    settings: Settings, runtime_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with provisioned("postgres", settings, environ={}) as databases:
        cluster = databases.cluster
        assert cluster is not None
        databases.keep(databases.clone())
    printed = capsys.readouterr().err
    assert "kept database: postgresql://postgres:***@127.0.0.1" in printed
    assert cluster.password not in printed
    # this process is alive, so its record and kept cluster are not reaped
    assert reap() == []
    assert cluster.directory.is_dir()
    cluster.remove()
    databases.record.remove()


# -- regressions of fixed bugs -----------------------------------------------------------------
@pytest.mark.parametrize(
    "password", ["50%off-S3cret", "With Space-S3cret"], ids=["raw-percent", "raw-space"]
)
def test_malformed_admin_url_is_a_provision_error_without_the_password(
    settings: Settings, runtime_dir: Path, password: str
) -> None:
    # psycopg rejects these URLs with a ProgrammingError that quotes the password verbatim
    admin_url = f"postgresql://admin:{password}@127.0.0.1:5432/postgres"
    with pytest.raises(ProvisionError) as caught:
        Provisioner("postgres", settings, environ={"PRISMA_TASKS_ADMIN_URL": admin_url}).open()
    message = str(caught.value)
    assert "cannot connect to the PostgreSQL admin URL postgresql://admin:***@" in message
    assert "percent-encode" in message
    assert_clean_failure(caught.value, runtime_dir, password, "S3cret")


def test_run_in_another_runtime_dir_does_not_sweep_live_databases(
    settings: Settings,
    tmp_path: Path,
    runtime_dir: Path,
    pg_server: LocalCluster,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another user (or PRISMA_TASKS_RUNTIME_DIR) cannot see our records: it must not reap us."""
    environ = {"PRISMA_TASKS_ADMIN_URL": pg_server.url()}
    first = Provisioner("postgres", settings, environ=environ).open()
    try:
        ours = first.clone()
        other_runtime = tmp_path / "other-user-runtime"
        monkeypatch.setenv("PRISMA_TASKS_RUNTIME_DIR", str(other_runtime))
        with provisioned("postgres", settings, environ=environ) as second:
            theirs = second.clone()
            assert database_of(ours) in database_names(pg_server.url())
        assert database_of(theirs) not in database_names(pg_server.url())
        assert record_files(other_runtime) == []
    finally:
        monkeypatch.setenv("PRISMA_TASKS_RUNTIME_DIR", str(runtime_dir))
        first.close()
    assert database_of(ours) not in database_names(pg_server.url())
    assert record_files(runtime_dir) == []


def test_killed_run_not_yet_waited_for_is_reaped(spawn_child, runtime_dir: Path) -> None:
    """A zombie (killed, its parent has not waited yet) is dead: its cluster must be reaped."""
    child: Child = spawn_child().wait_ready()
    child.process.kill()
    assert wait_for(lambda: not pid_running(child.pid))
    assert child.process.returncode is None  # not waited for: /proc still lists it, as a zombie

    assert str(child.cluster_dir) in reap()
    assert_cluster_gone(child.cluster_dir, child.port)
    assert record_files(runtime_dir) == []
    child.process.wait(timeout=WAIT_SECONDS)


@pytest.mark.parametrize("folder", ["with a space", "long-" + "x" * 60], ids=["space", "long"])
def test_local_cluster_in_awkward_runtime_dir(
    settings: Settings, runtime_dir: Path, monkeypatch: pytest.MonkeyPatch, folder: str
) -> None:
    """pg_ctl passes options through a shell, and a Unix socket path has at most ~104 bytes."""
    awkward = runtime_dir / folder
    monkeypatch.setenv("PRISMA_TASKS_RUNTIME_DIR", str(awkward))
    with provisioned("postgres", settings, environ={}) as databases:
        assert databases.cluster is not None
        assert databases.cluster.directory.parent == awkward
        url = databases.clone(databases.template(HASH_A, Prepare()))
        assert items(url) == ["from-template"]
        directory, port = databases.cluster.directory, databases.cluster.port
    assert_cluster_gone(directory, port)
    assert record_files(awkward) == []


def test_port_range_exhausted(
    settings: Settings, runtime_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    real_bind = socket.socket.bind

    def no_free_port(self: socket.socket, address: object) -> None:
        if isinstance(address, tuple) and address[1] == 0:
            raise OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address")
        real_bind(self, address)

    monkeypatch.setattr(socket.socket, "bind", no_free_port)
    with pytest.raises(ProvisionError) as caught:
        Provisioner("postgres", settings, environ={}).open()
    assert "no free TCP port on 127.0.0.1" in str(caught.value)
    assert caught.value.exit_code == 2
    assert record_files(runtime_dir) == [] and cluster_dirs(runtime_dir) == []
