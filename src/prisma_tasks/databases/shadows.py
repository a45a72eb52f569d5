"""Shadow databases: the scratch databases that Prisma's migrate commands replay the history on.

In wasm mode the suite's adapter (prisma_cli/templates/postgresql.cjs) creates them on the
server of the target database (`migrate diff`, so `prisma.migrate`, `prisma.diff` and the
gate's drift step), named

    prisma_shadow_<tag>_<pid>_<start time>_<random>

`tag` is this host and pid namespace, so a run never judges another machine's or container's
names by its own pids; pid and start time are those of the Node process that made the database
and is its only user. That process drops it when it ends normally or on SIGINT, SIGTERM or
SIGHUP; the Python that ran it (prisma_cli.runner) forwards Ctrl-C and SIGTERM to it, waits for
it, and then drops whatever is left of a process that is gone. What a SIGKILL of both leaves
behind, the next run that touches the server drops (before `migrate diff`, and the provisioner's
reaper on its server): a name whose pid is gone, or now belongs to a process that started at
another time, has no user left. A name whose process lives is never touched, so a concurrent
run keeps its shadow.

Native mode gets a throwaway database from the provisioner as its shadow: owner records
(owners.py) cover those.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prisma_tasks.databases.owners import process_start_time

if TYPE_CHECKING:
    from prisma_tasks.databases.pg_server import PostgresServer

SHADOW_PREFIX = "prisma_shadow_"
PREFIX_VARIABLE = "PRISMA_TASKS_SHADOW_PREFIX"  # read by the adapter (templates/postgresql.cjs)
UNKNOWN_START = "u"  # the adapter could not read its start time (no /proc): judged by pid alone


def tag() -> str:
    """This host and pid namespace: the pids in names with this tag are pids we can look up."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return hashlib.sha256(f"{socket.gethostname()}\0{namespace}".encode()).hexdigest()[:6]


def prefix() -> str:
    """What every shadow database made by a run on this host starts with."""
    return f"{SHADOW_PREFIX}{tag()}_"


def owner_of(name: str) -> tuple[int, str] | None:
    """(pid, start time) of the process that made this shadow; None when it is not one of ours."""
    mine = prefix()
    if not name.startswith(mine):
        return None
    parts = name[len(mine) :].split("_")
    if len(parts) != 3 or not parts[0].isdigit():
        return None
    return int(parts[0]), parts[1]


def abandoned(name: str) -> bool:
    """True when the process that made this shadow is gone: nobody can be using it."""
    owner = owner_of(name)
    if owner is None:
        return False
    pid, started = owner
    current = process_start_time(pid)
    if current is None:
        return True
    if started == UNKNOWN_START or current == "unknown":
        return False  # the pid lives and we cannot tell whether it is the same process
    return current != started


def reap_on(server: PostgresServer) -> list[str]:
    """Drop the abandoned shadows on this server; returns their names."""
    reaped = []
    for name in server.names(prefix()):
        if not abandoned(name):
            continue
        try:
            server.drop(name)
        except Exception:  # another role's, or dropped meanwhile: not ours to insist on
            continue
        reaped.append(name)
    return reaped


def reap_at(url: str) -> list[str]:
    """Drop the abandoned shadows on the server of this database URL (Prisma's form, with
    `?schema=` and the like); a server that cannot be reached is left to the command to report."""
    from prisma_tasks.databases.pg_server import PostgresServer
    from prisma_tasks.db.urls import libpq_url

    server = PostgresServer(libpq_url(url)[0], connect_timeout=5)
    try:
        return reap_on(server)
    except Exception:
        return []
    finally:
        server.close()


@contextlib.contextmanager
def swept(url: str) -> Iterator[None]:
    """Around a command that makes shadows on `url`'s server: before it, drop what killed runs
    left; after it (on every exit path: the command's process has been waited for), drop what
    this one left."""
    reap_at(url)
    try:
        yield
    finally:
        reap_at(url)
