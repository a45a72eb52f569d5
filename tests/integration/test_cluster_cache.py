"""The cluster cache against real PostgreSQL 15 clusters: a run that left its cluster as it found
it hands it (and its templates) to the next run; anything else is removed as before.

Each test has its own PRISMA_TASKS_RUNTIME_DIR (fixture `runtime_dir`), so its cache is its own.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from prisma_tasks.config import Settings
from prisma_tasks.databases import cluster_cache, runtime_root
from prisma_tasks.databases.provisioner import Provisioner, provisioned

from .conftest import (
    WAIT_SECONDS,
    Child,
    cluster_dirs,
    port_refuses,
    postgres_pids,
    record_files,
    wait_for,
)
from .test_provisioner import HASH_A, HASH_B, Prepare, assert_cluster_gone, items

pytestmark = [
    pytest.mark.integration,
    pytest.mark.usefixtures("needs_postgres"),
    pytest.mark.backend("postgres"),
]


RACERS = 4


def entries(runtime_dir: Path) -> list[Path]:
    return sorted((runtime_dir / cluster_cache.FOLDER).glob("*/entry-*"))


def one_run(
    settings: Settings, prepare: Prepare, hash_: str = HASH_A, log: list[str] | None = None
) -> tuple[str, str]:
    """Open, build or reuse the template, clone, close; (the provider line, the clone's URL).
    `log` gets the provisioner's lines about the cache: none on the normal path."""
    lines: list[str] = []
    with provisioned("postgres", settings, environ={}, log=lines.append) as databases:
        url = databases.clone(databases.template(hash_, prepare))
        assert items(url) == ["from-template"]
        provider = databases.provider
    cache_lines = [line for line in lines if line.startswith("cluster cache:")]
    if log is None:
        assert cache_lines == []
    else:
        log += cache_lines
    return provider, url


def refuses(url: str) -> bool:
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.OperationalError:
        return True
    return False


def test_the_next_run_takes_the_cluster_and_its_template(
    settings: Settings, runtime_dir: Path
) -> None:
    prepare = Prepare()
    first_provider, first_url = one_run(settings, prepare)
    assert "(new)" in first_provider
    (entry,) = entries(runtime_dir)
    meta = cluster_cache.read_meta(entry)
    assert meta is not None and meta.templates == [f"pt_tpl_{HASH_A[:24]}"]
    assert (entry / cluster_cache.META).stat().st_mode & 0o777 == 0o600
    # the meta beside the cluster folder, in a folder of ours the server's user cannot enter
    assert entry.stat().st_uid == os.getuid() and entry.stat().st_mode & 0o777 == 0o700
    assert sorted(path.name for path in entry.iterdir()) == ["cache.json", "cluster"]
    assert not (entry / cluster_cache.CLUSTER / cluster_cache.META).exists()
    # a cached cluster is stopped: cleanly (no pid file left) and nothing listens on its port
    assert not (entry / cluster_cache.CLUSTER / "data" / "postmaster.pid").exists()
    assert port_refuses(urlsplit(first_url).port or 0)
    assert cluster_dirs(runtime_dir) == [] and record_files(runtime_dir) == []

    with provisioned("postgres", settings, environ={}) as databases:
        assert "(from the cluster cache)" in databases.provider
        assert entries(runtime_dir) == []  # taken: no other run can have it now
        url = databases.clone(databases.template(HASH_A, prepare))
        assert items(url) == ["from-template"]
        assert len(prepare.urls) == 1, "the template came with the cluster"
        # a new password: what the first run handed out opens nothing
        assert databases.cluster is not None
        old_password = urlsplit(first_url).password
        assert old_password and old_password != databases.cluster.password
        assert refuses(dataclasses.replace(databases.cluster, password=old_password).url())
        directory, port = databases.cluster.directory, databases.cluster.port
    assert_cluster_gone(directory, port)
    (entry,) = entries(runtime_dir)
    assert cluster_cache.read_meta(entry).uses == 1  # type: ignore[union-attr]


@pytest.mark.parametrize("leftover", ["kept database", "role", "database"])
def test_a_cluster_left_changed_is_removed_not_cached(
    settings: Settings, runtime_dir: Path, leftover: str
) -> None:
    lines: list[str] = []
    databases = Provisioner("postgres", settings, environ={}, log=lines.append).open()
    try:
        assert databases.cluster is not None
        directory, admin = databases.cluster.directory, databases.cluster.url()
        url = databases.clone(databases.template(HASH_A, Prepare()))
        with psycopg.connect(admin, autocommit=True) as connection:
            if leftover == "kept database":
                databases.keep(url)
            elif leftover == "role":
                connection.execute("CREATE ROLE made_by_a_test")
            elif leftover == "database":
                connection.execute("CREATE DATABASE made_by_a_test")
    finally:
        databases.close()
    assert entries(runtime_dir) == []
    assert directory.is_dir() == (leftover == "kept database")
    reason = {"role": ["a role was left behind"], "database": ["a database was left behind"]}
    said = [line for line in lines if line.startswith("cluster cache:")]
    assert said == [f"cluster cache: not kept ({why})" for why in reason.get(leftover, [])]


OBJECTS_IN_POSTGRES = "objects were left in postgres"
SUPERUSER_CHANGED = "the superuser was changed"
SETTINGS = "ALTER ROLE/DATABASE ... SET settings were left behind"
# What a run may do that outlives its databases: (database, statement, the logged reason's start)
LASTING_CHANGES = {
    "ALTER SYSTEM": (
        "postgres",
        "ALTER SYSTEM SET work_mem = '8MB'",
        "ALTER SYSTEM settings were left behind",
    ),
    "ALTER ROLE SET": ("postgres", "ALTER ROLE postgres SET work_mem = '8MB'", SETTINGS),
    "ALTER DATABASE SET": ("postgres", "ALTER DATABASE template1 SET work_mem = '8MB'", SETTINGS),
    "connection limit": ("postgres", "ALTER ROLE postgres CONNECTION LIMIT 50", SUPERUSER_CHANGED),
    "valid until": ("postgres", "ALTER ROLE postgres VALID UNTIL 'infinity'", SUPERUSER_CHANGED),
    "role granted": (
        "postgres",
        "GRANT pg_read_all_data TO postgres",
        "a role was granted to the superuser",
    ),
    "subscription": (
        "postgres",
        "CREATE SUBSCRIPTION made_by_a_test CONNECTION 'dbname=nowhere' PUBLICATION p"
        " WITH (connect = false)",
        "a subscription was left behind",
    ),
    "replication origin": (
        "postgres",
        "SELECT pg_replication_origin_create('made_by_a_test')",
        "a replication origin was left behind",
    ),
    "table in postgres": ("postgres", "CREATE TABLE made_by_a_test (id int)", OBJECTS_IN_POSTGRES),
    "function in postgres": (
        "postgres",
        "CREATE FUNCTION made_by_a_test() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        OBJECTS_IN_POSTGRES,
    ),
    "default privileges": (
        "postgres",
        "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC",
        f"{OBJECTS_IN_POSTGRES} (pg_default_acl)",
    ),
    "schema in template1": (
        "template1",
        "CREATE SCHEMA made_by_a_test",
        "objects were left in template1",
    ),
    "table in template1": (
        "template1",
        "CREATE TABLE public.made_by_a_test (id int)",
        "objects were left in template1",
    ),
}


@pytest.mark.parametrize("change", ["nothing (the control)", *LASTING_CHANGES])
def test_a_cluster_with_lasting_changes_is_removed_not_cached(
    settings: Settings, runtime_dir: Path, change: str
) -> None:
    lines: list[str] = []
    databases = Provisioner("postgres", settings, environ={}, log=lines.append).open()
    try:
        assert databases.cluster is not None
        directory = databases.cluster.directory
        if change in LASTING_CHANGES:
            database, statement, _ = LASTING_CHANGES[change]
            with psycopg.connect(databases.cluster.url(database), autocommit=True) as connection:
                connection.execute(statement)
    finally:
        databases.close()
    if change not in LASTING_CHANGES:
        assert len(entries(runtime_dir)) == 1, "a clean cluster is cached"
        assert not any("cluster cache" in line for line in lines), "the normal path is silent"
        return
    assert entries(runtime_dir) == []
    assert not directory.exists()
    (line,) = [line for line in lines if line.startswith("cluster cache:")]
    assert line.startswith(f"cluster cache: not kept ({LASTING_CHANGES[change][2]}")


def test_cluster_cache_off_removes_the_cluster(settings: Settings, runtime_dir: Path) -> None:
    off = dataclasses.replace(settings, cluster_cache=False)
    one_run(off, Prepare())
    assert entries(runtime_dir) == []
    provider, _ = one_run(off, Prepare())
    assert "(new)" in provider


def test_racing_takes_hand_the_one_entry_to_exactly_one(
    settings: Settings, runtime_dir: Path
) -> None:
    one_run(settings, Prepare())
    (entry,) = entries(runtime_dir)
    key = entry.parent.name
    intos = [Path(tempfile.mkdtemp(prefix="pg-", dir=runtime_dir)) for _ in range(RACERS)]
    start = threading.Barrier(RACERS)
    taken: list[cluster_cache.EntryMeta | None] = [None] * RACERS

    def race(index: int) -> None:
        cache = cluster_cache.ClusterCache(runtime_dir, key)  # each with its own lock handle
        start.wait()
        taken[index] = cache.take(intos[index], str(settings.root))

    threads = [threading.Thread(target=race, args=(index,)) for index in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT_SECONDS)
    winners = [index for index, meta in enumerate(taken) if meta is not None]
    assert len(winners) == 1, taken
    for index, into in enumerate(intos):  # the one cluster, whole, in the winner's folder only
        expected = ["data", "socket"] if index in winners else []
        assert sorted(path.name for path in into.iterdir()) == expected
    assert (intos[winners[0]] / "data" / "PG_VERSION").is_file()
    assert entries(runtime_dir) == []
    assert [p.name for p in (runtime_dir / cluster_cache.FOLDER / key).iterdir()] == [".lock"]


def test_two_open_runs_never_share_an_entry(settings: Settings, runtime_dir: Path) -> None:
    one_run(settings, Prepare())
    first = Provisioner("postgres", settings, environ={}).open()
    second = Provisioner("postgres", settings, environ={}).open()
    try:
        origins = sorted(p.provider.split("(")[1].split(")")[0] for p in (first, second))
        assert origins == ["from the cluster cache", "new"]
        assert first.cluster is not None and second.cluster is not None
        assert first.cluster.directory != second.cluster.directory
    finally:
        first.close()
        second.close()
    # both left theirs clean: both are cached, within the per-project bound
    assert len(entries(runtime_dir)) == cluster_cache.MAX_PER_PROJECT


def test_templates_beyond_the_bound_are_dropped_oldest_first(
    settings: Settings, runtime_dir: Path
) -> None:
    hashes = [HASH_A, HASH_B, "c" * 64, "d" * 64]
    for digest in hashes:
        one_run(settings, Prepare(), digest)
    (entry,) = entries(runtime_dir)
    meta = cluster_cache.read_meta(entry)
    assert meta is not None
    assert meta.templates == [f"pt_tpl_{d[:24]}" for d in reversed(hashes)][:3]
    prepare = Prepare()
    one_run(settings, prepare, HASH_A)
    assert len(prepare.urls) == 1, "the oldest template was dropped: built again"


def test_an_entry_that_does_not_start_is_a_miss_and_removed(
    settings: Settings, runtime_dir: Path
) -> None:
    one_run(settings, Prepare())
    (entry,) = entries(runtime_dir)
    # a data directory no server accepts
    (entry / cluster_cache.CLUSTER / "data" / "PG_VERSION").write_text("7\n")
    lines: list[str] = []
    provider, _ = one_run(settings, Prepare(), log=lines)
    assert "(new)" in provider
    (line,) = lines
    assert line.startswith("cluster cache: a cached cluster did not start (ProvisionError: ")
    (entry,) = entries(runtime_dir)  # the new run's, not the broken one
    assert (entry / cluster_cache.CLUSTER / "data" / "PG_VERSION").read_text().strip() != "7"


def test_a_run_killed_holding_a_cached_cluster_is_reaped(
    spawn_child, settings: Settings, runtime_dir: Path
) -> None:
    one_run(settings, Prepare())
    child: Child = spawn_child().wait_ready()
    assert entries(runtime_dir) == [], "the child took the entry"
    child.process.send_signal(signal.SIGKILL)
    child.process.wait(timeout=WAIT_SECONDS)
    provider, _ = one_run(settings, Prepare())  # reaps the killed run's cluster on open
    assert "(new)" in provider
    assert_cluster_gone(child.cluster_dir, child.port)
    assert len(entries(runtime_dir)) == 1 and record_files(runtime_dir) == []


def test_db_down_empties_the_cache(settings: Settings, runtime_dir: Path) -> None:
    one_run(settings, Prepare())
    assert cluster_cache.clear(runtime_dir) == 1
    assert entries(runtime_dir) == []


def test_db_down_also_empties_an_older_versions_cache(
    settings: Settings, runtime_dir: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one_run(settings, Prepare())  # today's cache
    legacy = scratch / "prisma-tasks-legacy"  # an older version's, in the temp folder
    legacy.mkdir(mode=0o755)
    monkeypatch.setenv("PRISMA_TASKS_RUNTIME_DIR", str(legacy))
    one_run(settings, Prepare())
    monkeypatch.setenv("PRISMA_TASKS_RUNTIME_DIR", str(runtime_dir))
    monkeypatch.setattr(runtime_root, "legacy_root", lambda: legacy)
    assert len(entries(runtime_dir)) == 1 and len(entries(legacy)) == 1

    assert cluster_cache.clear_everywhere() == 2
    assert entries(runtime_dir) == [] and entries(legacy) == []


def test_db_down_leaves_an_old_folder_someone_else_could_write(
    settings: Settings, runtime_dir: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    legacy = scratch / "prisma-tasks-legacy"
    legacy.mkdir(mode=0o755)
    monkeypatch.setenv("PRISMA_TASKS_RUNTIME_DIR", str(legacy))
    one_run(settings, Prepare())
    monkeypatch.setenv("PRISMA_TASKS_RUNTIME_DIR", str(runtime_dir))
    monkeypatch.setattr(runtime_root, "legacy_root", lambda: legacy)
    legacy.chmod(0o777)  # any local user could have made or filled it: not ours to act on

    assert cluster_cache.clear_everywhere() == 0
    assert len(entries(legacy)) == 1


def test_sigterm_during_a_cached_run_still_caches_cleanly(
    spawn_child, runtime_dir: Path, settings: Settings
) -> None:
    one_run(settings, Prepare())
    child: Child = spawn_child().wait_ready()
    assert entries(runtime_dir) == [], "the child's run is a cache hit"
    child.process.send_signal(signal.SIGTERM)
    child.process.wait(timeout=WAIT_SECONDS)
    assert wait_for(lambda: not postgres_pids(child.cluster_dir)) and port_refuses(child.port)
    # the child's clone was dropped on the way out: its cluster was clean, so it is cached
    (entry,) = entries(runtime_dir)
    meta = json.loads((entry / cluster_cache.META).read_text())
    assert meta["uses"] == 1 and meta["templates"] == [f"pt_tpl_{HASH_A[:24]}"]
    assert not (entry / cluster_cache.CLUSTER / "data" / "postmaster.pid").exists()
    provider, _ = one_run(settings, Prepare())
    assert "(from the cluster cache)" in provider


def test_sigterm_while_a_taken_cluster_starts_leaves_nothing_running(
    spawn_child, runtime_dir: Path, settings: Settings
) -> None:
    one_run(settings, Prepare())
    child: Child = spawn_child()
    # the entry leaves the cache the moment the child takes it, just before it starts it (on
    # this machine the signal lands in pg_ctl start; a slower one may reach READY first)
    assert wait_for(lambda: entries(runtime_dir) == [], timeout=60)
    child.process.send_signal(signal.SIGTERM)
    child.process.wait(timeout=WAIT_SECONDS)
    assert wait_for(lambda: not postgres_pids(runtime_dir)), "the taken cluster was stopped"
    # stopped and removed (interrupted in its start) or cached again (interrupted later)
    assert cluster_dirs(runtime_dir) == [] and record_files(runtime_dir) == []
    assert len(entries(runtime_dir)) <= 1
