"""Who uses a run's databases: every process started with its owner token in the environment.

Real processes, no database: the token a run puts in its environment reaches the processes it
starts (at any depth), is what the reaper reads back from them, and never reaches a server
process; shadow database names say which process to ask.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from prisma_tasks.databases import owners, shadows
from prisma_tasks.databases.pg_local import LocalCluster


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(owners.USERS_VARIABLE, raising=False)


def sleeper(env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["sleep", "60"], env=env)


def token() -> str:
    return owners.OwnerRecord.new().token


def used(token: str) -> bool:
    record = owners.OwnerRecord.new()
    record.token = token
    return owners.in_use([record]) == {token}


def eventually(check: Callable[[], bool], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_token_reaches_processes_started_after_it_and_only_those(clean_environment) -> None:
    before, mine = sleeper(), token()
    owners.work_for(mine)
    try:
        after = sleeper()
        grandchild = subprocess.Popen(  # any depth: a shell that starts another process
            ["sh", "-c", "sleep 60 & echo $!; wait"], stdout=subprocess.PIPE, text=True
        )
        assert grandchild.stdout is not None
        grandchild_pid = int(grandchild.stdout.readline())
        assert eventually(lambda: used(mine))
        after.kill()
        after.wait()
        grandchild.kill()  # the shell only: its sleep still carries the token
        grandchild.wait()
        # a process between fork and exec shows an empty environment for a moment: poll
        assert eventually(lambda: used(mine))
        os.kill(grandchild_pid, 9)
        deadline = time.monotonic() + 10
        while used(mine) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not used(mine)
    finally:
        owners.stop_working_for(mine)
        before.kill()
        before.wait()


def test_a_dead_creator_with_a_live_user_is_alive(clean_environment) -> None:
    record = owners.OwnerRecord.new()
    record.pid, record.started = _dead_pid(), "1"
    assert not record.creator_alive() and not record.is_alive()
    owners.work_for(record.token)
    user = sleeper()
    owners.stop_working_for(record.token)
    try:
        assert not record.creator_alive()
        assert record.is_alive()
        assert os.environ.get(owners.USERS_VARIABLE) is None
    finally:
        user.kill()
        user.wait()
    assert not record.is_alive()


def test_several_tokens_and_explicit_environments(clean_environment) -> None:
    first, second = token(), token()
    owners.work_for(first)
    owners.work_for(second)
    owners.work_for(first)
    try:
        assert os.environ[owners.USERS_VARIABLE] == f"{first},{second}"
        # an environment copied before, or built by hand, gets the tokens of now
        merged = owners.with_users({"PATH": "/usr/bin", owners.USERS_VARIABLE: "older"})
        assert merged[owners.USERS_VARIABLE] == f"older,{first},{second}"
        assert owners.USERS_VARIABLE not in owners.without_users()
        owners.stop_working_for(first)
        assert os.environ[owners.USERS_VARIABLE] == second
    finally:
        owners.stop_working_for(first)
        owners.stop_working_for(second)
    assert owners.USERS_VARIABLE not in os.environ


def test_server_processes_are_started_without_tokens(
    clean_environment, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The postmaster (and pg_ctl) would otherwise keep their own record alive."""
    seen: list[dict[str, str] | None] = []

    def fake_run(argv, **kwargs):
        seen.append(kwargs.get("env"))
        return subprocess.CompletedProcess(argv, 0, "", "")

    class FakePostmaster:
        pid = 4242
        returncode: int | None = None

        def __init__(self, argv, **kwargs) -> None:
            seen.append(kwargs.get("env"))
            (tmp_path / "data" / "postmaster.pid").write_text("4242\n\n\n\n\n\n\nready\n")

        def poll(self) -> int | None:
            return self.returncode

        def send_signal(self, signum: int) -> None:
            self.returncode = 0

        def wait(self, timeout: float | None = None) -> int:
            return 0

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(subprocess, "Popen", FakePostmaster)
    owners.work_for("abc123")
    try:
        cluster = LocalCluster(tmp_path, Path("/nonexistent"), 5432, "pw", None)
        cluster.data_dir.mkdir()
        cluster.start()
        cluster.is_running()
        cluster._process = None  # a cluster another process started: stopped through pg_ctl
        cluster.stop()
    finally:
        owners.stop_working_for("abc123")
    assert len(seen) == 3
    assert all(env is not None and owners.USERS_VARIABLE not in env for env in seen)
    assert all(env is not None and "PATH" in env for env in seen)


def test_shadow_names_say_whose_they_are() -> None:
    start = owners.process_start_time(os.getpid())
    assert start is not None
    live = f"{shadows.prefix()}{os.getpid()}_{start}_abc123"
    assert shadows.owner_of(live) == (os.getpid(), start)
    assert not shadows.abandoned(live)
    # the same pid with another start time is another process: the owner is gone
    assert shadows.abandoned(f"{shadows.prefix()}{os.getpid()}_{int(start) + 1}_abc123")
    assert shadows.abandoned(f"{shadows.prefix()}{_dead_pid()}_{start}_abc123")
    # unknown start time (no /proc where it was made): judged by the pid alone
    assert not shadows.abandoned(f"{shadows.prefix()}{os.getpid()}_u_abc123")
    # not ours to judge: another host's tag, names from before the tag, anything else
    for name in (
        f"prisma_shadow_ffffff_{_dead_pid()}_1_abc123",
        f"prisma_shadow_{_dead_pid()}_1796187874839_835719",
        "prisma_migrate_shadow_db_1",
        "app",
    ):
        assert shadows.owner_of(name) is None or shadows.tag() == "ffffff"
        assert not shadows.abandoned(name) or shadows.tag() == "ffffff"


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_nox_hands_its_token_to_the_pytest_it_runs(
    clean_environment, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from prisma_tasks.testing import nox_support

    monkeypatch.setenv("PRISMA_TASKS_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\nversion = '0'\n")

    class Session:
        def __init__(self) -> None:
            self.posargs: list[str] = []
            self.ran: list[dict[str, str]] = []

        def log(self, message: str) -> None:
            pass

        def run(self, *args: str, env: dict[str, str]) -> None:
            (record,) = owners.load_records()
            assert env[owners.USERS_VARIABLE] == record.token
            self.ran.append(env)

    session = Session()
    nox_support.run_tests_on_database(session, "sqlite", "tests", "report")  # type: ignore[arg-type]
    assert len(session.ran) == 1
    assert owners.USERS_VARIABLE not in os.environ  # closed: later children no longer carry it


def test_a_hand_built_environment_with_only_the_url_is_still_a_user(
    clean_environment, tmp_path: Path
) -> None:
    record = owners.OwnerRecord.new()
    record.cluster_dir = str(tmp_path / "pg-x")
    (tmp_path / "pg-x" / "data").mkdir(parents=True)
    # what pg_ctl writes: pid, data folder, start time, port, ...
    (tmp_path / "pg-x" / "data" / "postmaster.pid").write_text("1\n/x\n0\n45678\n/tmp\n")
    assert record.cluster_port() == 45678
    path = {"PATH": os.environ["PATH"]}
    for variable in (
        f"postgresql://postgres:pw@127.0.0.1:45678/{record.database_prefix()}3",  # a clone
        "postgresql://postgres:pw@127.0.0.1:45678/postgres",  # the cluster's admin URL
    ):
        child = sleeper({**path, "DATABASE_URL": variable})
        try:
            assert owners.in_use([record]) == {record.token}, variable
        finally:
            child.kill()
            child.wait()
    other_port = sleeper({**path, "DATABASE_URL": "postgresql://u:p@127.0.0.1:456789/app"})
    try:
        assert owners.in_use([record]) == set()
    finally:
        other_port.kill()
        other_port.wait()


@pytest.mark.skipif(not Path("/proc/self/comm").exists(), reason="needs /proc")
def test_a_postgres_server_is_never_a_user(clean_environment, tmp_path: Path) -> None:
    """A cluster started from a test inherits the test's URLs; it uses none of them."""
    record = owners.OwnerRecord.new()
    server = tmp_path / "postgres"
    server.symlink_to(
        Path(subprocess.check_output(["sh", "-c", "command -v sleep"]).decode().strip())
    )
    env = {
        "PATH": os.environ["PATH"],
        owners.USERS_VARIABLE: record.token,
        "DATABASE_URL": f"postgresql://u:p@127.0.0.1:1/{record.database_prefix()}1",
    }
    process = subprocess.Popen([str(server), "60"], env=env)
    try:
        deadline = time.monotonic() + 10
        while Path(f"/proc/{process.pid}/comm").read_text().strip() != "postgres":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert owners.in_use([record]) == set()
    finally:
        process.kill()
        process.wait()
