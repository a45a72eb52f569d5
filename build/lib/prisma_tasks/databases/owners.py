"""Owner records: who created which cluster and databases, so a later run can reap leftovers.

Every run that provisions databases writes a record (pid, process start time, host) before it
creates anything and removes it after everything is gone. A record whose process is no longer
alive (pid gone, or reused by a process that started at another time) belongs to a killed run:
its cluster is stopped and removed and its databases dropped. Database names carry the owner's
token, which starts with a tag of this host and runtime folder: on a shared server only
databases of dead owners whose records this run can read are touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from prisma_tasks.fsutil import write_atomically

DATABASE_PREFIX = "pt_"


def state_root() -> Path:
    """Per-user folder for owner records; beside the temp clusters, outside any repository."""
    root = Path(
        os.environ.get("PRISMA_TASKS_RUNTIME_DIR")
        or Path(tempfile.gettempdir()) / f"prisma-tasks-{os.getuid()}"
    )
    (root / "owners").mkdir(parents=True, exist_ok=True, mode=0o700)
    return root


def host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]


def scope_tag() -> str:
    """This host and this runtime folder: the start of every database name whose owner record a
    run here can read. A run sweeps only names with its own scope, so it never drops the live
    databases of a run it cannot see (another user, or another PRISMA_TASKS_RUNTIME_DIR)."""
    scope = f"{socket.gethostname()}\0{state_root().resolve()}"
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

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)

    def is_alive(self) -> bool:
        if self.host != host_tag():
            return True  # another machine's run: not ours to judge
        current = process_start_time(self.pid)
        if current is None:
            return False
        return self.started in (None, "unknown") or current in ("unknown", self.started)

    def database_prefix(self) -> str:
        return f"{DATABASE_PREFIX}{self.token}_"


def load_records() -> list[OwnerRecord]:
    records = []
    for path in sorted((state_root() / "owners").glob("*.json")):
        try:
            records.append(OwnerRecord(**json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, TypeError):
            continue
    return records
