"""Files written so that a reader never sees half of one, and read without ever blocking on
a path that is not a regular file."""

from __future__ import annotations

import fcntl
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def write_atomically(path: Path, data: str | bytes) -> None:
    """Write beside the target under a per-process name, then rename over it in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        if isinstance(data, bytes):
            staging.write_bytes(data)
        else:
            staging.write_text(data, encoding="utf-8")
        os.replace(staging, path)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise


@contextmanager
def held_exclusively(lock_file: Path, what: str, say: Callable[[str], None]) -> Iterator[None]:
    """Hold an exclusive lock on `lock_file` for the block (released when the process dies).

    A second holder waits, and says once which process it waits for, so two runs of the
    same task serialize instead of interleaving their writes.
    """
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            say(f"waiting: {holder} is running {what} in this repository")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}\n")
            handle.flush()
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)


class NotARegularFile(Exception):
    """A path that must be a regular file is something else (a FIFO, a device, a folder)."""

    def __init__(self, path: Path, kind: str) -> None:
        super().__init__(f"{path} is {kind}, not a regular file")
        self.path = path
        self.kind = kind


_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a folder"),
)


def kind_of(mode: int) -> str | None:
    """What a non-regular file is ("a FIFO", ...), or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((kind for test, kind in _KINDS if test(mode)), "a special file")


def read_regular_file(path: Path) -> bytes:
    """The bytes of a regular file (following symlinks); NotARegularFile for anything else.

    Opening a FIFO blocks until a writer comes, and a device may never end: the type is
    checked before opening, O_NONBLOCK keeps the open itself from blocking if the path was
    swapped in between, and the opened file is checked again.
    """
    kind = kind_of(os.stat(path).st_mode)
    if kind is not None:
        raise NotARegularFile(path, kind)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    descriptor = os.open(path, flags)
    with os.fdopen(descriptor, "rb") as handle:
        kind = kind_of(os.fstat(descriptor).st_mode)
        if kind is not None:
            raise NotARegularFile(path, kind)
        return handle.read()


FAULT_VARIABLE = "PRISMA_TASKS_FAULT"
FAULT_EXIT_CODE = 86


def fault_point(name: str) -> None:
    """A crash-test hook: with PRISMA_TASKS_FAULT=<name> (several: comma-separated) the process
    ends here at once, as if killed: no cleanup, no `finally`, no buffers flushed.

    The wasm adapter's config has the same hook for Node (templates/postgresql.cjs):
    `shadow:created` (SIGKILL right after the shadow database exists) and `shadow:created:hold`
    (wait there for ever, for a test to signal the run at that point)."""
    if name in os.environ.get(FAULT_VARIABLE, "").split(","):
        os._exit(FAULT_EXIT_CODE)
