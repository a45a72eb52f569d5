"""Owner records: who created which cluster and databases, so a later run can reap leftovers.

Every run that provisions databases writes a record (pid, process start time, host) before it
creates anything and removes it after everything is gone. Database names carry the owner's
token, which starts with a tag of this host and runtime folder: on a shared server only
databases of dead owners whose records this run can read are touched.

A record is dead, and its cluster stopped and removed and its databases dropped, only when
both of these hold:

1. its creator is gone: the pid no longer exists, or was reused by a process that started at
   another time (a zombie, killed but not yet waited for, counts as gone);
2. no live process *uses* what it made. The creator's users are not only itself: nox starts
   the cluster and exports its admin URL to the pytest it runs, pytest-xdist adds workers, and
   tests and Prisma start children of their own; killing only nox must not pull the cluster
   out from under them. So a run that opens a record puts its token in its own environment
   (`PRISMA_TASKS_USES`, a comma-separated list) before it creates anything, and every
   process started after that inherits it, at any depth, whatever it runs (Python, Node, a
   shell). A record is in use while any live process on this host has, in the environment it
   was started with (/proc/PID/environ), its token in that variable, or one of its database
   names (`pt_<token>_...`, in a DATABASE_URL) or its cluster's address (`@127.0.0.1:<port>/`):
   a child given a hand-built environment with only the URL is still seen. PostgreSQL server
   processes never count (pg_local also starts them without the variable).

Why the environment, and not the alternatives: a users folder that each process writes into
misses everything that is not our code (Prisma's Node, a test's subprocess) and has a window
between start and registration; live connections in pg_stat_activity miss every user that is
between two connections (pytest collecting, a worker waiting for its next test), need the
cluster's password, and map TCP clients to pids only through /proc/net. The environment is
inherited by the kernel at fork and exec, with no window and no cooperation from the child,
and the cluster's random password reaches other processes only that way. What it cannot see:
a process that scrubs both the variable and the URL from its environment (`env -i`), one given
the URL by other means (a kept database's URL file), and, unless we are root, processes of
other users (their environment is not readable). A descendant that outlives the run (a leaked
daemon) keeps the cluster until it exits: the safe direction. Without /proc (macOS) the
environments are read from `ps -E`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import secrets
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from prisma_tasks.databases.runtime_root import runtime_root
from prisma_tasks.fsutil import write_atomically

DATABASE_PREFIX = "pt_"
USERS_VARIABLE = "PRISMA_TASKS_USES"
_SERVER_COMMANDS = {"postgres", "postmaster"}
_environ_lock = threading.Lock()


def state_root() -> Path:
    """Per-user folder for owner records; beside the temp clusters, outside any repository."""
    root = runtime_root()
    (root / "owners").mkdir(parents=True, exist_ok=True, mode=0o700)
    return root


def host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]


def scope_tag(root: Path | None = None) -> str:
    """This host and this runtime folder (`root`, default state_root()): the start of every
    database name whose owner record a run here can read. A run sweeps only names with its own
    scope, so it never drops the live databases of a run it cannot see (another user, or
    another PRISMA_TASKS_RUNTIME_DIR)."""
    scope = f"{socket.gethostname()}\0{(root or state_root()).resolve()}"
    return hashlib.sha256(scope.encode()).hexdigest()[:6]


def process_start_time(pid: int) -> str | None:
    """The start time of a process (clock ticks since boot), or None when it does not exist."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        if fields[0] in ("Z", "X"):
            return None  # exited (a zombie not yet waited for): it will never clean up
        return fields[19]
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return "unknown"
        return "unknown"


@dataclass
class OwnerRecord:
    token: str
    pid: int
    started: str | None
    host: str
    cluster_dir: str | None = None
    pg_ctl: str | None = None
    run_as: str | None = None
    sqlite_dir: str | None = None
    server_databases: list[str] = field(default_factory=list)

    @classmethod
    def new(cls) -> OwnerRecord:
        pid = os.getpid()
        return cls(
            token=f"{scope_tag()}{secrets.token_hex(3)}",
            pid=pid,
            started=process_start_time(pid),
            host=host_tag(),
        )

    @property
    def path(self) -> Path:
        return state_root() / "owners" / f"{self.token}.json"

    def save(self) -> None:
        write_atomically(self.path, json.dumps(asdict(self)))

    def remove(self, root: Path | None = None) -> None:
        """Delete the record file (from `root`'s records when given, default state_root())."""
        path = self.path if root is None else root / "owners" / f"{self.token}.json"
        path.unlink(missing_ok=True)

    def creator_alive(self) -> bool:
        if self.host != host_tag():
            return True  # another machine's run: not ours to judge
        current = process_start_time(self.pid)
        if current is None:
            return False
        return self.started in (None, "unknown") or current in ("unknown", self.started)

    def is_alive(self, used: set[str] | None = None) -> bool:
        """Its creator lives, or a live process uses what it made (see the module docstring).
        `used`: in_use(records), when the caller judges many records at once."""
        if self.creator_alive():
            return True
        return self.token in (in_use([self]) if used is None else used)

    def markers(self) -> list[bytes]:
        """What, found in a process's environment, makes that process a user of this record."""
        found = [self.database_prefix().encode()]
        port = self.cluster_port()
        if port is not None:
            found.append(f"@127.0.0.1:{port}/".encode())
        return found

    def cluster_port(self) -> int | None:
        """The port of the record's cluster while it runs (line 4 of its postmaster.pid)."""
        if not self.cluster_dir:
            return None
        try:
            lines = (Path(self.cluster_dir) / "data" / "postmaster.pid").read_text().splitlines()
            return int(lines[3])
        except (OSError, IndexError, ValueError):
            return None

    def database_prefix(self) -> str:
        return f"{DATABASE_PREFIX}{self.token}_"


def load_records(root: Path | None = None) -> list[OwnerRecord]:
    """The records of `root` (default state_root()); unreadable ones are skipped."""
    records = []
    for path in sorted(((root or state_root()) / "owners").glob("*.json")):
        try:
            records.append(OwnerRecord(**json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, TypeError):
            continue
    return records


# -- users: processes that carry a record's token in their environment --------------------------
def _tokens(value: str | None) -> list[str]:
    return [token for token in (value or "").split(",") if token]


def work_for(token: str) -> None:
    """Put `token` in this process's environment: every process started from now on carries
    it, and the record stays alive while any of them lives."""
    with _environ_lock:
        tokens = _tokens(os.environ.get(USERS_VARIABLE))
        if token not in tokens:
            os.environ[USERS_VARIABLE] = ",".join([*tokens, token])


def stop_working_for(token: str) -> None:
    """Processes started from now on no longer carry `token` (those already started still do)."""
    with _environ_lock:
        tokens = [t for t in _tokens(os.environ.get(USERS_VARIABLE)) if t != token]
        if tokens:
            os.environ[USERS_VARIABLE] = ",".join(tokens)
        else:
            os.environ.pop(USERS_VARIABLE, None)


def with_users(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` (a copy taken earlier, say) plus the tokens this process works for now."""
    tokens = _tokens(environ.get(USERS_VARIABLE))
    tokens += [t for t in _tokens(os.environ.get(USERS_VARIABLE)) if t not in tokens]
    merged = {key: value for key, value in environ.items() if key != USERS_VARIABLE}
    if tokens:
        merged[USERS_VARIABLE] = ",".join(tokens)
    return merged


def without_users(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a server process: it must not keep any record alive by itself."""
    source = os.environ if environ is None else environ
    return {key: value for key, value in source.items() if key != USERS_VARIABLE}


def in_use(records: list[OwnerRecord]) -> set[str]:
    """The tokens of those records that a live process on this host uses: one that carries the
    token in USERS_VARIABLE, or whose environment names one of the record's databases (its
    `pt_<token>_` prefix) or its cluster (`@127.0.0.1:<port>/`), as a hand-built environment
    that passes on only DATABASE_URL still does. A PostgreSQL server process is never a user
    (one started from a test inherits the test's URLs). One pass over the processes."""
    markers = {record.token: record.markers() for record in records}
    used: set[str] = set()
    needle = f"{USERS_VARIABLE}=".encode()
    for environment, is_server in _environments():
        found = set()
        for variable in environment.split(b"\0"):
            if variable.startswith(needle):
                found.update(t for t in _tokens(variable[len(needle) :].decode()) if t in markers)
        for token, wanted in markers.items():
            if token not in found and any(marker in environment for marker in wanted):
                found.add(token)
        if found - used and not is_server():
            used |= found
        if len(used) == len(markers):
            break
    return used


def _environments() -> Iterator[tuple[bytes, Callable[[], bool]]]:
    """Each live process's environment as it was started (NUL-separated), where readable, and
    a check whether that process is a PostgreSQL server."""
    proc = Path("/proc")
    if not (proc / "self" / "environ").exists():
        yield from _environments_from_ps()
        return
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            data = (entry / "environ").read_bytes()  # a zombie's is empty
        except OSError:  # gone, or another user's
            continue
        if data:
            yield data, functools.partial(_is_server_process, entry)


def _is_server_process(entry: Path) -> bool:
    try:
        return (entry / "comm").read_text().strip() in _SERVER_COMMANDS
    except OSError:
        return False


def _environments_from_ps() -> Iterator[tuple[bytes, Callable[[], bool]]]:
    """Without /proc (macOS, the BSDs): `ps -E` prints each process's environment after its
    command line, separated by spaces, which is as good for finding our markers."""
    try:
        listing = subprocess.run(
            ["ps", "-E", "-ax", "-ww", "-o", "command="],
            capture_output=True,
            timeout=30,
            env=without_users(),  # or ps itself would carry every token
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return
    for line in listing.splitlines():
        words = line.split()
        server = bool(words) and Path(words[0].decode(errors="replace")).name in _SERVER_COMMANDS
        yield b"\0".join(words), functools.partial(bool, server)
