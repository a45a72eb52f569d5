"""Shadow databases of wasm mode's `migrate diff` never outlive the run that made them.

The adapter (prisma_cli/templates/postgresql.cjs) creates a scratch database beside the
target for every diff of a database someone keeps (`prisma.migrate`, `prisma.diff`). Each test
kills or interrupts a real `invoke` at the moment that database exists (PRISMA_TASKS_FAULT=
shadow:created:hold makes Node wait there) and looks at the server: nothing may be left once
the run has ended, or, after a SIGKILL of the whole run, once the next run has started; and a
live run's shadow is never dropped by another. The gate's drift step makes no shadow: it
applies the history to its own throwaway clone, so its tests hold Node once it is connected
there (handed:connected:hold) and look for that throwaway instead.

Every test has a PostgreSQL cluster of its module's own, so no other test's shadows appear.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from prisma_tasks.config import Settings
from prisma_tasks.databases import shadows
from prisma_tasks.databases.pg_server import PostgresServer
from prisma_tasks.databases.provisioner import Provisioner, provisioned, reap

from .conftest import Monorepo, make_monorepo

pytestmark = [pytest.mark.e2e, pytest.mark.backend("postgres")]

HOLD = "shadow:created:hold"
GATE_HOLD = "handed:connected:hold"
WAIT_SECONDS = 120.0
AUDIT = "model Audit {\n  id Int @id @default(autoincrement())\n}\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provisioner]:
    """A local cluster of this module's own (its admin URL reaches the shadows)."""
    root = tmp_path_factory.mktemp("shadow-server")
    settings = Settings(root=root, postgres_provider="local")
    with provisioned("postgres", settings, environ={}) as databases:
        yield databases


@pytest.fixture
def repo(tmp_path: Path, server: Provisioner) -> Monorepo:
    """A monorepo whose schema has no migration yet (so `prisma.migrate` must diff)."""
    return make_monorepo(tmp_path / "repo", "postgres", server.clone())


def admin_url(server: Provisioner) -> str:
    assert server.server is not None
    return server.server.admin_url


def shadows_on(server: Provisioner) -> set[str]:
    with psycopg.connect(admin_url(server), connect_timeout=10) as connection:
        rows = connection.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, 'prisma_shadow_')"
        ).fetchall()
    return {row[0] for row in rows}


def databases_on(server: Provisioner, prefix: str) -> set[str]:
    with psycopg.connect(admin_url(server), connect_timeout=10) as connection:
        rows = connection.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (prefix,)
        ).fetchall()
    return {row[0] for row in rows}


class Run:
    """`invoke ...` in a process group of its own (a terminal's job), output in a file."""

    def __init__(self, repo: Monorepo, *args: str, env: dict[str, str] | None = None) -> None:
        self.log = repo.root.parent / f"run-{time.monotonic_ns()}.log"
        environment = {**os.environ, "DATABASE_URL": repo.database_url, **(env or {})}
        with open(self.log, "w", encoding="utf-8") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "invoke", *args],
                cwd=repo.root,
                env=environment,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                # as a terminal's job has it, also when this suite runs in the background,
                # where the shell starts every process with SIGINT ignored
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            )

    @property
    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def group_alive(self) -> bool:
        """A live (not zombie) process in the run's process group: invoke, Node, ..."""
        for entry in Path("/proc").iterdir():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) == self.process.pid and fields[0] != "Z":
                return True
        return False

    def wait(self, timeout: float = WAIT_SECONDS) -> int:
        return self.process.wait(timeout=timeout)

    def kill_group(self) -> None:
        """SIGKILL to invoke and its Node at once; returns once none of them lives."""
        if self.group_alive():
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=WAIT_SECONDS)
        deadline = time.monotonic() + WAIT_SECONDS
        while self.group_alive() and time.monotonic() < deadline:  # Node may still be exiting
            time.sleep(0.05)


@pytest.fixture
def runs() -> Iterator[list[Run]]:
    started: list[Run] = []
    yield started
    for run in started:
        run.kill_group()


def wait_for_one_new(listed: Callable[[], set[str]], before: set[str], run: Run, what: str) -> str:
    """The one name `listed()` shows that `before` lacks, polled until it appears; fails when
    the run ends first or WAIT_SECONDS pass (`what` says what was waited for)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        new = listed() - before
        if new:
            (name,) = new
            return name
        if run.process.poll() is not None:
            pytest.fail(f"the run ended before {what} appeared:\n{run.output}")
        time.sleep(0.1)
    pytest.fail(f"no {what} appeared in {WAIT_SECONDS}s:\n{run.output}")


def wait_for_new_shadow(server: Provisioner, before: set[str], run: Run) -> str:
    return wait_for_one_new(lambda: shadows_on(server), before, run, "its shadow database")


def wait_for_gate_held(server: Provisioner, before: set[str], run: Run) -> str:
    """The gate's throwaway database, once its Prisma process is connected to it (held)."""

    def connected_to() -> set[str]:
        with psycopg.connect(admin_url(server), connect_timeout=10) as connection:
            rows = connection.execute(
                "SELECT DISTINCT datname FROM pg_stat_activity WHERE starts_with(datname, 'pt_')"
            ).fetchall()
        return {row[0] for row in rows}

    return wait_for_one_new(connected_to, before, run, "a Prisma connection to its database")


def held_at_shadow(
    server: Provisioner, repo: Monorepo, runs: list[Run], *args: str
) -> tuple[Run, str]:
    before = shadows_on(server)
    run = Run(repo, *args, env={"PRISMA_TASKS_FAULT": HOLD})
    runs.append(run)
    return run, wait_for_new_shadow(server, before, run)


def test_shadow_name_carries_this_host_and_its_process(
    server: Provisioner, repo: Monorepo, runs: list[Run]
) -> None:
    _, shadow = held_at_shadow(server, repo, runs, "prisma.migrate", "--name", "init")
    assert shadow.startswith(shadows.prefix())
    owner = shadows.owner_of(shadow)
    assert owner is not None
    pid, _started = owner
    # the Node child of the invoke process made it, and it is alive: not abandoned
    assert Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].endswith(b"node")
    assert not shadows.abandoned(shadow)


@pytest.mark.parametrize("next_run", ["migrate", "migrate-without-diff", "reaper"])
def test_sigkilled_migrate_leaves_a_shadow_that_the_next_run_removes(
    server: Provisioner, repo: Monorepo, runs: list[Run], next_run: str
) -> None:
    killed: tuple[str, ...] = ("prisma.migrate", "--name", "init")
    if next_run == "migrate-without-diff":
        repo.ok("prisma.migrate", "--name", "init")
        repo.ok("prisma.migrate")  # the diff comes out empty: remembered, not asked again
        killed = ("prisma.diff",)  # which always asks
    run, shadow = held_at_shadow(server, repo, runs, *killed)
    run.kill_group()  # invoke and its Node at once: nobody is left to clean up
    assert shadow in shadows_on(server)
    assert shadows.abandoned(shadow)

    if next_run == "migrate":
        output = repo.ok("prisma.migrate", "--name", "init")
        assert "created prisma/migrations/" in output
    elif next_run == "migrate-without-diff":
        output = repo.ok("prisma.migrate")
        assert "schema matches the migration history" in output
    else:
        admin = PostgresServer(admin_url(server))
        try:
            assert shadow in reap(admin)
        finally:
            admin.close()
    assert shadows_on(server) == set()


def gate_environment(server: Provisioner, tmp_path: Path) -> dict[str, str]:
    """The gate as CI runs it: no DATABASE_URL, a shared server, a runtime folder of its own."""
    return {
        "DATABASE_URL": "",
        "PRISMA_TASKS_ADMIN_URL": admin_url(server),
        "PRISMA_TASKS_RUNTIME_DIR": str(tmp_path / "runtime"),
    }


@pytest.mark.parametrize("command", ["migrate", "gate"])
@pytest.mark.parametrize("how", ["sigterm", "ctrl-c"])
def test_interrupted_run_drops_its_shadow_before_it_exits(
    server: Provisioner, repo: Monorepo, runs: list[Run], tmp_path: Path, how: str, command: str
) -> None:
    throwaways = databases_on(server, "pt_")
    before = shadows_on(server)
    if command == "migrate":
        run = Run(repo, "prisma.migrate", "--name", "init", env={"PRISMA_TASKS_FAULT": HOLD})
        runs.append(run)
        shadow = wait_for_new_shadow(server, before, run)
    else:
        env = {**gate_environment(server, tmp_path), "PRISMA_TASKS_FAULT": GATE_HOLD}
        run = Run(repo, "prisma.check", env=env)
        runs.append(run)
        shadow = wait_for_gate_held(server, throwaways, run)  # the database it diffs on
    if how == "sigterm":
        os.kill(run.process.pid, signal.SIGTERM)  # the invoke process alone, as `kill` does
    else:
        os.killpg(run.process.pid, signal.SIGINT)  # the whole job, as a terminal does
    code = run.wait()

    assert code == 130, run.output
    assert "interrupted" in run.output
    assert shadow not in shadows_on(server) | databases_on(server, "pt_")
    assert shadows_on(server) == set()
    assert not run.group_alive(), "Node outlived the invoke process"
    assert repo.migrations() == []  # interrupted before anything was written
    assert databases_on(server, "pt_") == throwaways  # the gate's throwaway went too


def test_prisma_dying_after_creating_its_shadow_is_cleaned_up_by_the_invoke_process(
    server: Provisioner, repo: Monorepo
) -> None:
    result = repo.invoke(
        "prisma.migrate", "--name", "init", env={"PRISMA_TASKS_FAULT": "shadow:created"}
    )
    assert result.returncode != 0, result.stdout + result.stderr
    assert "migrate diff" in result.stdout + result.stderr
    assert shadows_on(server) == set()


def test_a_live_runs_shadow_is_not_touched_by_another_run(
    server: Provisioner, repo: Monorepo, runs: list[Run]
) -> None:
    held, shadow = held_at_shadow(server, repo, runs, "prisma.migrate", "--name", "init")

    # a concurrent diff on the same server sweeps before and after its own diff
    other = repo.invoke("prisma.diff")
    assert other.returncode == 1, other.stdout + other.stderr  # drift: no migration yet
    admin = PostgresServer(admin_url(server))
    try:
        assert shadow not in reap(admin)
    finally:
        admin.close()
    assert shadow in shadows_on(server)
    assert held.process.poll() is None

    os.kill(held.process.pid, signal.SIGTERM)
    assert held.wait() == 130, held.output
    assert shadows_on(server) == set()


def test_sigkilled_gate_leaves_nothing_after_the_next_gate(
    server: Provisioner, repo: Monorepo, runs: list[Run], tmp_path: Path
) -> None:
    """The drift step on a shared server (an admin URL): the throwaway it diffs on."""
    repo.ok("prisma.migrate", "--name", "init")
    gate_env = gate_environment(server, tmp_path)
    throwaways = databases_on(server, "pt_")
    run = Run(repo, "prisma.check", env={**gate_env, "PRISMA_TASKS_FAULT": GATE_HOLD})
    runs.append(run)
    diffed_on = wait_for_gate_held(server, throwaways, run)
    left = databases_on(server, "pt_") - throwaways
    assert diffed_on in left, "the gate's throwaway database is not on the server"
    run.kill_group()
    assert diffed_on in databases_on(server, "pt_")
    assert shadows_on(server) == set()  # the gate made none

    result = repo.invoke("prisma.check", env=gate_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert shadows_on(server) == set()
    assert not databases_on(server, "pt_") & left
